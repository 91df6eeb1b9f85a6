/**
 * `@pod/plugin-kit/testing`: a real Pod for a plugin's tests, in the test's process, on a loopback
 * port with a fresh data directory. With `commands` or `pluginDir` (or `runner: 'docker'`, for built images),
 * PluginRuns start through the Pod's runner exactly as in production, with the plugin's own grant;
 * without, nothing is launched and tests run plugins in process (`simulateRun`). Needs
 * `@pod/server` installed (a dev dependency).
 */
import { defaultConfig, startTestPod as startServerTestPod, type TestPod } from '@pod/server';

export interface TestPodOptions {
  /** Default `process` when `commands` are given, else `none`. */
  runner?: 'none' | 'process' | 'docker';
  /** Image name → command line: the process runner starts a run of that image with it. */
  commands?: Record<string, string[]>;
  /** The process runner's watched folder of `<image>.json` commands (`pod-plugin install --plugin-dir`). */
  pluginDir?: string;
  /** A run still going after this long is stopped; default 60. */
  timeoutSeconds?: number;
}

export type { TestPod };

export function startTestPod(options: TestPodOptions = {}): Promise<TestPod> {
  const defaults = defaultConfig();
  return startServerTestPod({
    plugins: {
      ...defaults.plugins,
      runner: options.runner ?? (options.commands || options.pluginDir ? 'process' : 'none'),
      commands: options.commands ?? {},
      dir: options.pluginDir,
      timeoutSeconds: options.timeoutSeconds ?? 60,
    },
  });
}
