/**
 * `plugin.json`, a plugin project's metadata: its name, its container image, what it may read and
 * write in the Pod, and where its code is. `installPlugin` turns it into the Plugin item the Pod
 * grants runs by.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Account, Item, type PodClient, type ReceivedItem } from '@pod/client';
import { parsePermissions, type AccessRule, type Permissions } from '@pod/protocol';
import { PluginItem } from './items.js';

export const MANIFEST_FILE = 'plugin.json';

/** What runs may do (`plugin.json`'s `permissions`, the JSON of `Plugin.permissions`): declared once, in @pod/protocol. */
export type { Permissions, AccessRule } from '@pod/protocol';
/** Item type → its rule (`"*"`, a list of properties, or `{properties, where, items}`). */
export type Access = Record<string, AccessRule>;

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
}

/** Reads and checks `plugin.json` in a project directory. */
export function readManifest(dir: string): PluginManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  const text = (name: string, fallback?: string): string => {
    const value = raw[name] ?? fallback;
    if (typeof value !== 'string' || value === '') throw new Error(`${file}: "${name}" must be a non-empty string`);
    return value;
  };
  const optional = (name: string) => (raw[name] === undefined ? undefined : text(name));
  return {
    name: text('name'),
    description: optional('description'),
    image: text('image'),
    entry: text('entry', 'src/main.ts'),
    service: optional('service'),
    permissions: checkPermissions(raw.permissions ?? {}, file),
  };
}

function checkPermissions(value: unknown, file: string): Permissions {
  try {
    parsePermissions(value);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  return value as Permissions;
}

/** The newest Plugin item (not deleted) for this image. */
export function findInstalled(client: PodClient, image: string): Promise<PluginItem | undefined> {
  return client.searchLastAdded(PluginItem, { containerImage: image, deleted: false });
}

/**
 * Creates the Plugin item for a manifest, or brings the installed one up to date (name,
 * permissions); with a `service`, links the owner's Account of that service (`isMe: true`) unless
 * one is linked already.
 */
export async function installPlugin(client: PodClient, manifest: PluginManifest): Promise<{ plugin: PluginItem; account?: Account }> {
  await client.addToSchema(PluginItem, Account);
  const installed = await findInstalled(client, manifest.image);
  const plugin = installed ?? new PluginItem();
  Object.assign(plugin, {
    name: manifest.name,
    description: manifest.description ?? null,
    containerImage: manifest.image,
    permissions: JSON.stringify(manifest.permissions),
  });
  await (installed ? client.update(plugin) : client.create(plugin));
  if (!manifest.service) return { plugin };

  const edges = await client.call('get_edges', { item: plugin.id, direction: 'Outgoing', expandItems: true });
  const linked = edges.find((edge) => edge.name === 'account');
  if (linked) return { plugin, account: Item.fromJSON(linked.item as ReceivedItem, Account) as Account };
  const account = new Account({ service: manifest.service, isMe: true });
  await client.bulk({ createItems: [account], createEdges: [{ source: plugin, name: 'account', target: account }] });
  return { plugin, account };
}
