/**
 * The owner's side of the kit's tests: a client for a new owner, installing a Plugin, starting and
 * awaiting runs. Which Pod and which runner is the business of runners.ts.
 */
import assert from 'node:assert/strict';
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
import type { TestPod } from '../src/testing.js';

/** The package's directory (tests run from dist/test). */
export const KIT_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** A new owner (a new database) with the schema the tests read. */
export async function newOwner(pod: TestPod): Promise<PodClient> {
  const client = new PodClient({ url: pod.url });
  await client.addToSchema(PluginItem, PluginRunItem, Account, Message, Person);
  return client;
}

export interface InstallOptions {
  permissions?: Permissions;
  /** Links an Account of this service to the Plugin. */
  service?: string;
  /** The Plugin item's description: some fixtures read what the test tells them there. */
  description?: string;
}

/** Installs a Plugin for the image. */
export function install(client: PodClient, image: string, options: InstallOptions = {}) {
  const { permissions = {}, service, description } = options;
  return installPlugin(client, { name: image, image, description, entry: 'main.ts', permissions, service });
}

/** Starts a run of the installed Plugin through the Pod's runner. */
export async function start(client: PodClient, plugin: PluginItem): Promise<PluginRunItem> {
  return createPluginRun(client, plugin, plugin.containerImage!);
}

/** Waits until the Pod is done with the run (its process or container has exited). */
export const ended = (client: PodClient, runId: string) => waitForRun(client, runId, { timeoutMs: 30_000, pollMs: 50 });

/** Starts a run and waits until its process or container has exited. */
export async function runToEnd(client: PodClient, plugin: PluginItem): Promise<PluginRunItem> {
  const run = await start(client, plugin);
  return ended(client, run.id);
}

/** Polls the run until `condition` holds. */
export async function until(
  client: PodClient,
  runId: string,
  condition: (run: PluginRunItem) => boolean,
  what: string,
): Promise<PluginRunItem> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const run = await readRun(client, runId);
    if (condition(run)) return run;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}; the run: ${JSON.stringify(run)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
