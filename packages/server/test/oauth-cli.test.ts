// `pod --oauth-providers` as operators run it: a JSON file, its secrets from the environment, and
// refusals that say what to fix without printing a secret.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Owner, cliPath, startCli, stopCli } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'pod-oauth-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SECRET = 'cli-secret-never-printed';
const gitlab = {
  type: 'oauth2',
  clientId: 'pod-app',
  clientSecret: { env: 'POD_TEST_GITLAB_SECRET' },
  authorizeUrl: 'https://gitlab.example/oauth/authorize',
  tokenUrl: 'https://gitlab.example/oauth/token',
  scopes: 'read_user',
};
const providersFile = (name: string, content: string) => {
  const file = join(scratch, name);
  writeFileSync(file, content);
  return file;
};
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cliPath(), '--data-dir', join(scratch, 'data'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });

describe('pod --oauth-providers', () => {
  test('--help documents the flag, its file format and its environment variable', () => {
    const result = run(['--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--oauth-providers <file>/);
    assert.match(result.stdout, /POD_OAUTH_PROVIDERS/);
    assert.match(result.stdout, /"env": "VARIABLE"/);
  });

  test('a Pod started with a providers file brokers its platforms', async () => {
    const file = providersFile('ok.json', JSON.stringify({ gitlab }));
    process.env.POD_TEST_GITLAB_SECRET = SECRET;
    const pod = await startCli(join(scratch, 'running'), ['--oauth-providers', file, '--log-level', 'info']);
    try {
      const owner = new Owner(pod.url);
      const { authUrl } = await owner.ok('oauth2/auth_url', {
        platform: 'gitlab',
        redirectUri: 'https://a.example/cb',
      });
      assert.equal(new URL(authUrl).origin, 'https://gitlab.example');
      assert.equal(new URL(authUrl).searchParams.get('client_id'), 'pod-app');
      await owner.fails('oauth2/auth_url', { platform: 'github', redirectUri: 'https://a.example/cb' }, 400);
    } finally {
      await stopCli(pod);
      delete process.env.POD_TEST_GITLAB_SECRET;
    }
    assert.ok(!pod.output().includes(SECRET));
  });

  test('refusals name what to fix and never print a secret', () => {
    const missing = run(['--oauth-providers', providersFile('missing.json', JSON.stringify({ gitlab }))]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /\$POD_TEST_GITLAB_SECRET, which is not set/);

    const broken = providersFile('broken.json', `{"gitlab": {"clientSecret": "${SECRET}",}}`);
    const notJson = run(['--oauth-providers', broken]);
    assert.notEqual(notJson.status, 0);
    assert.match(notJson.stderr, /is not valid JSON/);
    assert.ok(!notJson.stderr.includes(SECRET));

    const insecure = { gitlab: { ...gitlab, clientSecret: SECRET, tokenUrl: 'http://gitlab.example/token' } };
    const plain = run(['--oauth-providers', providersFile('http.json', JSON.stringify(insecure))]);
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr, /tokenUrl.*must be https/);
    assert.ok(!plain.stderr.includes(SECRET));

    const nowhere = run([], { POD_OAUTH_PROVIDERS: join(scratch, 'absent.json') });
    assert.notEqual(nowhere.status, 0);
    assert.match(nowhere.stderr, /cannot read OAuth providers from .*absent\.json: ENOENT/);
  });
});
