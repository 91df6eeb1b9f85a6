/**
 * The owner's plugins and their runs, kept current by the live change feed while the app is open:
 * the Plugins view lists them, and the owner prompts (prompts.tsx) open as soon as a run asks. The
 * feed starts at the Pod's newest change, so opening the app never replays the whole history.
 */
import { type FeedStatus, Item, LiveFeed, type PodClient } from '@pod/client';
import { PluginItem, PluginRunItem } from '@pod/plugin-kit/browser';
import type { ReceivedItem } from '@pod/protocol';
import { signal } from '@preact/signals';

export const plugins = signal<ReadonlyMap<string, PluginItem>>(new Map());
export const runs = signal<ReadonlyMap<string, PluginRunItem>>(new Map());
/** The service each Plugin logs in to (its `account` edge's Account), by Plugin id. */
export const services = signal<ReadonlyMap<string, string>>(new Map());
export const feedStatus = signal<FeedStatus>('connecting');

/** The newest runs read at start; later ones arrive through the feed. */
const RUNS_AT_START = 500;

/** Takes changed or read items: Plugins and PluginRuns replace what was known of them, deleted ones go. */
export function take(items: readonly ReceivedItem[]): void {
  let nextPlugins: Map<string, PluginItem> | undefined;
  let nextRuns: Map<string, PluginRunItem> | undefined;
  for (const item of items) {
    if (item.type === 'Plugin') {
      nextPlugins ??= new Map(plugins.value);
      if (item.deleted) nextPlugins.delete(item.id);
      else nextPlugins.set(item.id, Item.fromJSON(item, PluginItem));
    } else if (item.type === 'PluginRun') {
      nextRuns ??= new Map(runs.value);
      if (item.deleted) nextRuns.delete(item.id);
      else nextRuns.set(item.id, Item.fromJSON(item, PluginRunItem));
    }
  }
  if (nextPlugins) plugins.value = nextPlugins;
  if (nextRuns) runs.value = nextRuns;
}

/** Reads which service each Plugin logs in to (after a start or an install; edges are not in the feed). */
export async function loadServices(client: PodClient): Promise<void> {
  const found = await client.search(PluginItem, { deleted: false }, { edges: true });
  services.value = new Map(
    found.flatMap((plugin) => {
      const service = plugin.account[0]?.service;
      return service ? [[plugin.id, service] as const] : [];
    }),
  );
}

/** Reads the Plugins and recent runs, then follows the feed; returns how to stop. */
export async function watchPlugins(client: PodClient): Promise<() => Promise<void>> {
  // the cursor first: whatever changes while the rest is read comes again through the feed
  const [newest] = await client.call('search', { _sortOrder: 'Desc', _limit: 1, _includeDeleted: true });
  const [installed, recent] = await Promise.all([
    client.call('search', { type: 'Plugin', deleted: false }),
    client.call('search', { type: 'PluginRun', deleted: false, _sortOrder: 'Desc', _limit: RUNS_AT_START }),
    loadServices(client),
  ]);
  take([...installed, ...recent]);
  const feed = new LiveFeed(client, {
    from: newest?.dateServerModified ?? 0,
    onPage: (page) => take(page.items),
    onStatus: (status) => {
      feedStatus.value = status;
    },
  });
  feed.start();
  return () => feed.stop();
}

/** The Plugin a run belongs to: the one with its image (the kit keeps one Plugin item per image). */
export const pluginOfRun = (run: PluginRunItem): PluginItem | undefined =>
  [...plugins.value.values()].find((plugin) => plugin.containerImage === run.containerImage);
