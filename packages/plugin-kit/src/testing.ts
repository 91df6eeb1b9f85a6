/**
 * `@pod/plugin-kit/testing`: a real Pod for a plugin's tests, in the test's process, on a loopback
 * port with a fresh data directory. With `commands` (or `runner: 'docker'`, for built images),
 * PluginRuns start through the Pod's runner exactly as in production, with the plugin's own grant;
 * without, nothing is launched and tests run plugins in process (`simulateRun`). Needs
 * `@pod/server` installed (a dev dependency).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPod, defaultConfig } from '@pod/server';

export interface TestPodOptions {
  /** Default `process` when `commands` are given, else `none`. */
  runner?: 'none' | 'process' | 'docker';
  /** Image name → command line: the process runner starts a run of that image with it. */
  commands?: Record<string, string[]>;
  /** A run still going after this long is stopped; default 60. */
  timeoutSeconds?: number;
}

export interface TestPod {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Stops the Pod (and every run still going) and removes its data. */
  close(): Promise<void>;
}

export async function startTestPod(options: TestPodOptions = {}): Promise<TestPod> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pod-plugin-test-'));
  const defaults = defaultConfig();
  const app = await createPod({
    ...defaults,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    plugins: {
      ...defaults.plugins,
      runner: options.runner ?? (options.commands ? 'process' : 'none'),
      commands: options.commands ?? {},
      timeoutSeconds: options.timeoutSeconds ?? 60,
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      // an idle keep-alive connection would hold close() for the keep-alive timeout
      const force = setTimeout(() => app.server.closeAllConnections(), 1000);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
