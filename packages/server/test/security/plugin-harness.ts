/**
 * Attacks from a plugin's own credential: a Pod whose process runner starts the capture plugin
 * (test/fixtures/capture-plugin.mjs) for a few images, and the run's POD_AUTH_JSON turned into a
 * caller that talks to the Pod exactly as a malicious plugin would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type PodConfig } from '../../src/config.js';
import { ProcessRunner } from '../../src/plugins/process-runner.js';
import { pluginEnvironment, Owner, startPod, type RunningPod, until } from '../helpers.js';

const PLUGIN = fileURLToPath(new URL('../../../test/fixtures/capture-plugin.mjs', import.meta.url));
/** Images the runner starts; each writes its environment to `<scratch>/<image>.json`. */
export const IMAGES = ['evil-image', 'priv-image', 'other-image', 'importer-image'] as const;
export type Image = (typeof IMAGES)[number];

/** A plugin's credential, used as the plugin itself would: `ok`, `fails`, `search`… with PluginAuth. */
export class PluginCaller extends Owner {
  constructor(
    owner: Owner,
    readonly runId: string,
    readonly env: Record<string, string>,
  ) {
    super(owner.url, owner.owner, owner.key);
  }

  override get auth() {
    return { type: 'PluginAuth', ...JSON.parse(this.env.POD_AUTH_JSON!) };
  }
}

export class PluginPod {
  private constructor(
    readonly pod: RunningPod,
    private readonly scratch: string,
  ) {}

  static async start(overrides: Partial<PodConfig> = {}): Promise<PluginPod> {
    const scratch = mkdtempSync(join(tmpdir(), 'pod-attack-'));
    const commands = Object.fromEntries(
      IMAGES.map((image) => [image, [process.execPath, PLUGIN, join(scratch, `${image}.json`), 'wait']]),
    );
    // Runs here wait to be stopped; the run caps (security/run-flood.test.ts) would queue them.
    const limits = { ...defaultConfig().plugins, maxRuns: 64, maxRunsPerOwner: 64 };
    const pod = await startPod(
      { plugins: limits, ...overrides },
      { runner: new ProcessRunner({ commands, timeoutSeconds: 60 }) },
    );
    return new PluginPod(pod, scratch);
  }

  get url() {
    return this.pod.url;
  }

  async close() {
    await this.pod.close();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** The environment the plugin of `image` was started with for `runId`, once it has started. */
  environmentOf(image: Image, runId: string, ms = 15_000): Promise<Record<string, string>> {
    const file = join(this.scratch, `${image}.json`);
    return until(
      `run ${runId} to start`,
      () => {
        const env = pluginEnvironment(file); // undefined too while the next run of the image rewrites it
        return env?.POD_PLUGINRUN_ID === runId ? env : undefined;
      },
      ms,
    );
  }

  /** The run as the Pod left it once it decided about the launch (podLaunchStatus set). */
  launchOf(owner: Owner, runId: string): Promise<Record<string, any>> {
    return until(`the launch record of ${runId}`, async () => {
      const [run] = await owner.ok('get_item', runId);
      return run?.podLaunchStatus && run.podLaunchStatus !== 'queued' ? run : undefined;
    });
  }

  /**
   * The owner installs a Plugin item for `image` with these permissions (or reuses `pluginId`) and
   * starts a run of it; answers the run's credential as a caller.
   */
  async runAs(
    owner: Owner,
    image: Image,
    permissions: unknown,
    pluginId = `plugin-${randomTag()}`,
  ): Promise<PluginCaller> {
    const runId = `run-${randomTag()}`;
    const existing = (await owner.ok('get_item', pluginId)) as unknown[];
    await owner.ok('bulk', {
      createItems: [
        ...(existing.length
          ? []
          : [{ type: 'Plugin', id: pluginId, containerImage: image, permissions: JSON.stringify(permissions) }]),
        { type: 'PluginRun', id: runId, containerImage: image, status: 'created' },
      ],
      createEdges: [{ _source: runId, _target: pluginId, _name: 'plugin' }],
    });
    const env = await this.environmentOf(image, runId);
    const run = await this.launchOf(owner, runId);
    assert.equal(run.podLaunchStatus, 'started', run.podLaunchMessage);
    return new PluginCaller(owner, runId, env);
  }
}

export const randomTag = () => Math.random().toString(36).slice(2, 10);

/** A fresh owner with `status` and the given properties declared (all Text unless said). */
export async function ownerWith(url: string, ...properties: (string | [string, string])[]): Promise<Owner> {
  const owner = new Owner(url);
  await owner.declare(
    ['status', 'Text'],
    ...properties.map((p): [string, string] => (typeof p === 'string' ? [p, 'Text'] : p)),
  );
  return owner;
}
