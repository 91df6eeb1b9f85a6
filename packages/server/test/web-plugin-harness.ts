/**
 * A Pod whose process runner starts the web plugin (test/fixtures/web-plugin.mjs): `web-image`
 * serves /v1/health and /v1/api, `web-hang` never answers its health check. A run's environment
 * (its credential and POD_WEBSERVER_PORT) is read once its web server listens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type PodConfig } from '../src/config.js';
import { ProcessRunner } from '../src/plugins/process-runner.js';
import { pluginEnvironment, Owner, startPod, until, type RunningPod } from './helpers.js';
import { PluginCaller } from './security/plugin-harness.js';

export { PluginCaller };

const PLUGIN = fileURLToPath(new URL('../../test/fixtures/web-plugin.mjs', import.meta.url));

export class WebPluginPod {
  private constructor(
    readonly pod: RunningPod,
    readonly scratch: string,
  ) {}

  static async start(overrides: Partial<PodConfig> = {}): Promise<WebPluginPod> {
    const scratch = mkdtempSync(join(tmpdir(), 'pod-web-plugin-'));
    const commands = {
      'web-image': [process.execPath, PLUGIN, scratch],
      'web-hang': [process.execPath, PLUGIN, scratch, 'hang'],
    };
    const plugins = { ...defaultConfig().plugins, maxRuns: 64, maxRunsPerOwner: 64 };
    const pod = await startPod(
      { plugins, ...overrides },
      { runner: new ProcessRunner({ commands, timeoutSeconds: 120, stopGraceSeconds: 2 }) },
    );
    return new WebPluginPod(pod, scratch);
  }

  get url() {
    return this.pod.url;
  }

  async close() {
    await this.pod.close();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** Stops the Pod and its runs; its data folder stays (for a restart on it). */
  async stop() {
    await this.pod.stop();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** A fresh owner who may set webserverPort on runs and pluginRunId on Triggers. */
  async owner(): Promise<Owner> {
    const owner = new Owner(this.url);
    await owner.declare(['webserverPort', 'Integer'], ['pluginRunId', 'Text']);
    return owner;
  }

  /** The owner starts a run of `image` (with `fields`); answers its credential once its web server listens. */
  async run(owner: Owner, image = 'web-image', fields: Record<string, unknown> = {}): Promise<PluginCaller> {
    const runId = await owner.create({ type: 'PluginRun', containerImage: image, status: 'created', ...fields });
    const file = join(this.scratch, `${runId}.json`);
    const env = await until(`run ${runId} to listen`, () => pluginEnvironment(file));
    return new PluginCaller(owner, runId, env);
  }
}
