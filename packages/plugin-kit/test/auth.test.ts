/**
 * The log-in flows end to end: the plugin runs in its own process, started by the Pod; the test
 * plays the owner's app, answering what the run asks for through items in the Pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Account, type PodClient } from '@pod/client';
import { authorizationCode, waitForRun } from '../src/index.js';
import type { TestPod } from '../src/testing.js';
import { install, newOwner, runToEnd, start, startPod, until } from './helpers.js';

let pod: TestPod;
before(async () => {
  pod = await startPod();
});
after(() => pod.close());

const readAccount = async (owner: PodClient, id: string) => (await owner.get(id)) as Account;
const ended = (owner: PodClient, runId: string) => waitForRun(owner, runId, { timeoutMs: 30_000, pollMs: 50 });

describe('username and password, then a two-factor code', () => {
  test('asks for the credentials, then the code; stores the tokens on the Account; the next run reuses them', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'password', {}, 'demo');
    const run = await start(owner, plugin);

    const asking = await until(owner, run.id, (r) => r.authRequest === 'credentials', 'the plugin asks for credentials');
    assert.equal(asking.status, 'userActionNeeded');
    assert.match(asking.authMessage ?? '', /username .* and password of your demo account/);
    Object.assign(account!, { identifier: 'alice', password: 'hunter2' });
    await owner.update(account!);

    const code = await until(owner, run.id, (r) => r.authRequest === '2fa', 'the plugin asks for the code');
    assert.equal(code.status, 'userActionNeeded');
    assert.equal(code.authMessage, 'Enter the code we texted to +31 6 ••• 42');
    code.authResponse = '123456';
    await owner.update(code);

    const done = await ended(owner, run.id);
    assert.equal(done.status, 'done', done.error ?? undefined);
    for (const field of ['authRequest', 'authMessage', 'authUrl', 'authResponse'] as const) assert.equal(done[field], undefined, field);
    const stored = await readAccount(owner, account!.id);
    assert.equal(stored.accessToken, 'access-alice');
    assert.equal(stored.refreshToken, 'refresh-alice');
    assert.equal(stored.errorMessage, undefined);

    const next = await runToEnd(owner, plugin);
    assert.equal(next.status, 'done', 'logged in with the stored token, asking nothing');
  });

  test('a wrong code ends the run in error and leaves the reason in the Account errorMessage', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'password', {}, 'demo');
    Object.assign(account!, { identifier: 'alice', password: 'hunter2' });
    await owner.update(account!);
    const run = await start(owner, plugin);
    const code = await until(owner, run.id, (r) => r.authRequest === '2fa', 'the plugin asks for the code');
    code.authResponse = '000000';
    await owner.update(code);
    const failed = await ended(owner, run.id);
    assert.equal(failed.status, 'error');
    assert.equal(failed.error, 'the service refused the code');
    assert.equal(failed.authResponse, undefined, 'the code does not stay on the run');
    const stored = await readAccount(owner, account!.id);
    assert.equal(stored.errorMessage, 'the service refused the code');
    assert.equal(stored.accessToken, undefined);
  });
});

describe('OAuth', () => {
  test('shows the authorization URL, takes the redirect back, stores access and refresh token', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'oauth', {}, 'demo');
    const run = await start(owner, plugin);
    const asking = await until(owner, run.id, (r) => r.authRequest === 'oauth', 'the plugin asks to authorize');
    assert.equal(asking.status, 'userActionNeeded');
    const url = new URL(asking.authUrl!);
    assert.equal(url.origin + url.pathname, 'https://auth.example.com/authorize');
    const state = url.searchParams.get('state');
    assert.match(state ?? '', /^[0-9a-f]{32}$/);
    // the owner's browser comes back to the app's redirect address, which the app passes on
    asking.authResponse = `https://app.example.com/callback?code=good-code&state=${state}`;
    await owner.update(asking);

    const done = await ended(owner, run.id);
    assert.equal(done.status, 'done', done.error ?? undefined);
    assert.equal(done.authUrl, undefined);
    const stored = await readAccount(owner, account!.id);
    assert.equal(stored.accessToken, 'oauth-access');
    assert.equal(stored.refreshToken, 'oauth-refresh');
  });

  test('a redirect with another state is refused, and the Account says why', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'oauth', {}, 'demo');
    const run = await start(owner, plugin);
    const asking = await until(owner, run.id, (r) => r.authRequest === 'oauth', 'the plugin asks to authorize');
    asking.authResponse = 'https://app.example.com/callback?code=good-code&state=forged';
    await owner.update(asking);
    const failed = await ended(owner, run.id);
    assert.equal(failed.status, 'error');
    assert.match((await readAccount(owner, account!.id)).errorMessage ?? '', /does not carry the state/);
  });

  test('an owner who never answers: the run ends in error after the timeout', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'oauth-impatient', {}, 'demo');
    const failed = await runToEnd(owner, plugin);
    assert.equal(failed.status, 'error');
    assert.match(failed.error ?? '', /did not answer the "oauth" request within 2 s/);
    assert.equal(failed.authRequest, undefined, 'the request is withdrawn');
    assert.match((await readAccount(owner, account!.id)).errorMessage ?? '', /did not answer/);
  });

  test('aborting a run that waits for the owner stops it and keeps status aborted', async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'oauth', {}, 'demo');
    const run = await start(owner, plugin);
    await until(owner, run.id, (r) => r.authRequest === 'oauth', 'the plugin asks to authorize');
    await owner.call('abort_plugin_run', run.id);
    const stopped = await ended(owner, run.id);
    assert.equal(stopped.status, 'aborted');
    assert.equal(stopped.podLaunchStatus, 'stopped');
  });
});

describe('authorizationCode', () => {
  test('takes the code from a redirect URL or query with the right state, or a bare code', () => {
    assert.equal(authorizationCode('https://x.example/cb?code=abc&state=s1', 's1'), 'abc');
    assert.equal(authorizationCode('code=abc&state=s1', 's1'), 'abc');
    assert.equal(authorizationCode('abc', 's1'), 'abc');
    assert.throws(() => authorizationCode('https://x.example/cb?code=abc&state=s2', 's1'), /state/);
    assert.throws(() => authorizationCode('https://x.example/cb?error=access_denied&state=s1', 's1'), /refused access: access_denied/);
  });
});
