/**
 * Installing a plugin and starting its runs, as the owner's tools do (the `pod-plugin` CLI and the
 * web app): `plugin.json`'s shape and its check, the Plugin item made from it, a PluginRun for it.
 * Nothing here touches the file system or processes, so the browser app uses it as it is.
 */
import { Account, Item, type PodClient } from '@pod/client';
import { Permissions, PluginSettings, describeIssues, type RunSettings } from '@pod/protocol';
import { z } from 'zod';
import { PluginItem, PluginRunItem } from './items.js';

export interface PluginManifest {
  name: string;
  description?: string;
  /** The container image: `build` tags it, the Plugin item and each PluginRun carry it. */
  image: string;
  /** Source of the container's entry point (it calls `PluginBase.main`); default `src/main.ts`. */
  entry: string;
  /** When set, `install` links the owner's Account of this service to the Plugin (`isMe`; log-ins keep tokens there). */
  service?: string;
  /**
   * What runs may do beyond their own run, target, Plugin and Accounts (see the README): per type,
   * which properties, which items (`where` values; on `write`, `items`: own or all).
   */
  permissions: Permissions;
  /**
   * The settings a run may be given (`pod-plugin run --config name=value`), by name: `type` (Text,
   * Integer, Real or Bool), and optionally `default`, `description`, `required`. Stored on the
   * Plugin as `configJson`; a run's `config` must fit it, and `PluginBase` reads it as `this.config`.
   */
  config?: PluginSettings;
}

const nonEmpty = (name: string) => {
  const message = `"${name}" must be a non-empty string`;
  return z.string({ error: message }).min(1, message);
};
/** `plugin.json`: unknown fields are ignored; `permissions` is checked by the Pod's own rules. */
const Manifest = z.object({
  name: nonEmpty('name'),
  description: nonEmpty('description').optional(),
  image: nonEmpty('image'),
  entry: nonEmpty('entry').default('src/main.ts'),
  service: nonEmpty('service').optional(),
  // Kept as written (no defaults filled in): it becomes the Plugin item's `permissions` JSON.
  permissions: z
    .custom<Permissions>((value) => Permissions.safeParse(value).success, {
      error: (issue) => {
        const checked = Permissions.safeParse(issue.input);
        return checked.success ? 'invalid permissions' : describeIssues(checked.error, 'permissions');
      },
    })
    .default({}),
  config: PluginSettings.default({}),
});

/** Checks a parsed `plugin.json`; throws its problems in one message (nested fields named by their path). */
export function checkManifest(raw: unknown): PluginManifest {
  const checked = Manifest.safeParse(raw);
  if (!checked.success) {
    // top-level fields name themselves in their messages; nested ones (config.max.type) get their path
    const where = (issue: z.core.$ZodIssue) => (issue.path.length > 1 ? `${issue.path.join('.')}: ` : '');
    throw new Error(checked.error.issues.map((issue) => `${where(issue)}${issue.message}`).join('; '));
  }
  return checked.data;
}

/** The newest Plugin item (not deleted) for this image. */
export function findInstalled(client: PodClient, image: string): Promise<PluginItem | undefined> {
  return client.searchLastAdded(PluginItem, { containerImage: image, deleted: false });
}

/**
 * Creates the Plugin item for a manifest, or brings the installed one up to date (name,
 * permissions, settings); with a `service`, links the owner's Account of that service (`isMe: true`) unless
 * one is linked already.
 */
export async function installPlugin(
  client: PodClient,
  manifest: PluginManifest,
): Promise<{ plugin: PluginItem; account?: Account }> {
  await client.addToSchema(PluginItem, Account);
  const installed = await findInstalled(client, manifest.image);
  const plugin = installed ?? new PluginItem();
  Object.assign(plugin, {
    name: manifest.name,
    description: manifest.description ?? null,
    containerImage: manifest.image,
    permissions: JSON.stringify(manifest.permissions),
    configJson: JSON.stringify(manifest.config ?? {}),
  });
  await (installed ? client.update(plugin) : client.create(plugin));
  if (!manifest.service) return { plugin };

  const edges = await client.call('get_edges', { item: plugin.id, direction: 'Outgoing', expandItems: true });
  const linked = edges.find((edge) => edge.name === 'account');
  // expandItems: the entry holds the whole item
  if (linked && 'type' in linked.item) return { plugin, account: Item.fromJSON(linked.item, Account) };
  const account = new Account({ service: manifest.service, isMe: true });
  await client.bulk({ createItems: [account], createEdges: [{ source: plugin, name: 'account', target: account }] });
  return { plugin, account };
}

/**
 * Creates a PluginRun for the Plugin, targeting itself, with its `plugin` edge in the same
 * transaction: the Pod grants the run by that Plugin and starts `containerImage`. `config`: the
 * run's settings, which must fit the Plugin's `configJson` (see `runSettings`).
 */
export async function createPluginRun(
  client: PodClient,
  plugin: PluginItem | string,
  containerImage: string,
  config?: RunSettings,
): Promise<PluginRunItem> {
  await client.addToSchema(PluginRunItem);
  const run = new PluginRunItem({ containerImage, ...(config && { config: JSON.stringify(config) }) });
  run.targetItemId = run.id;
  await client.bulk({ createItems: [run], createEdges: [{ source: run, name: 'plugin', target: plugin }] });
  return run;
}
