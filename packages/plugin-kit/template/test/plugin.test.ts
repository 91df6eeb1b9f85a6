/**
 * The plugin against a real Pod started in this process: in process with the owner's access (fast,
 * for the import logic), and as the Pod runs it — its own process, its own credential, only what
 * plugin.json allows (which catches a missing permission before the owner does).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Account, Message, Person, PodClient } from '@pod/client';
import { createPluginRun, installPlugin, readManifest, simulateRun, waitForRun } from '@pod/plugin-kit';
import { startTestPod, type TestPod } from '@pod/plugin-kit/testing';
import Importer, { SERVICE } from '../src/plugin.js';
import { DEMO_POSTS, DemoService } from '../src/service.js';

const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const manifest = readManifest(projectDir);
let pod: TestPod;

before(async () => {
  // a run of the plugin's image starts its compiled entry point, as the container starts the bundle
  pod = await startTestPod({ commands: { [manifest.image]: ['node', path.join(projectDir, 'dist/src/main.js')] } });
});
after(() => pod.close());

/** A new owner's database with the plugin installed. */
async function installed() {
  const client = new PodClient({ url: pod.url });
  const { plugin } = await installPlugin(client, manifest);
  return { client, plugin };
}

test('imports posts and their authors, each Account with its Person; the next run only what is new', async () => {
  const { client, plugin } = await installed();
  class FirstThreePosts extends Importer {
    override service = new DemoService(DEMO_POSTS.slice(0, 3));
  }
  const first = await simulateRun(client, FirstThreePosts, plugin);
  assert.equal(first.status, 'done', first.error);
  assert.equal((await client.search(Message, { service: SERVICE })).length, 3);

  const second = await simulateRun(client, Importer, plugin);
  assert.equal(second.status, 'done', second.error);
  assert.equal(second.run.progress, 1);
  const messages = await client.search(Message, { service: SERVICE }, { edges: true });
  assert.deepEqual(
    messages.map((message) => message.externalId).sort(),
    DEMO_POSTS.map((post) => post.id),
  );
  for (const message of messages) assert.equal(message.sender.length, 1);
  // the owner's own Account at the service (isMe), linked to the Plugin at install, is not an author
  const accounts = (await client.search(Account, { service: SERVICE }, { edges: true })).filter(
    (account) => !account.isMe,
  );
  assert.deepEqual(accounts.map((account) => account.handle).sort(), ['@ada', '@bob', '@cy']);
  for (const account of accounts) assert.ok(account.owner[0] instanceof Person);
});

test('runs as the Pod runs it, within the permissions of plugin.json', async () => {
  const { client, plugin } = await installed();
  const run = await createPluginRun(client, plugin, manifest.image);
  const ended = await waitForRun(client, run.id, { timeoutMs: 30_000 });
  assert.equal(ended.status, 'done', `${ended.error ?? ''} ${ended.podLaunchMessage ?? ''}`);
  assert.equal(ended.progress, 1);
  assert.equal((await client.search(Message, { service: SERVICE })).length, DEMO_POSTS.length);
});
