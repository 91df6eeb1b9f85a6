/**
 * Starting runs from outside a plugin, as its owner's client does: create a PluginRun and let the
 * Pod's runner start the plugin, or simulate one and run the plugin in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { PodClient } from '@pod/client';
import { LAUNCH_ENDED } from '@pod/protocol';
import { type PluginItem, type PluginRunItem, readRun } from './items.js';
import { createPluginRun } from './install.js';
import type { PluginBase, PluginClass, RunOutcome } from './plugin.js';

export { createPluginRun } from './install.js';
export { readRun } from './items.js';

/**
 * Development mode: creates a run of the Plugin and runs the plugin in this process with the
 * client's own credential (all access, so its permissions are not checked). The run's image is
 * `"none"`, which no runner starts: the Pod records `imageMissing` or `noRunner` on it.
 */
export async function simulateRun(
  client: PodClient,
  cls: PluginClass,
  plugin: PluginItem | string,
): Promise<RunOutcome & { run: PluginRunItem }> {
  const created = await createPluginRun(client, plugin, 'none');
  // the class's own `execute`: it may come from another copy of the kit than this one
  const base = cls as unknown as typeof PluginBase;
  const outcome = await base.execute(cls, { client, runId: created.id });
  return { ...outcome, run: await readRun(client, created.id) };
}

/**
 * Development mode for a built plugin: runs the bundle (`pod-plugin build`) in a child process
 * exactly as the Pod's process runner would, but with the owner's credential (`POD_AUTH_JSON` is
 * a ClientAuth: all access, permissions not checked), for a run created with `createPluginRun(…,
 * 'none')`. Source maps are on, so traces name the TypeScript files. Output goes to this process's.
 */
export function spawnSimulated(client: PodClient, bundle: string, runId: string): ChildProcess {
  if (!client.databaseKey) throw new Error("a simulated run needs the owner's client, with its database key");
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    POD_FULL_ADDRESS: client.url,
    POD_OWNER: client.ownerKey,
    POD_AUTH_JSON: JSON.stringify({ type: 'ClientAuth', databaseKey: client.databaseKey }),
    POD_PLUGINRUN_ID: runId,
  };
  return spawn(process.execPath, ['--enable-source-maps', bundle], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

export interface WaitForRunOptions {
  /** Default 10 minutes. */
  timeoutMs?: number;
  pollMs?: number;
  /** Called with the run whenever its status, progress, launch status or request to the owner changed. */
  onChange?: (run: PluginRunItem) => void;
  /** Stops waiting, returning the run as last read (e.g. once a simulated run's process has exited). */
  signal?: AbortSignal;
}

/**
 * Waits until the Pod is done with a run it was asked to start: nothing was launched, or the
 * plugin has exited (then its final status is on the run, and its credential has ended).
 */
export async function waitForRun(
  client: PodClient,
  runId: string,
  options: WaitForRunOptions = {},
): Promise<PluginRunItem> {
  const { timeoutMs = 600_000, pollMs = 200, onChange, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    const run = await readRun(client, runId);
    const { status, progress, podLaunchStatus, authRequest, authMessage, authUrl } = run;
    const state = JSON.stringify([status, progress, podLaunchStatus, authRequest, authMessage, authUrl]);
    if (state !== seen) onChange?.(run);
    seen = state;
    if (signal ? signal.aborted : LAUNCH_ENDED.has(run.podLaunchStatus ?? '')) return run;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} did not end within ${Math.round(timeoutMs / 1000)} s (status ${run.status})`);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal?.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
    });
  }
}
