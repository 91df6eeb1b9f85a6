/**
 * `plugin.json`, a plugin project's metadata: its name, its container image, what it may read and
 * write in the Pod, and where its code is. `installPlugin` turns it into the Plugin item the Pod
 * grants runs by.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AccessRule } from '@pod/protocol';
import { checkManifest, type PluginManifest } from './install.js';

export const MANIFEST_FILE = 'plugin.json';

/** What runs may do (`plugin.json`'s `permissions`, the JSON of `Plugin.permissions`): declared once, in @pod/protocol. */
export type { Permissions, AccessRule } from '@pod/protocol';
export { checkManifest, findInstalled, installPlugin, type PluginManifest } from './install.js';
/** Item type → its rule (`"*"`, a list of properties, or `{properties, where, items}`). */
export type Access = Record<string, AccessRule>;

/** Reads and checks `plugin.json` in a project directory. */
export function readManifest(dir: string): PluginManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return checkManifest(raw);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}
