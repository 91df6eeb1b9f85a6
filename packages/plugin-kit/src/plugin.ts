/**
 * `PluginBase`: what every TypeScript plugin does around its own work. A plugin is a subclass with
 * `async run()` and the item classes it reads and writes; `PluginBase.main(MyPlugin)` is its entry
 * point in the container. Around `run()` the kit
 * 1. sends the plugin's schema as its first request (one bulk: the synchronization rule),
 * 2. loads its run, the run's target, and `PluginRun -plugin-> Plugin -account-> Account`,
 * 3. sets `status: "started"` and `progress: 0` on the run, then `done` and 1 when `run()` returns,
 * 4. or, when it throws, `status: "error"` with the message in `error`, and exits non-zero.
 */
import { Account, Item, ItemClasses, PodClient, PodError, schemaDeclarations, type ItemClass } from '@pod/client';
import { ReceivedItem, describeIssues, parsePluginSettings, runSettings } from '@pod/protocol';
import type { FinalRunStatus, RunSettings } from '@pod/protocol';
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
import { findExisting, parseCursors, type Cursor, type ExistingOptions, type ImportBatch } from './incremental.js';
import { AccountItem, PluginItem, PluginRunItem } from './items.js';
import { serveWebServer } from './web-server.js';

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
export type PluginClass = (new (
  environment: PluginEnvironment,
) => PluginBase<object>) & {
  readonly itemClasses: readonly ItemClass[];
};

/** The classes a plugin declares and reads items into: the kit's own (the run's, the Account's), then its own. */
function pluginItemClasses(cls: Pick<PluginClass, 'itemClasses'>): ItemClass[] {
  return [...new Set([PluginRunItem, AccountItem, ...cls.itemClasses])];
}

/**
 * What a plugin's first request declares: its classes, the Account's without `importCursors`, which
 * `save` declares at the first cursor (a run may declare it only when its Plugin has an Account).
 */
function declaredClasses(cls: Pick<PluginClass, 'itemClasses'>): ItemClass[] {
  return [...new Set(pluginItemClasses(cls).map((itemClass) => (itemClass === AccountItem ? Account : itemClass)))];
}

/**
 * The environment the Pod starts a plugin with (spec §7): `POD_FULL_ADDRESS`, `POD_OWNER`,
 * `POD_AUTH_JSON`, `POD_PLUGINRUN_ID` (or, as the original plugins read it, the id in `POD_TARGET_ITEM`).
 * A simulated run (`pod-plugin run --simulate`) passes the owner's ClientAuth in `POD_AUTH_JSON`.
 * The client reads items into `classes` besides the built-in ones.
 */
export function environmentFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  classes: Iterable<ItemClass> = [],
): PluginEnvironment {
  const auth = env.POD_AUTH_JSON ? (JSON.parse(env.POD_AUTH_JSON) as { type?: string; databaseKey?: string }) : {};
  if (auth.type === 'ClientAuth' && !(env.POD_FULL_ADDRESS && env.POD_OWNER && auth.databaseKey))
    throw new Error('a simulated run needs POD_FULL_ADDRESS, POD_OWNER and the databaseKey in POD_AUTH_JSON');
  const client =
    auth.type === 'ClientAuth'
      ? new PodClient({ url: env.POD_FULL_ADDRESS, ownerKey: env.POD_OWNER, databaseKey: auth.databaseKey, classes })
      : pluginClientFromEnv(env, { classes });
  const target = env.POD_TARGET_ITEM ? targetFromEnv(env.POD_TARGET_ITEM) : undefined;
  const runId = env.POD_PLUGINRUN_ID || target?.id;
  if (!runId) throw new Error('POD_PLUGINRUN_ID or POD_TARGET_ITEM must name the run');
  return { client, runId, target };
}

/** `POD_TARGET_ITEM`: the target item's JSON, as the Pod sent it. */
function targetFromEnv(json: string): ReceivedItem {
  const checked = ReceivedItem.safeParse(JSON.parse(json));
  if (!checked.success)
    throw new Error(`POD_TARGET_ITEM is not an item: ${describeIssues(checked.error, 'POD_TARGET_ITEM')}`);
  return checked.data;
}

/** A Pod error says what the Pod refused, and where. */
export function describeError(error: unknown): string {
  if (error instanceof PodError)
    return error.status === 0
      ? error.message
      : `${error.message} (HTTP ${error.status} from ${error.endpoint ?? 'the Pod'})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * `Config`: the run's settings as the plugin reads them, e.g. `PluginBase<{ max: number }>` for
 * plugin.json's `"config": {"max": {"type": "Integer", "default": 10}}`.
 */
export abstract class PluginBase<Config extends object = RunSettings> implements RunContext {
  /**
   * The item classes this plugin reads and writes. Their properties are declared as its first
   * request, with the kit's own (the run's and the Account's), and items of their types are read
   * back as their instances; properties the Pod sends beyond them are ignored.
   */
  static readonly itemClasses: readonly ItemClass[] = [];

  readonly client: PodClient;
  /**
   * Which class each item type is read into by the kit (the run, the target): the client's, then
   * the kit's and the plugin's; the client given is left as it is.
   */
  readonly classes: ItemClasses;
  readonly runId: string;
  /** The run, as last read or written; the auth flows replace it by fresh reads. */
  pluginRun!: PluginRunItem;
  /** The target item (usually the run itself). */
  target!: Item;
  /** The Plugin item the run's `plugin` edge leads to, when it has one. */
  plugin?: PluginItem;
  /** The first Account the Plugin's `account` edges lead to: the service credentials, the import cursor. */
  account?: AccountItem;
  /**
   * The run's settings (its `config`), checked against its Plugin's declaration (`configJson`, from
   * plugin.json's `config`) with the defaults applied; a run whose settings do not fit ends in `error`.
   */
  config!: Config;
  readonly #givenTarget?: ReceivedItem;
  #cursorDeclared?: Promise<void>;

  constructor(environment: PluginEnvironment) {
    this.client = environment.client;
    this.classes = new ItemClasses([...environment.client.classes, ...pluginItemClasses(new.target)]);
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

  /**
   * Where this plugin's incremental import continues: the cursor its last `save` left, kept on its
   * Account for its Plugin alone; undefined before the first. Edits of imported items never move it.
   */
  importCursor(): Cursor | undefined {
    return parseCursors(this.#cursorAccount().importCursors)[this.#cursorKey()];
  }

  /**
   * Writes a batch of the import in one bulk (one transaction); with `cursor`, the import's cursor
   * too, in the same transaction: the items and where to continue after them commit together.
   */
  async save(batch: ImportBatch, options: { cursor?: Cursor } = {}): Promise<void> {
    if (options.cursor !== undefined) {
      const account = this.#cursorAccount();
      // declared at the first cursor, not with the schema: only a run with an Account may declare it
      this.#cursorDeclared ??= this.client.addToSchema(AccountItem);
      await this.#cursorDeclared;
      // other Plugins linked to the same Account keep their cursors there too: merge with what is stored now
      const [stored] = await this.client.call('get_item', account.id);
      const json = stored?.importCursors;
      const cursors = parseCursors(typeof json === 'string' ? json : undefined);
      account.importCursors = JSON.stringify({ ...cursors, [this.#cursorKey()]: options.cursor });
      batch.update(account);
    }
    if (batch.size > 0) await this.client.bulk(batch);
  }

  #cursorAccount(): AccountItem {
    if (!this.account)
      throw new Error(
        'an incremental import keeps its cursor on the Plugin\'s Account: set "service" in plugin.json, then `pod-plugin install`',
      );
    return this.account;
  }

  #cursorKey(): string {
    if (!this.plugin) throw new Error('this run has no "plugin" edge to its Plugin, whose import cursor it would keep');
    return this.plugin.id;
  }

  /** The items of `cls` already in the Pod among these external ids, by id, in one request (see `findExisting`). */
  findExisting<C extends ItemClass>(
    cls: C,
    values: Iterable<string>,
    options?: ExistingOptions,
  ): Promise<Map<string, InstanceType<C>>> {
    return findExisting(this.client, cls, values, options);
  }

  /** Asks the owner for something through the run and waits for the answer (see `auth.ts`). */
  askOwner<T>(
    request: OwnerRequest,
    answered: (run: PluginRunItem, account: Account | undefined) => T | undefined,
    options?: WaitOptions,
  ): Promise<T> {
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
    let plugin: PluginBase<object> | undefined;
    try {
      // Declared only: a client given from outside (a simulated run) keeps its own reading of types.
      await client.call('bulk', { createItems: schemaDeclarations(declaredClasses(cls)) });
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

  /**
   * The entry point of a plugin the Pod starts: runs it (answering the Pod's `plugin/status` at its
   * web server meanwhile), then exits 0 when it is done, 1 otherwise.
   */
  static async main(cls: PluginClass, env: NodeJS.ProcessEnv = process.env): Promise<never> {
    let environment: PluginEnvironment;
    try {
      environment = environmentFromEnv(env, pluginItemClasses(cls));
    } catch (error) {
      console.error(describeError(error));
      process.exit(1);
    }
    const webServer = await serveWebServer(env);
    const outcome = await PluginBase.execute(cls, environment);
    webServer?.close();
    console.log(`run ${environment.runId}: ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
    process.exit(outcome.status === 'done' ? 0 : 1);
  }

  /** The run, its Plugin and Account through their edges, and the target. */
  async #load(): Promise<void> {
    const [run] = await this.client.call('get_item', this.runId);
    if (!run) throw new Error(`the PluginRun ${this.runId} is not in the Pod`);
    this.pluginRun = Item.fromJSON(run, PluginRunItem);
    this.plugin = await this.#follow(this.runId, 'plugin', PluginItem);
    this.account = this.plugin && (await this.#follow(this.plugin.id, 'account', AccountItem));
    this.config = settingsOf(this.plugin, this.pluginRun) as Config;
    const targetId = this.pluginRun.targetItemId ?? this.runId;
    if (targetId === this.runId) this.target = this.pluginRun;
    else if (this.#givenTarget?.id === targetId) this.target = this.classes.decode(this.#givenTarget);
    else {
      const [target] = await this.client.call('get_item', targetId);
      if (!target) throw new Error(`the run's target item ${targetId} is not in the Pod`);
      this.target = this.classes.decode(target);
    }
  }

  /** The item an edge of this name leads to. `get_edges`, as edges in search results need read access to Edge items. */
  async #follow<C extends ItemClass>(id: string, name: string, cls: C): Promise<InstanceType<C> | undefined> {
    const edges = await this.client.call('get_edges', { item: id, direction: 'Outgoing', expandItems: true });
    const edge = edges.find((entry) => entry.name === name);
    // expandItems: the entry holds the whole item
    return edge && 'type' in edge.item ? Item.fromJSON(edge.item, cls) : undefined;
  }
}

/**
 * The run's settings, checked against the Plugin's declaration: what `Config` types. The declaration
 * is the plugin's own plugin.json, so its type parameter states the same settings.
 */
function settingsOf(plugin: PluginItem | undefined, run: PluginRunItem): RunSettings {
  try {
    return runSettings(parsePluginSettings(plugin?.configJson), run.config);
  } catch (error) {
    throw new Error(`this run's settings do not fit its Plugin: ${(error as Error).message}`);
  }
}

/** Writes the final status on the run, unless it was aborted meanwhile (then that stays). */
async function finish(
  client: PodClient,
  runId: string,
  run: PluginRunItem | undefined,
  outcome: RunOutcome,
): Promise<RunOutcome> {
  const [current] = await client.call('get_item', runId);
  if (!current) throw new Error(`the PluginRun ${runId} is not in the Pod`);
  if (current.status === 'aborted') return { status: 'aborted' };
  // the run as this plugin last saw it, so that only what it changes is sent
  const changed = run ?? Item.fromJSON(current, PluginRunItem);
  Object.assign(
    changed,
    outcome.status === 'done' ? { status: 'done', progress: 1 } : { status: outcome.status, error: outcome.error },
  );
  await client.update(changed);
  return outcome;
}
