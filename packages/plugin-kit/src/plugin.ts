/**
 * `PluginBase`: what every TypeScript plugin does around its own work. A plugin is a subclass with
 * `async run()` and the item classes it reads and writes; `PluginBase.main(MyPlugin)` is its entry
 * point in the container. Around `run()` the kit
 * 1. sends the plugin's schema as its first request (one bulk: the synchronization rule),
 * 2. loads its run, the run's target, and `PluginRun -plugin-> Plugin -account-> Account`,
 * 3. sets `status: "started"` and `progress: 0` on the run, then `done` and 1 when `run()` returns,
 * 4. or, when it throws, `status: "error"` with the message in `error`, and exits non-zero.
 */
import { Account, Item, PodError, itemOf, type Filter, type ItemClass, type PodClient } from '@pod/client';
import { ReceivedItem, describeIssues, type FinalRunStatus } from '@pod/protocol';
import { pluginClientFromEnv } from '@pod/client/node';
import {
  askOwner,
  logInWithOAuth,
  logInWithPassword,
  RunAborted,
  type LogInOptions,
  type OAuthLogIn,
  type OwnerRequest,
  type PasswordLogIn,
  type RunContext,
  type Tokens,
  type WaitOptions,
} from './auth.js';
import { findExisting, type ExistingOptions } from './incremental.js';
import { PluginItem, PluginRunItem } from './items.js';

/** What a plugin runs with: a client holding its credential, and its run. */
export interface PluginEnvironment {
  client: PodClient;
  runId: string;
  /** The target item as the Pod sent it (`POD_TARGET_ITEM`); read from the Pod when not given. */
  target?: ReceivedItem;
}

/** How a run ended, as the kit wrote it on the run. */
export interface RunOutcome {
  status: FinalRunStatus;
  /** The message written in the run's `error`. */
  error?: string;
}

/** A concrete subclass of `PluginBase`. */
export type PluginClass = (new (environment: PluginEnvironment) => PluginBase) & { readonly itemClasses: readonly ItemClass[] };

/**
 * The environment the Pod starts a plugin with (spec §7): `POD_FULL_ADDRESS`, `POD_OWNER`,
 * `POD_AUTH_JSON`, `POD_PLUGINRUN_ID` (or, as the original plugins read it, the id in `POD_TARGET_ITEM`).
 */
export function environmentFromEnv(env: NodeJS.ProcessEnv = process.env): PluginEnvironment {
  const client = pluginClientFromEnv(env);
  const target = env.POD_TARGET_ITEM ? targetFromEnv(env.POD_TARGET_ITEM) : undefined;
  const runId = env.POD_PLUGINRUN_ID || target?.id;
  if (!runId) throw new Error('POD_PLUGINRUN_ID or POD_TARGET_ITEM must name the run');
  return { client, runId, target };
}

/** `POD_TARGET_ITEM`: the target item's JSON, as the Pod sent it. */
function targetFromEnv(json: string): ReceivedItem {
  const checked = ReceivedItem.safeParse(JSON.parse(json));
  if (!checked.success) throw new Error(`POD_TARGET_ITEM is not an item: ${describeIssues(checked.error, 'POD_TARGET_ITEM')}`);
  return checked.data;
}

/** A Pod error says what the Pod refused, and where. */
export function describeError(error: unknown): string {
  if (error instanceof PodError)
    return error.status === 0 ? error.message : `${error.message} (HTTP ${error.status} from ${error.endpoint ?? 'the Pod'})`;
  return error instanceof Error ? error.message : String(error);
}

export abstract class PluginBase implements RunContext {
  /**
   * The item classes this plugin reads and writes. Their properties are declared as its first
   * request, with the kit's own (the run's and the Account's), and items of their types are read
   * back as their instances; properties the Pod sends beyond them are ignored.
   */
  static readonly itemClasses: readonly ItemClass[] = [];

  readonly client: PodClient;
  readonly runId: string;
  /** The run, as last read or written; the auth flows replace it by fresh reads. */
  pluginRun!: PluginRunItem;
  /** The target item (usually the run itself). */
  target!: Item;
  /** The Plugin item the run's `plugin` edge leads to, when it has one. */
  plugin?: PluginItem;
  /** The first Account the Plugin's `account` edges lead to: the service credentials. */
  account?: Account;
  readonly #givenTarget?: ReceivedItem;

  constructor(environment: PluginEnvironment) {
    this.client = environment.client;
    this.runId = environment.runId;
    this.#givenTarget = environment.target;
  }

  /** The plugin's work. Throwing ends the run with `status: "error"` and the message. */
  abstract run(): Promise<void>;

  /** Reports progress on the run, a fraction from 0 to 1. */
  async setProgress(progress: number): Promise<void> {
    this.pluginRun.progress = Math.min(1, Math.max(0, progress));
    await this.client.update(this.pluginRun);
  }

  /** The last imported item of a type (highest dateServerModified): where an incremental import continues. */
  lastImported<C extends ItemClass>(cls: C, filter?: Filter<C>): Promise<InstanceType<C> | undefined> {
    return this.client.searchLastAdded(cls, filter);
  }

  /** The items of `cls` already in the Pod among these external ids, by id, in one request (see `findExisting`). */
  findExisting<C extends ItemClass>(cls: C, values: Iterable<string>, options?: ExistingOptions): Promise<Map<string, InstanceType<C>>> {
    return findExisting(this.client, cls, values, options);
  }

  /** Asks the owner for something through the run and waits for the answer (see `auth.ts`). */
  askOwner<T>(request: OwnerRequest, answered: (run: PluginRunItem, account: Account | undefined) => T | undefined, options?: WaitOptions): Promise<T> {
    return askOwner(this, request, answered, options);
  }

  /** Username and password from the Account (asked for if missing), then a 2FA code if the service wants one. */
  logInWithPassword<S>(login: PasswordLogIn<S>, options?: LogInOptions): Promise<Tokens> {
    return logInWithPassword(this, login, options);
  }

  /** OAuth: the owner opens the authorization URL and answers with the redirect. */
  logInWithOAuth(login: OAuthLogIn, options?: LogInOptions): Promise<Tokens> {
    return logInWithOAuth(this, login, options);
  }

  /**
   * Runs a plugin through its whole life against the environment's Pod and reports on its run;
   * never throws. `main` uses it in the container; a client (or a test) can run a plugin in its own
   * process with it, with the owner's client (all access).
   */
  static async execute(cls: PluginClass, environment: PluginEnvironment): Promise<RunOutcome> {
    const { client, runId } = environment;
    let plugin: PluginBase | undefined;
    try {
      await client.addToSchema(...new Set([PluginRunItem, Account, ...cls.itemClasses]));
      plugin = new cls(environment);
      await plugin.#load();
      Object.assign(plugin.pluginRun, { status: 'started', progress: 0 });
      await client.update(plugin.pluginRun);
      await plugin.run();
      return await finish(client, runId, plugin.pluginRun, { status: 'done' });
    } catch (error) {
      if (error instanceof RunAborted) return { status: 'aborted' };
      console.error(error);
      const outcome: RunOutcome = { status: 'error', error: describeError(error) };
      try {
        return await finish(client, runId, plugin?.pluginRun, outcome);
      } catch (reportError) {
        // the Pod marks a run it started `error` when it exits unfinished; say why here
        console.error(`could not record the failure on run ${runId}: ${describeError(reportError)}`);
        return outcome;
      }
    }
  }

  /** The entry point of a plugin the Pod starts: runs it, then exits 0 when it is done, 1 otherwise. */
  static async main(cls: PluginClass, env: NodeJS.ProcessEnv = process.env): Promise<never> {
    let environment: PluginEnvironment;
    try {
      environment = environmentFromEnv(env);
    } catch (error) {
      console.error(describeError(error));
      process.exit(1);
    }
    const outcome = await PluginBase.execute(cls, environment);
    console.log(`run ${environment.runId}: ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
    process.exit(outcome.status === 'done' ? 0 : 1);
  }

  /** The run, its Plugin and Account through their edges, and the target. */
  async #load(): Promise<void> {
    const [run] = await this.client.call('get_item', this.runId);
    if (!run) throw new Error(`the PluginRun ${this.runId} is not in the Pod`);
    this.pluginRun = itemOf(PluginRunItem, run);
    this.plugin = await this.#follow(this.runId, 'plugin', PluginItem);
    this.account = this.plugin && (await this.#follow(this.plugin.id, 'account', Account));
    const targetId = this.pluginRun.targetItemId ?? this.runId;
    if (targetId === this.runId) this.target = this.pluginRun;
    else if (this.#givenTarget?.id === targetId) this.target = Item.fromJSON(this.#givenTarget);
    else this.target = await this.client.get(targetId);
  }

  /** The item an edge of this name leads to. `get_edges`, as edges in search results need read access to Edge items. */
  async #follow<C extends ItemClass>(id: string, name: string, cls: C): Promise<InstanceType<C> | undefined> {
    const edges = await this.client.call('get_edges', { item: id, direction: 'Outgoing', expandItems: true });
    const edge = edges.find((entry) => entry.name === name);
    // expandItems: the entry holds the whole item
    return edge && 'type' in edge.item ? itemOf(cls, edge.item) : undefined;
  }
}

/** Writes the final status on the run, unless it was aborted meanwhile (then that stays). */
async function finish(client: PodClient, runId: string, run: PluginRunItem | undefined, outcome: RunOutcome): Promise<RunOutcome> {
  const [current] = await client.call('get_item', runId);
  if (!current) throw new Error(`the PluginRun ${runId} is not in the Pod`);
  if (current.status === 'aborted') return { status: 'aborted' };
  // the run as this plugin last saw it, so that only what it changes is sent
  const changed = run ?? itemOf(PluginRunItem, current);
  Object.assign(changed, outcome.status === 'done' ? { status: 'done', progress: 1 } : { status: outcome.status, error: outcome.error });
  await client.update(changed);
  return outcome;
}
