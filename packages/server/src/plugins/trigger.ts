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
import {
  FINAL_RUN_STATUSES,
  RunStatus,
  parsePermissions,
  type Item,
  type LaunchStatus,
  type ParsedPermissions,
} from '@pod/protocol';
import { parsePluginSettings, runSettings, type PluginImage, type PluginSettings } from '@pod/protocol';
import { DEFAULT_WEBSERVER_PORT, PluginApi, UNREACHABLE, describeIssues, jsonText, toJson } from '@pod/protocol';
import type { Json, PluginStatuses } from '@pod/protocol';
import { LaunchQueue, type LaunchLimits } from './launch-queue.js';
import { FinishedLogs } from './finished-logs.js';
import { Grant } from './permissions.js';
import { LaunchError, pluginEnvironment, type PluginExit, type PluginRunner, type RunningPlugin } from './runner.js';
import type { WebServer } from './runner.js';
import { healthOf, relay, type RelayedCall } from './web-relay.js';
import { recordTriggerStatus, type TriggerReport } from './trigger-status.js';

const TRIGGER_TYPES = new Set(['PluginRun', 'StartPlugin']);
/** Images that name no container: clients that run a plugin in process create runs with them. */
const CLIENT_RUN_IMAGES = new Set(['', 'none']);

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
  limits: LaunchLimits;
}

export class PluginRuns {
  private readonly running = new Map<string, Running>();
  /** Each launch until it has recorded its outcome, by run: what `stopOwner` waits for. */
  private readonly launching = new Map<string, Promise<void>>();
  private readonly finishedLogs = new FinishedLogs();
  private readonly queue: LaunchQueue;
  /** How often runs reached each podLaunchStatus since the Pod started (the Pod's metrics read it). */
  readonly #launches = new Map<LaunchStatus, number>();

  constructor(private readonly options: PluginRunsOptions) {
    this.queue = new LaunchQueue(options.limits);
  }

  /** The commit listener: launches created runs, stops (or unqueues) runs set to `aborted` or deleted. */
  onCommit(owner: Owner, commit: Commit) {
    for (const created of commit.created)
      if (TRIGGER_TYPES.has(created.type)) setImmediate(() => this.track(owner, created.id));
    for (const changed of [...commit.updated, ...commit.deleted]) {
      const key = runKey(owner, changed.id);
      const running = this.running.get(key);
      if (!running && !TRIGGER_TYPES.has(changed.type)) continue;
      if (wanted(owner.store.item(changed.id))) continue;
      if (running) void running.plugin.stop();
      else this.queue.cancel(key);
    }
  }

  /**
   * An owner's database opened: runs this process does not know that the Pod was queuing or running when
   * it last stopped (a restart; the Pod cannot open a database before its owner's next request) are settled.
   * A queued one takes its turn again; one that was going is `interrupted` (its container was removed with
   * its credential) and, without a final status of its own, `error`.
   */
  onOpen(owner: Owner) {
    setImmediate(() =>
      owner.store
        .withMain(() => this.settleInterrupted(owner))
        .catch((error: unknown) => this.options.log.error({ owner: owner.hash, err: error }, 'settling runs failed')),
    );
  }

  private settleInterrupted(owner: Owner) {
    for (const type of TRIGGER_TYPES)
      for (const podLaunchStatus of ['queued', 'started'] as const) {
        const runs = JSON.parse(owner.store.searchJson({ type, podLaunchStatus, deleted: false })) as Item[];
        for (const run of runs) {
          const key = runKey(owner, run.id);
          if (this.launching.has(key) || this.running.has(key) || FINAL_RUN_STATUSES.has(String(run.status))) continue;
          if (podLaunchStatus === 'queued') setImmediate(() => this.track(owner, run.id));
          else
            this.record(owner, run.id, {
              podLaunchStatus: 'interrupted',
              podLaunchMessage:
                'the Pod stopped while this run was going (its container was removed); create a new run to start it again',
              status: RunStatus.enum.error,
            });
        }
      }
  }

  /** Stops a run on request: `status` becomes `aborted` and its container or process is stopped. */
  async abort(owner: Owner, runId: string) {
    const run = owner.store.item(runId);
    if (!run || !TRIGGER_TYPES.has(run.type)) throw notFound(`no plugin run ${JSON.stringify(runId)}`);
    const running = this.running.get(runKey(owner, runId));
    if (!running && FINAL_RUN_STATUSES.has(String(run.status)))
      throw new PodError(
        'conflict',
        `plugin run ${JSON.stringify(runId)} has already ended (status ${JSON.stringify(run.status)})`,
      );
    owner.store.write(() => owner.store.updateItem({ id: runId, status: RunStatus.enum.aborted }));
    await running?.plugin.stop();
  }

  /** What this Pod's runner can launch now (`plugin_images`). */
  async images(): Promise<PluginImage[]> {
    const { runner } = this.options;
    const kind = runner.name;
    if (kind !== 'docker' && kind !== 'process') return [];
    try {
      return ((await runner.images?.()) ?? []).map((image) => ({ image, runner: kind }));
    } catch (error) {
      // the detail (a socket path, the engine's words) is the host's, not every owner's
      this.options.log.warn({ err: error }, 'could not list plugin images');
      throw new PodError('unavailable', `the ${kind} runner cannot list its images now; see the Pod log`);
    }
  }

  /** A run's output so far (or, once finished, its last output), credentials masked. */
  async logs(owner: Owner, runId: string): Promise<string> {
    const running = this.running.get(runKey(owner, runId));
    if (running) return running.plugin.logs();
    const kept = this.finishedLogs.get(owner.hash, runId);
    if (kept === undefined)
      throw notFound(`no logs for plugin run ${JSON.stringify(runId)} (never started here, or forgotten since)`);
    return kept;
  }

  /** `plugin/status`: each run's own word at `GET /v1/health`, asked in parallel, or `unreachable` (2023 §6.1). */
  async statuses(owner: Owner, ids: string[]): Promise<PluginStatuses> {
    const asked = [...new Set(ids)].map(async (id): Promise<[string, { status: string }]> => {
      const server = await this.running.get(runKey(owner, id))?.plugin.webServer();
      return [id, { status: (server && (await healthOf(server))) ?? UNREACHABLE }];
    });
    return { plugins: Object.fromEntries(await Promise.all(asked)) };
  }

  /** `plugin/api`: what the run's web server serves at `GET /v1/api` (2023 §6.2). */
  async api(owner: Owner, runId: string): Promise<Json<PluginApi>> {
    const server = this.webServerOf(owner, runId);
    const served = PluginApi.safeParse(JSON.parse(await relay(await server, { method: 'GET', endpoint: '/v1/api' })));
    if (!served.success)
      throw new PodError(
        'badGateway',
        `the plugin's GET /v1/api is not a map of endpoint paths to {"method", "args"}: ${describeIssues(served.error, 'answer')}`,
      );
    return toJson(served.data);
  }

  /** `plugin/api/call`: one request to the run's web server; its JSON answer as text (2023 §6.2). */
  async callApi(owner: Owner, runId: string, call: RelayedCall): Promise<Json<unknown>> {
    const server = this.webServerOf(owner, runId);
    return jsonText(await relay(await server, call));
  }

  /** `trigger/status` (2023 §6.3); call in a turn of the owner's main connection. */
  reportTrigger(owner: Owner, report: TriggerReport, grant: Grant | undefined): void {
    recordTriggerStatus(owner, report, grant, this.options.log);
  }

  /**
   * Where a run's web server is: 404 when the id names no run, 502 when this Pod does not run it.
   * Its item is read at once, in the caller's turn of the main connection.
   */
  private webServerOf(owner: Owner, runId: string): Promise<WebServer> {
    const run = owner.store.item(runId);
    if (!run || run.deleted || !TRIGGER_TYPES.has(run.type)) throw notFound(`no plugin run ${JSON.stringify(runId)}`);
    const running = this.running.get(runKey(owner, runId));
    const notRunning = () =>
      new PodError(
        'badGateway',
        `plugin run ${JSON.stringify(runId)} is not running on this Pod (podLaunchStatus ${JSON.stringify(run.podLaunchStatus ?? null)}), so its web server cannot be reached`,
      );
    if (!running) return Promise.reject(notRunning());
    return running.plugin.webServer().then((server) => {
      if (!server) throw notRunning();
      return server;
    });
  }

  get launches(): ReadonlyMap<LaunchStatus, number> {
    return this.#launches;
  }

  /** Runs going now, and waiting for their turn. */
  get runningCount(): number {
    return this.queue.runningCount;
  }

  get queuedCount(): number {
    return this.queue.waitingCount;
  }

  /** Records the Pod's facts on a run, counting the launch status it reaches. */
  private record(owner: Owner, runId: string, facts: LaunchFacts) {
    if (facts.podLaunchStatus)
      this.#launches.set(facts.podLaunchStatus, (this.#launches.get(facts.podLaunchStatus) ?? 0) + 1);
    record(owner, runId, facts, this.options.log);
  }

  private track(owner: Owner, runId: string) {
    const key = runKey(owner, runId);
    // A launch whose owner was deleted meanwhile fails on the closed database: logged, not thrown.
    const launch = this.launch(owner, runId)
      .catch((error: unknown) =>
        this.options.log.error({ owner: owner.hash, runId, err: error }, 'plugin launch failed'),
      )
      .finally(() => this.launching.delete(key));
    this.launching.set(key, launch);
  }

  /**
   * Stops every run of the owner, queued or going, and waits until each has recorded how it ended
   * and its credential is revoked (the owner is about to be deleted).
   */
  async stopOwner(owner: Owner) {
    const prefix = runKey(owner, '');
    const ofOwner = <T>(map: Map<string, T>) => [...map].filter(([key]) => key.startsWith(prefix));
    for (const [key] of ofOwner(this.launching)) this.queue.cancel(key);
    await Promise.all(ofOwner(this.running).map(([, running]) => running.plugin.stop()));
    await Promise.all(ofOwner(this.launching).map(([, launch]) => launch));
  }

  /** Stops every run (the Pod is closing); their credentials end with them. */
  async stopAll() {
    this.queue.close();
    await Promise.all([...this.running.values()].map((running) => running.plugin.stop()));
    await this.options.runner.close();
  }

  /** Each step that reads or records in the owner's database takes a turn of its main connection (`withMain`). */
  private async launch(owner: Owner, runId: string) {
    const { runner, log } = this.options;
    const { store } = owner;
    try {
      const entry = await store.withMain(() => {
        const run = store.item(runId);
        if (!run) return;
        const image = imageOf(run);
        if (CLIENT_RUN_IMAGES.has(image))
          return this.record(owner, runId, {
            podLaunchStatus: 'notLaunched',
            podLaunchMessage: `containerImage ${JSON.stringify(image)}: the client runs this plugin itself`,
          });
        // a run no Plugin grants, or with settings its Plugin does not declare, is refused now, not after its turn
        grantOf(owner, run, image);
        checkSettings(owner, run, image);
        webserverPortOf(run);
        const entered = this.queue.enter(owner.hash, runKey(owner, runId));
        if (entered instanceof Promise) {
          const { maxRuns, maxRunsPerOwner } = this.queue.limits;
          this.record(owner, runId, {
            podLaunchStatus: 'queued',
            podLaunchMessage: `waits until fewer than ${maxRunsPerOwner} runs of this owner and ${maxRuns} in all are going`,
          });
          this.options.keepOpen(owner, entered);
        }
        return { entered };
      });
      if (!entry) return;
      const slot = await entry.entered;
      try {
        if (this.queue.closed) return;
        const launching = await store.withMain(() => {
          const current = store.item(runId);
          if (slot && wanted(current)) return { started: this.start(owner, current) };
          if (current && !current.deleted)
            this.record(owner, runId, {
              podLaunchStatus: 'notLaunched',
              podLaunchMessage: 'aborted while it waited; it never started',
            });
        });
        if (!launching) return;
        const launched = await launching.started;
        log.info({ owner: owner.hash, runId, runner: runner.name }, 'plugin run started');
        await store.withMain(() =>
          this.record(owner, runId, {
            podLaunchStatus: 'started',
            podLaunchMessage: `started by the ${runner.name} runner as ${launched.plugin.name}`,
          }),
        );
        await this.finish(owner, runId, launched, await launched.plugin.exited);
      } finally {
        slot?.release();
      }
    } catch (error) {
      const reason = error instanceof LaunchError ? error.reason : 'failed';
      const message =
        error instanceof LaunchError || error instanceof PodError
          ? error.message
          : 'the launch failed; see the Pod log';
      if (!(error instanceof LaunchError)) log.error({ owner: owner.hash, runId, err: error }, 'plugin launch failed');
      await store.withMain(() => this.record(owner, runId, { podLaunchStatus: reason, podLaunchMessage: message }));
    }
  }

  /** Issues the run's credential and starts it with the environment of spec §7; call in a turn of the main connection (its reads are synchronous, before the first await). */
  private async start(owner: Owner, run: Item): Promise<Running> {
    const runId = run.id;
    const image = imageOf(run);
    const creatorRun = owner.store.storedItem(runId)?.creatorRun;
    if (creatorRun) this.record(owner, runId, { podCreatedByRun: creatorRun });
    const grant = grantOf(owner, run, image);
    checkSettings(owner, run, image);
    const webserverPort = webserverPortOf(run);
    const targetId = grant.own.targetId ?? runId;
    const { authJson, token } = this.options.credentials.issue(owner, grant);
    try {
      const target = owner.store.item(targetId) ?? run;
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
        webserverPort,
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
    await owner.store.withMain(() => {
      const status = owner.store.item(runId)?.status;
      const unfinished = !FINAL_RUN_STATUSES.has(String(status));
      const ended =
        outcome === 'timedOut'
          ? 'the run hit the time limit and was stopped'
          : outcome === 'stopped'
            ? 'stopped on request'
            : `exited with code ${exit.exitCode}`;
      // A plugin that ended without saying how it went failed, as far as its owner can tell: say why.
      const failed = unfinished && !exit.stopped;
      this.record(owner, runId, {
        podLaunchStatus: outcome,
        podLaunchMessage: failed
          ? `${ended} without setting a final status (done, error or aborted) on its PluginRun, so the Pod set status "error"`
          : ended,
        ...(exit.exitCode === null ? {} : { podExitCode: exit.exitCode }),
        ...(unfinished ? { status: exit.stopped ? 'aborted' : 'error' } : {}),
      });
    });
  }
}

const runKey = (owner: Owner, runId: string) => `${owner.hash}:${runId}`;

/** A run that may still start: neither deleted nor aborted. */
const wanted = (run: Item | undefined): run is Item => Boolean(run && !run.deleted && run.status !== 'aborted');

/** What the Pod records on a run: its launch, and (for a run that ended without one) its final status. */
interface LaunchFacts {
  podLaunchStatus?: LaunchStatus;
  podLaunchMessage?: string;
  podCreatedByRun?: string;
  podExitCode?: number;
  status?: RunStatus;
}

/**
 * Records the Pod's own facts on a run without touching its dateModified (which belongs to its
 * writers); a deleted run stays as its deleter left it. Never throws: a launch runs detached from
 * any request, so a failure here is only logged.
 */
function record(owner: Owner, runId: string, facts: LaunchFacts, log: FastifyBaseLogger) {
  try {
    const run = owner.store.item(runId);
    if (run && !run.deleted)
      owner.store.write(() => owner.store.updateItem({ id: runId, ...facts, dateModified: run.dateModified }));
  } catch (error) {
    log.error({ owner: owner.hash, runId, err: error }, 'could not record the launch on the PluginRun');
  }
}

const imageOf = (run: Item) => String(run.containerImage ?? run.container ?? '');

/** The port the run's web server listens on in its container (2023 §8): its `webserverPort`, else 8080. */
function webserverPortOf(run: Item): number {
  const port = run.webserverPort ?? DEFAULT_WEBSERVER_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)
    throw refuse(`its webserverPort ${JSON.stringify(port)} is not a TCP port (an integer from 1 to 65535)`);
  return port;
}
const refuse = (message: string) => new LaunchError('refused', `${message}; nothing was launched`);
/** Runs started by runs started by runs…: deeper chains are refused. */
const MAX_RUN_CHAIN = 8;

/**
 * A run's grant: its Plugin's permissions and its own items. A run created with another run's
 * credential also holds every rule of its creator's grant (the intersection), its target must be
 * wholly visible to the creator, and it gets only the Plugin and Accounts the creator could see
 * whole and write.
 */
function grantOf(owner: Owner, run: Item, image: string, depth = 0): Grant {
  const { store } = owner;
  const runId = run.id;
  const targetId = typeof run.targetItemId === 'string' ? run.targetItemId : runId;
  const plugin = pluginOf(owner, runId, image);
  const pluginId = plugin?.id;
  let accountIds = pluginId ? store.edgeTargets(pluginId, 'account') : [];
  const rules = [permissionsOf(plugin)];
  let visibleToCreator = (id: string | undefined): boolean => id !== undefined;

  const creatorRun = store.storedItem(runId)?.creatorRun;
  if (creatorRun) {
    if (depth >= MAX_RUN_CHAIN) throw refuse(`this run was started by a chain of more than ${MAX_RUN_CHAIN} runs`);
    const creatorItem = store.item(creatorRun);
    if (!creatorItem) throw refuse(`the run ${JSON.stringify(creatorRun)} that created this run is gone`);
    const parent = grantOf(owner, creatorItem, imageOf(creatorItem), depth + 1);
    // The child sees its target, Plugin and Accounts whole: only items its creator sees whole qualify.
    visibleToCreator = (id) => {
      const item = id === undefined ? undefined : store.storedItem(id);
      return item !== undefined && parent.visible(item) === 'all';
    };
    if (targetId !== runId && !visibleToCreator(targetId))
      throw refuse(
        `its target ${JSON.stringify(targetId)} is not an item the run that created it (${JSON.stringify(creatorRun)}) may read in full`,
      );
    accountIds = accountIds.filter((id) => {
      const account = store.storedItem(id);
      if (!account || !visibleToCreator(id)) return false;
      try {
        parent.checkUpdate(account, {});
        return true;
      } catch {
        return false;
      }
    });
    rules.push(...parent.rules);
  }
  const ownTypes = [run.type, ...accountIds.map((id) => store.storedItem(id)?.type ?? '')].filter(Boolean);
  // Items belong to the Plugin, so the next run of an importer may change what the last one created;
  // a run started by another run owns only what it creates itself (never its Plugin's other items).
  const creator = pluginId && !creatorRun ? pluginId : runId;
  return new Grant(
    { runId, creator, targetId, pluginId: visibleToCreator(pluginId) ? pluginId : undefined, accountIds, ownTypes },
    rules,
    (name) => store.schema.declaredType(name),
  );
}

/**
 * The Plugin item whose permissions a run gets: the one its `plugin` edge points to, which must be
 * a Plugin for the run's image, not deleted, and created by the owner (anything else is refused).
 * A run without a `plugin` edge gets the newest such Plugin of its image: an owner's Plugin item is
 * the owner's statement of what that image may do, and no plugin can create one the Pod honours.
 */
function pluginOf(owner: Owner, runId: string, image: string): Item | undefined {
  const { store } = owner;
  const ownersPlugin = (id: string) => {
    const stored = store.storedItem(id);
    return stored?.type === 'Plugin' && stored.deleted === 0 && stored.creator === null ? store.item(id) : undefined;
  };
  const linked = [...new Set(store.edgeTargets(runId, 'plugin'))];
  if (linked.length > 1)
    throw refuse(`the run has "plugin" edges to ${linked.length} items; it needs exactly one Plugin`);
  const [id] = linked;
  if (id !== undefined) {
    const plugin = ownersPlugin(id);
    if (!plugin)
      throw refuse(
        `its "plugin" edge points to ${JSON.stringify(id)}, which is not a Plugin item created by the owner and not deleted`,
      );
    if (plugin.containerImage !== image)
      throw refuse(
        `its Plugin ${JSON.stringify(id)} is for image ${JSON.stringify(plugin.containerImage ?? null)}, not ${JSON.stringify(image)}`,
      );
    return plugin;
  }
  if (!image) return undefined;
  for (const candidate of store.latest('Plugin', { containerImage: image })) {
    const plugin = ownersPlugin(candidate.id);
    if (plugin) return plugin;
  }
  return undefined;
}

/** Refuses a run whose `config` does not fit its Plugin's `configJson`: undeclared, mistyped or missing settings. */
function checkSettings(owner: Owner, run: Item, image: string): void {
  const plugin = pluginOf(owner, run.id, image);
  let declared: PluginSettings;
  try {
    declared = parsePluginSettings(plugin?.configJson);
  } catch (error) {
    throw refuse(`its Plugin's settings are malformed: ${(error as Error).message}`);
  }
  try {
    runSettings(declared, run.config);
  } catch (error) {
    throw refuse(`its config does not fit its Plugin: ${(error as Error).message}`);
  }
}

/** The Plugin's declared permissions; none declared means the run may touch only its own items. */
function permissionsOf(plugin: Item | undefined): ParsedPermissions {
  if (!plugin || typeof plugin.permissions !== 'string') return parsePermissions({});
  let declared: unknown;
  try {
    declared = JSON.parse(plugin.permissions);
  } catch {
    throw new LaunchError('failed', `the Plugin item's "permissions" is not JSON; nothing was launched`);
  }
  try {
    return parsePermissions(declared);
  } catch (error) {
    throw new LaunchError('failed', `the Plugin item's "permissions" is malformed: ${(error as Error).message}`);
  }
}
