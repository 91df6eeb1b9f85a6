/**
 * A real Pod for the kit's tests, started in this process with a process runner that maps test
 * images to the compiled example importer, the fixture plugins and the Python plugin; and the
 * owner's side: a client, installing a Plugin, starting and awaiting runs.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Account, Message, Person, PodClient } from '@pod/client';
import {
  createPluginRun,
  installPlugin,
  PluginItem,
  PluginRunItem,
  readRun,
  waitForRun,
  type Permissions,
} from '../src/index.js';
import { startTestPod, type TestPod } from '../src/testing.js';

/** The package's directory (tests run from dist/test). */
export const KIT_DIR = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = path.join(KIT_DIR, 'dist/test/fixtures/plugins.js');
export const CREDENTIAL_FILE = path.join(os.tmpdir(), `pod-plugin-kit-credential-${process.pid}.json`);

export const IMAGES = {
  importer: ['node', path.join(KIT_DIR, 'dist/examples/importer/main.js')],
  throws: ['node', FIXTURES, 'throws'],
  'reads-undeclared': ['node', FIXTURES, 'reads-undeclared'],
  'leaks-credential': ['node', FIXTURES, 'leaks-credential', CREDENTIAL_FILE],
  password: ['node', FIXTURES, 'password'],
  oauth: ['node', FIXTURES, 'oauth'],
  'oauth-impatient': ['node', FIXTURES, 'oauth', '1500'],
  python: ['python3', path.join(KIT_DIR, 'test/fixtures/python-plugin/plugin.py')],
};
export type Image = keyof typeof IMAGES;

export const startPod = (): Promise<TestPod> => startTestPod({ commands: IMAGES, timeoutSeconds: 60 });

/** A new owner (a new database) with the schema the tests read. */
export async function newOwner(pod: TestPod): Promise<PodClient> {
  const client = new PodClient({ url: pod.url });
  await client.addToSchema(PluginItem, PluginRunItem, Account, Message, Person);
  return client;
}

/** Installs a Plugin for the image, with an Account of `service` when given. */
export function install(client: PodClient, image: Image, permissions: Permissions = {}, service?: string) {
  return installPlugin(client, { name: image, image, entry: 'main.ts', module: 'plugin.js', permissions, service });
}

/** Starts a run of the installed Plugin through the Pod's runner. */
export async function start(client: PodClient, plugin: PluginItem): Promise<PluginRunItem> {
  return createPluginRun(client, plugin, plugin.containerImage!);
}

/** Starts a run and waits until its process has exited. */
export async function runToEnd(client: PodClient, plugin: PluginItem): Promise<PluginRunItem> {
  const run = await start(client, plugin);
  return waitForRun(client, run.id, { timeoutMs: 30_000, pollMs: 50 });
}

/** Polls the run until `condition` holds. */
export async function until(client: PodClient, runId: string, condition: (run: PluginRunItem) => boolean, what: string): Promise<PluginRunItem> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const run = await readRun(client, runId);
    if (condition(run)) return run;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}; the run: ${JSON.stringify(run)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
