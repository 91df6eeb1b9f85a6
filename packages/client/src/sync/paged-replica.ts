/**
 * The items and edge ends of IndexedDbStore in memory, folded from its pages: records that each
 * hold a batch of items and edge ends, written once and never changed (compaction replaces whole
 * pages). Folding the pages in key order with the store's own rules (the newest version of an
 * item wins, the same version replaces; an edge's first ends are kept) gives the replica whatever
 * order writes committed in. It also counts, per page, the entries still live there, which is
 * what compaction needs to know.
 */
import type { EdgeEnds, PodItem } from './store.js';

/** One record of the pages object store. */
export interface Page {
  items: PodItem[];
  edges: EdgeEnds[];
}

/** Where a live entry is: its page's key. */
interface Located<T> {
  value: T;
  page: number;
}

interface PageCount {
  /** Entries stored in the page, live or not. */
  stored: number;
  /** Entries whose newest version is the one in this page. */
  live: number;
}

export class PagedReplica {
  private readonly itemsById = new Map<string, Located<PodItem>>();
  private readonly itemsByType = new Map<string, Map<string, PodItem>>();
  private readonly edgesById = new Map<string, Located<EdgeEnds>>();
  private readonly edgesBySource = new Map<string, EdgeEnds[]>();
  private readonly pages = new Map<number, PageCount>();

  item(id: string): PodItem | undefined {
    return this.itemsById.get(id)?.value;
  }
  items(): PodItem[] {
    return Array.from(this.itemsById.values(), (held) => held.value);
  }
  itemsOfType(type: string): PodItem[] {
    return [...(this.itemsByType.get(type)?.values() ?? [])];
  }
  edge(id: string): EdgeEnds | undefined {
    return this.edgesById.get(id)?.value;
  }
  edgesFrom(source: string): EdgeEnds[] {
    return [...(this.edgesBySource.get(source) ?? [])];
  }

  /** Whether `item` would replace what is held: nothing held, or a version not newer. */
  replaces(item: PodItem): boolean {
    const held = this.itemsById.get(item.id)?.value;
    return !held || held.dateServerModified <= item.dateServerModified;
  }

  /** Whether the ends of edge `id` are known. */
  knows(id: string): boolean {
    return this.edgesById.has(id);
  }

  /**
   * Folds in the page stored under `key`, the latest of those folded so far. Opening does this for
   * every item held, so it is kept lean: one look-up by id, one by type for a run of one type.
   */
  add(key: number, page: Page): void {
    const count = { stored: page.items.length + page.edges.length, live: 0 };
    this.pages.set(key, count);
    let type: string | undefined;
    let ofType: Map<string, PodItem> | undefined;
    for (const item of page.items) {
      const held = this.itemsById.get(item.id);
      if (!held) this.itemsById.set(item.id, { value: item, page: key });
      else if (held.value.dateServerModified > item.dateServerModified) continue;
      else {
        const was = this.pages.get(held.page);
        if (was) was.live--;
        this.itemsByType.get(held.value.type)?.delete(item.id);
        held.value = item;
        held.page = key;
      }
      // A page's items are mostly of one type: look its map up again only when the type changes.
      if (!ofType || item.type !== type) {
        type = item.type;
        ofType = this.itemsByType.get(type) ?? new Map<string, PodItem>();
        this.itemsByType.set(type, ofType);
      }
      ofType.set(item.id, item);
      count.live++;
    }
    for (const edge of page.edges) {
      if (this.knows(edge.id)) continue;
      this.edgesById.set(edge.id, { value: edge, page: key });
      const from = this.edgesBySource.get(edge.source);
      if (from) from.push(edge);
      else this.edgesBySource.set(edge.source, [edge]);
      count.live++;
    }
  }

  /** Pages with fewer live entries than `below`: small ones, or ones mostly replaced since. */
  sparse(below: number): number[] {
    return [...this.pages].filter(([, count]) => count.live < below).map(([key]) => key);
  }

  /** The live entries of `pages`, as one page: what a compaction writes anew. */
  liveIn(pages: number[]): Page {
    const from = new Set(pages);
    const live: Page = { items: [], edges: [] };
    for (const held of this.itemsById.values()) if (from.has(held.page)) live.items.push(held.value);
    for (const held of this.edgesById.values()) if (from.has(held.page)) live.edges.push(held.value);
    return live;
  }

  /** A compaction committed: `removed` are gone, their live entries now in `written` (as `add` would fold them). */
  moved(removed: Set<number>, written: [key: number, page: Page][]): void {
    for (const [key, page] of written) {
      this.pages.set(key, { stored: page.items.length + page.edges.length, live: 0 });
      for (const item of page.items) this.relocate(this.itemsById.get(item.id), removed, key);
      for (const edge of page.edges) this.relocate(this.edgesById.get(edge.id), removed, key);
    }
    for (const key of removed) this.pages.delete(key);
  }

  private relocate(held: Located<unknown> | undefined, removed: Set<number>, key: number): void {
    if (!held || !removed.has(held.page)) return;
    held.page = key;
    const count = this.pages.get(key);
    if (count) count.live++;
  }

  /** Entries stored and live, over every page: what the store holds and what it would hold compacted. */
  totals(): { pages: number; stored: number; live: number } {
    let stored = 0;
    let live = 0;
    for (const count of this.pages.values()) {
      stored += count.stored;
      live += count.live;
    }
    return { pages: this.pages.size, stored, live };
  }
}
