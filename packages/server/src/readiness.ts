/**
 * Whether the Pod can do its work (`GET /readyz`): the data folder takes a real write (a probe file
 * written, synced and removed), and the plugin runner answers (the docker engine's ping; the
 * process runner and none have nothing to reach). Each failed check says what to do.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readiness } from '@pod/protocol';
import type { PluginRunner } from './plugins/runner.js';

/** A runner that takes longer than this to answer its ping is not reachable, as far as a probe can tell. */
const PING_TIMEOUT_MS = 2_000;

export async function readiness(dataDir: string, runner: PluginRunner): Promise<Readiness> {
  const [dataDirCheck, runnerCheck] = await Promise.all([probeDataDir(dataDir), pingRunner(runner)]);
  return { ready: dataDirCheck === OK && runnerCheck === OK, checks: { dataDir: dataDirCheck, runner: runnerCheck } };
}

const OK = 'ok';

async function probeDataDir(dataDir: string): Promise<string> {
  const probe = join(dataDir, `.ready-probe-${randomBytes(8).toString('hex')}`);
  try {
    const file = await open(probe, 'wx', 0o600);
    try {
      await file.writeFile('ready');
      await file.sync();
    } finally {
      await file.close();
    }
    await rm(probe);
    return OK;
  } catch (error) {
    await rm(probe, { force: true }).catch(() => {});
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `the data folder (--data-dir) is not writable (${code}): check that it exists, is a folder, is mounted read-write and has free space`;
  }
}

async function pingRunner(runner: PluginRunner): Promise<string> {
  if (!runner.ping) return OK;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([runner.ping(), timeout]);
    return OK;
  } catch (error) {
    const check =
      runner.name === 'kubernetes'
        ? 'check that the API server runs and that --kubeconfig and --kubernetes-namespace name it and its namespace'
        : 'check that its engine runs and that --docker-socket names its socket';
    return `the ${runner.name} plugin runner does not answer (${(error as Error).message}): ${check}`;
  } finally {
    clearTimeout(timer);
  }
}
