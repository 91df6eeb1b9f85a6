/**
 * The item types the kit reads and writes, as subclasses of the client's shipped ones: they add the
 * properties of the log-in conversation (on the run) and the grant (on the Plugin), and stay
 * `instanceof` the client's classes, so code written against `PluginRun` and `Plugin` keeps working.
 */
import { Account, Item, Plugin, PluginRun, type PodClient } from '@pod/client';

/**
 * A PluginRun as the kit uses it. Besides `status` (`started`, `userActionNeeded` while it waits for
 * the owner, then `done`, `error` or `aborted`), `progress` and `error`, the plugin asks the owner
 * for input with `authRequest` (`"credentials"`, `"2fa"` or `"oauth"`), `authMessage` (what to tell
 * them) and `authUrl` (the page to open, for OAuth); the owner answers in `authResponse`.
 */
export class PluginRunItem extends PluginRun {
  static override readonly properties = {
    ...PluginRun.properties,
    podExitCode: 'Integer',
    authRequest: 'Text',
    authMessage: 'Text',
    authUrl: 'Text',
    authResponse: 'Text',
    config: 'Text',
  } as const;
  declare podExitCode?: number | null;
  declare authRequest?: string | null;
  declare authMessage?: string | null;
  declare authUrl?: string | null;
  declare authResponse?: string | null;
  /** The run's settings, JSON `{"name": value}`, checked by the Pod against its Plugin's `configJson`. */
  declare config?: string | null;
}

/**
 * A Plugin item with its grant and its settings: `permissions` is JSON
 * `{"read": {"Type": "*" | ["prop", …]}, "write": {…}, "email": bool, "oauth": ["platform", …]}`,
 * `configJson` the settings
 * its runs may be given, JSON `{"name": {"type", "default"?, "description"?, "required"?}}` (both
 * from plugin.json).
 */
export class PluginItem extends Plugin {
  static override readonly properties = { ...Plugin.properties, permissions: 'Text', configJson: 'Text' } as const;
  declare permissions?: string | null;
  declare configJson?: string | null;
}

/**
 * An Account as the kit uses it: the service's credentials and tokens, and `importCursors`, where
 * each Plugin's incremental import of this account continues (JSON: Plugin id → cursor). A run may
 * write its Plugin's Accounts under any grant, and the owner's edits of imported items leave it be.
 */
export class AccountItem extends Account {
  static override readonly properties = { ...Account.properties, importCursors: 'Text' } as const;
  declare importCursors?: string | null;
}

/** The run as it is in the Pod now. */
export async function readRun(client: PodClient, runId: string): Promise<PluginRunItem> {
  const [run] = await client.call('get_item', runId);
  if (!run) throw new Error(`no PluginRun ${runId} in the Pod`);
  return Item.fromJSON(run, PluginRunItem);
}
