/**
 * PluginBase end to end: PluginRuns created through the client library, plugins started by the
 * Pod's process runner with their own credential, their outcome read back from the run.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Account, Message, Person, PodClient, PodError } from '@pod/client';
import { findExisting, simulateRun, type PluginClass } from '../src/index.js';
import type { TestPod } from '../src/testing.js';
import Importer, { SERVICE } from '../examples/importer/plugin.js';
import { DEMO_POSTS, DemoService } from '../examples/importer/service.js';
import { CREDENTIAL_FILE, install, newOwner, runToEnd, startPod } from './helpers.js';

const IMPORTER_PERMISSIONS = { write: { Message: '*', Account: '*', Person: '*' } } as const;

let pod: TestPod;
before(async () => {
  pod = await startPod();
});
after(async () => {
  await pod.close();
  rmSync(CREDENTIAL_FILE, { force: true });
});

describe('the example importer, run by the Pod', () => {
  test('imports Messages with sender edges, an Account with its Person per author, status done; the next run adds nothing', async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'importer', IMPORTER_PERMISSIONS, SERVICE);
    const run = await runToEnd(owner, plugin);
    assert.equal(run.status, 'done', `${run.error} / ${run.podLaunchMessage}`);
    assert.equal(run.progress, 1);
    assert.equal(run.podExitCode, 0);

    const messages = await owner.search(Message, { service: SERVICE }, { edges: true });
    assert.deepEqual(messages.map((message) => message.externalId).sort(), ['p1', 'p2', 'p3', 'p4', 'p5']);
    const accounts = (await owner.search(Account, { service: SERVICE }, { edges: true })).filter((account) => !account.isMe);
    assert.deepEqual(accounts.map((account) => account.handle).sort(), ['@ada', '@bob', '@cy']);
    for (const account of accounts) assert.equal(account.owner[0]?.displayName, account.displayName);
    assert.equal((await owner.search(Person)).length, 3);
    const authorOf = Object.fromEntries(messages.map((message) => [message.externalId, message.sender[0]?.handle]));
    assert.deepEqual(authorOf, { p1: '@ada', p2: '@bob', p3: '@ada', p4: '@cy', p5: '@bob' });

    const again = await runToEnd(owner, plugin);
    assert.equal(again.status, 'done', again.error ?? undefined);
    assert.equal((await owner.search(Message)).length, 5);
    assert.equal((await owner.search(Account, { service: SERVICE })).filter((account) => !account.isMe).length, 3);
    assert.equal((await owner.search(Person)).length, 3);
  });

  test('continues from the last import: new posts only, known authors reused', async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'importer', IMPORTER_PERMISSIONS, SERVICE);
    const importing = (posts: number): PluginClass =>
      class extends Importer {
        override service = new DemoService(DEMO_POSTS.slice(0, posts));
      };
    assert.equal((await simulateRun(owner, importing(2), plugin)).status, 'done');
    assert.equal((await owner.search(Message)).length, 2);
    const outcome = await simulateRun(owner, importing(4), plugin);
    assert.equal(outcome.status, 'done', outcome.error);
    assert.equal(outcome.run.progress, 1);
    assert.deepEqual((await owner.search(Message)).map((message) => message.externalId), ['p1', 'p2', 'p3', 'p4']);
    const authors = (await owner.search(Account)).filter((account) => !account.isMe);
    assert.deepEqual(authors.map((account) => account.handle), ['@ada', '@bob', '@cy']);
  });
});

describe('findExisting', () => {
  test('finds items by external id in one request, deleted ones too, within the extra filters', async () => {
    const owner = await newOwner(pod);
    const [a, b, other] = [
      new Message({ externalId: 'a', service: 'x' }),
      new Message({ externalId: 'b', service: 'x' }),
      new Message({ externalId: 'c', service: 'y' }),
    ];
    await owner.bulk({ createItems: [a, b, other] });
    await owner.delete(b);
    const found = await findExisting(owner, Message, ['a', 'b', 'c', 'd', 'a'], { where: { service: 'x' } });
    assert.deepEqual([...found.keys()], ['a', 'b']);
    assert.ok(found.get('a') instanceof Message);
    assert.equal(found.get('b')?.deleted, true);
    assert.equal((await findExisting(owner, Message, [])).size, 0);
  });
});

describe('failures', () => {
  test('a plugin that throws ends in error with its message, and exits non-zero', async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'throws');
    const run = await runToEnd(owner, plugin);
    assert.equal(run.status, 'error');
    assert.equal(run.error, 'the service is down');
    assert.equal(run.progress, 0.5);
    assert.equal(run.podLaunchStatus, 'exited');
    assert.equal(run.podExitCode, 1);
  });

  test('reading a type the Plugin did not declare is refused (403), and the run says so', async () => {
    const owner = await newOwner(pod);
    await owner.create(new Person({ firstName: 'Private' }));
    const { plugin } = await install(owner, 'reads-undeclared', { write: { Message: '*' } });
    const run = await runToEnd(owner, plugin);
    assert.equal(run.status, 'error');
    assert.match(run.error ?? '', /did not declare that it reads items of type "Person".*HTTP 403 from search/);
    assert.equal(run.podExitCode, 1);
  });

  test("a run's credential works during the run and is refused (401) once it has ended", async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'leaks-credential');
    const run = await runToEnd(owner, plugin);
    assert.equal(run.status, 'done', run.error ?? undefined);
    const { data } = JSON.parse(readFileSync(CREDENTIAL_FILE, 'utf8')) as { data: Record<string, unknown> };
    const leaked = new PodClient({ url: pod.url, ownerKey: owner.ownerKey, pluginAuth: data });
    await assert.rejects(leaked.call('get_item', run.id), (error: unknown) => {
      assert.ok(error instanceof PodError);
      assert.equal(error.status, 401);
      return true;
    });
  });
});
