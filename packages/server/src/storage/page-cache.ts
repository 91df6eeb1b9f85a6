/**
 * One page-cache budget for the whole Pod (issue 13), shared by every open owner connection: each
 * gets an equal share as its `cache_size`, recomputed whenever a connection opens or closes, so one
 * owner alone may use the whole budget and a thousand owners never hold a thousand full caches.
 * Closed connections (idle owners, closed by the pool) free their cache with them. SQLite's
 * process-wide soft heap limit backs the shares: past it, SQLite recycles cache pages first.
 */
import type { Db } from './database.js';

/** No connection gets less than this, however many are open (a few hundred pages). */
const MIN_SHARE_BYTES = 1024 * 1024;
/** Room above the page caches for schemas and prepared statements before the soft limit recycles pages. */
const HEAP_HEADROOM_BYTES = 64 * 1024 * 1024;

export class PageCacheBudget {
  private readonly open = new Set<Db>();
  private heapLimitSet = false;

  constructor(private readonly bytes: number) {}

  /** Open owner connections (writers and readers) sharing the budget. */
  get connections(): number {
    return this.open.size;
  }

  /** What each open connection may cache now, in bytes. */
  get share(): number {
    return Math.max(MIN_SHARE_BYTES, Math.floor(this.bytes / Math.max(1, this.open.size)));
  }

  add(db: Db): Db {
    if (!this.heapLimitSet) {
      db.pragma(`soft_heap_limit=${this.bytes + HEAP_HEADROOM_BYTES}`);
      this.heapLimitSet = true;
    }
    this.open.add(db);
    this.rebalance();
    return db;
  }

  /** Forgets closed connections and gives the others their new share. */
  rebalance(): void {
    for (const db of this.open) if (!db.open) this.open.delete(db);
    const kib = Math.floor(this.share / 1024);
    for (const db of this.open) db.pragma(`cache_size=-${kib}`);
  }
}
