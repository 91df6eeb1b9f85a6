/**
 * A real Pod for tests (this package's, the client's, plugins'): in the test's process, on an
 * ephemeral loopback port, with a fresh data folder that closing removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createPod, type PodParts } from './app.js';
import { defaultConfig, type PodConfig } from './config.js';
import { listenPod } from './listen.js';

export { freePort, runPodMove, startPodProcess, type PodProcess } from './pod-process.js';
export { benchProgress, quiet, type Progress } from './bench-progress.js';
export { startFakeOAuthProvider, type FakeOAuthProvider } from './fake-oauth-provider.js';
export { parseProviders } from './oauth/providers.js';
export { CHROMIUM_PATH, chromiumSkip, launchChromium } from './chromium.js';

export interface TestPod {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  dataDir: string;
  /** Stops the Pod (every connection and plugin run with it); the data folder stays. */
  stop(): Promise<void>;
  /** Stops the Pod and removes its data folder. */
  close(): Promise<void>;
}

export async function startTestPod(overrides: Partial<PodConfig> = {}, parts: PodParts = {}): Promise<TestPod> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'pod-test-'));
  const config: PodConfig = {
    ...defaultConfig(),
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    ...overrides,
    dataDir,
  };
  const app = await createPod(config, parts);
  // on 127.0.0.1 (and ::1), whatever the overrides say, like a Pod on loopback
  await listenPod(app, { ...config, host: '127.0.0.1', port: 0 });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close().then(() => {}));
  return {
    app,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    dataDir,
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** mulberry32: a tiny, well-known seeded PRNG for fuzz tests; the same seed gives the same run. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(items.length)];
      if (item === undefined) throw new RangeError('pick needs at least one item');
      return item;
    },
    chance: (p: number) => next() < p,
  };
}

const SET_UP_DOCKER = 'run .ci/setup-docker.sh to set one up';

/**
 * Whether the Docker tests run here, as a reason to skip them or undefined: POD_TEST_DOCKER=0 skips them;
 * without an engine answering on `socketPath` they are skipped saying how to get one, except under
 * CI=true, where they are required and this throws.
 */
export async function dockerTestSkip(socketPath = '/var/run/docker.sock'): Promise<string | undefined> {
  if (process.env.POD_TEST_DOCKER === '0') return 'POD_TEST_DOCKER=0: the Docker runner is not tested';
  const problem = await pingDocker(socketPath);
  if (problem === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true requires the Docker tests, but ${problem}: ${SET_UP_DOCKER}`);
  return `${problem}: ${SET_UP_DOCKER} (under CI=true these tests are required)`;
}

/** Why no Docker engine answers on `socketPath`, or undefined when one does. */
function pingDocker(socketPath: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get({ socketPath, path: '/_ping', timeout: 5000 }, (response) => {
      response.resume();
      const status = response.statusCode;
      resolve(status === 200 ? undefined : `the Docker engine at ${socketPath} answers ${status}`);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
    request.on('error', (error) => resolve(`no Docker engine answers at ${socketPath} (${error.message})`));
  });
}
