/**
 * Plugin runs (spec §7): a committed PluginRun item (StartPlugin in v3) is launched through the
 * configured runner after the answer has gone out, so a launch never changes, fails or delays the
 * request that created it. The Pod records what it knows in properties of its own (podLaunch*,
 * podExitCode) and writes `status` only when a container it started exits without a final status
 * (`error`) or when it stops a run on request (`aborted`).
 */
import type { FastifyBaseLogger } from 'fastify';
import { PodError, notFound } from '../errors.js';
import type { Owner } from '../storage/owners.js';
import type { Commit } from '../storage/store.js';
import type { PluginCredentials } from './credentials.js';
import { FinishedLogs } from './finished-logs.js';
import { Grant, Permissions } from './permissions.js';
import { LaunchError, pluginEnvironment, type PluginExit, type PluginRunner, type RunningPlugin } from './runner.js';

const TRIGGER_TYPES = new Set(['PluginRun', 'StartPlugin']);
/** Images that name no container: clients that run a plugin in process create runs with them. */
const CLIENT_RUN_IMAGES = new Set(['', 'none']);
/** Statuses a plugin (or its client) sets when it has finished. */
const FINAL_STATUSES = new Set(['done', 'error', 'aborted']);

type Fields = Record<string, unknown>;

interface Running {
  plugin: RunningPlugin;
  token: string;
}

export interface PluginRunsOptions {
  runner: PluginRunner;
  credentials: PluginCredentials;
  /** POD_FULL_ADDRESS: where plugins reach this Pod, no trailing slash. */
  podAddress: () => string;
  keepOpen: (owner: Owner, until: Promise<unknown>) => void;
  log: FastifyBaseLogger;
}

export class PluginRuns {
  private readonly running = new Map<string, Running>();
  private readonly finishedLogs = new FinishedLogs();

  constructor(private readonly options: PluginRunsOptions) {}

  /** The commit listener: launches created runs, stops runs set to `aborted`. */
  onCommit(owner: Owner, commit: Commit) {
    for (const created of commit.created)
      if (TRIGGER_TYPES.has(created.type)) setImmediate(() => void this.launch(owner, created.id));
    for (const updated of commit.updated) {
      const running = this.running.get(runKey(owner, updated.id));
      if (running && readItem(owner, updated.id)?.status === 'aborted') void running.plugin.stop();
    }
  }

  /** Stops a run on request: `status` becomes `aborted` and its container or process is stopped. */
  async abort(owner: Owner, runId: string) {
    const run = readItem(owner, runId);
    if (!run || !TRIGGER_TYPES.has(String(run.type))) throw notFound(`no plugin run ${JSON.stringify(runId)}`);
    const running = this.running.get(runKey(owner, runId));
    if (!running && FINAL_STATUSES.has(String(run.status)))
      throw new PodError(409, `plugin run ${JSON.stringify(runId)} has already ended (status ${JSON.stringify(run.status)})`);
    owner.store.write(() => owner.store.updateItem({ id: runId, status: 'aborted' }));
    await running?.plugin.stop();
  }

  /** A run's output so far (or, once finished, its last output), credentials masked. */
  async logs(owner: Owner, runId: string): Promise<string> {
    const running = this.running.get(runKey(owner, runId));
    if (running) return running.plugin.logs();
    const kept = this.finishedLogs.get(owner.hash, runId);
    if (kept === undefined) throw notFound(`no logs for plugin run ${JSON.stringify(runId)} (never started here, or forgotten since)`);
    return kept;
  }

  /** Stops every run (the Pod is closing); their credentials end with them. */
  async stopAll() {
    await Promise.all([...this.running.values()].map((running) => running.plugin.stop()));
    await this.options.runner.close();
  }

  private async launch(owner: Owner, runId: string) {
    const { runner, log } = this.options;
    try {
      const run = readItem(owner, runId);
      if (!run) return;
      const image = String(run.containerImage ?? run.container ?? '');
      if (CLIENT_RUN_IMAGES.has(image))
        return record(owner, runId, { podLaunchStatus: 'notLaunched', podLaunchMessage: `containerImage ${JSON.stringify(image)}: the client runs this plugin itself` }, log);
      const launched = await this.start(owner, run);
      log.info({ owner: owner.hash, runId, runner: runner.name }, 'plugin run started');
      record(owner, runId, { podLaunchStatus: 'started', podLaunchMessage: `started by the ${runner.name} runner as ${launched.plugin.name}` }, log);
      await this.finish(owner, runId, launched, await launched.plugin.exited);
    } catch (error) {
      const reason = error instanceof LaunchError ? error.reason : 'failed';
      const message = error instanceof LaunchError || error instanceof PodError ? error.message : 'the launch failed; see the Pod log';
      if (!(error instanceof LaunchError)) log.error({ owner: owner.hash, runId, err: error }, 'plugin launch failed');
      record(owner, runId, { podLaunchStatus: reason, podLaunchMessage: message }, log);
    }
  }

  /** Issues the run's credential and starts it with the environment of spec §7. */
  private async start(owner: Owner, run: Fields): Promise<Running> {
    const runId = String(run.id);
    const image = String(run.containerImage ?? run.container ?? '');
    const targetId = typeof run.targetItemId === 'string' ? run.targetItemId : runId;
    const plugin = pluginOf(owner, runId, image);
    const grant = new Grant(
      { runId, targetId, pluginId: plugin?.id as string | undefined, accountIds: plugin ? edgeTargets(owner, String(plugin.id), 'account') : [] },
      permissionsOf(plugin),
    );
    const { authJson, token } = this.options.credentials.issue(owner, grant);
    try {
      const target = readItem(owner, targetId) ?? run;
      const started = await this.options.runner.start({
        ownerHash: owner.hash,
        runId,
        containerImage: image,
        env: pluginEnvironment({
          podAddress: this.options.podAddress(),
          ownerKey: owner.key,
          runId,
          targetItemJson: JSON.stringify(target),
          authJson,
        }),
        secrets: [token],
      });
      const running = { plugin: started, token };
      this.running.set(runKey(owner, runId), running);
      this.options.keepOpen(owner, started.exited);
      return running;
    } catch (error) {
      this.options.credentials.revoke(token);
      throw error;
    }
  }

  private async finish(owner: Owner, runId: string, running: Running, exit: PluginExit) {
    this.options.credentials.revoke(running.token);
    this.running.delete(runKey(owner, runId));
    this.finishedLogs.add(owner.hash, runId, await running.plugin.logs().catch(() => ''));
    const outcome = exit.stopped ? 'stopped' : exit.timedOut ? 'timedOut' : 'exited';
    const status = readItem(owner, runId)?.status;
    const unfinished = !FINAL_STATUSES.has(String(status));
    record(owner, runId, {
      podLaunchStatus: outcome,
      podLaunchMessage:
        outcome === 'timedOut' ? 'the run hit the time limit and was stopped' : outcome === 'stopped' ? 'stopped on request' : `exited with code ${exit.exitCode}`,
      ...(exit.exitCode === null ? {} : { podExitCode: exit.exitCode }),
      // A plugin that ended without saying how it went failed, as far as its owner can tell.
      ...(unfinished ? { status: exit.stopped ? 'aborted' : 'error' } : {}),
    }, this.options.log);
  }
}

const runKey = (owner: Owner, runId: string) => `${owner.hash}:${runId}`;

function readItem(owner: Owner, id: string): Fields | undefined {
  return (JSON.parse(owner.store.getItemJson(id)) as Fields[])[0];
}

/**
 * Records the Pod's own facts on a run without touching its dateModified (which belongs to its
 * writers). Never throws: a launch runs detached from any request, so a failure here is only logged.
 */
function record(owner: Owner, runId: string, facts: Fields, log: FastifyBaseLogger) {
  try {
    const run = readItem(owner, runId);
    if (run) owner.store.write(() => owner.store.updateItem({ id: runId, ...facts, dateModified: run.dateModified }));
  } catch (error) {
    log.error({ owner: owner.hash, runId, err: error }, 'could not record the launch on the PluginRun');
  }
}

function edgeTargets(owner: Owner, id: string, name: string): string[] {
  const edges = JSON.parse(owner.store.getEdgesJson({ item: id, direction: 'Outgoing', expandItems: false })) as {
    name: string;
    item: { id: string };
  }[];
  return edges.filter((edge) => edge.name === name).map((edge) => edge.item.id);
}

/** The run's Plugin: its `plugin` edge, else the newest Plugin item for the same image. */
function pluginOf(owner: Owner, runId: string, image: string): Fields | undefined {
  const [linked] = edgeTargets(owner, runId, 'plugin');
  if (linked) return readItem(owner, linked);
  if (!image) return undefined;
  const [newest] = JSON.parse(owner.store.searchJson({ type: 'Plugin', containerImage: image, deleted: false, _sortOrder: 'Desc', _limit: 1 })) as Fields[];
  return newest;
}

/** The Plugin's declared permissions; none declared means the run may touch only its own items. */
function permissionsOf(plugin: Fields | undefined): Permissions {
  if (!plugin || typeof plugin.permissions !== 'string') return Permissions.parse({});
  let declared: unknown;
  try {
    declared = JSON.parse(plugin.permissions);
  } catch {
    throw new LaunchError('failed', `the Plugin item's "permissions" is not JSON; nothing was launched`);
  }
  const parsed = Permissions.safeParse(declared);
  if (!parsed.success) throw new LaunchError('failed', `the Plugin item's "permissions" is malformed: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
