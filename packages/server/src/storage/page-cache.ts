/**
 * One page-cache budget for the whole Pod (issue 13), shared by every open owner connection: each
 * gets an equal share as its `cache_size`, so one owner alone may use the whole budget and a thousand
 * owners never hold a thousand full caches. The shares are reset only when the equal share has drifted
 * by more than a quarter from the one applied (a newcomer gets the applied one): resetting every
 * connection on every open would cost a cold owner's first request ~2 ms with a few hundred open, and
 * the total stays within 1.25 × the budget.
 * Closed connections (idle owners, closed by the pool) free their cache with them. SQLite's
 * process-wide soft heap limit backs the shares: past it, SQLite recycles cache pages first.
 */
import type { Db } from './database.js';

/** No connection gets less than this, however many are open (a few hundred pages). */
const MIN_SHARE_BYTES = 1024 * 1024;
/** Room above the page caches for schemas and prepared statements before the soft limit recycles pages. */
const HEAP_HEADROOM_BYTES = 64 * 1024 * 1024;
/** How far the equal share may drift from the applied one before every connection is reset. */
const DRIFT = 1.25;

export class PageCacheBudget {
  private readonly open = new Set<Db>();
  private heapLimitSet = false;
  /** The `cache_size` every open connection has now, in bytes; 0 before the first. */
  private applied = 0;

  constructor(private readonly bytes: number) {}

  /** Open owner connections (writers and readers) sharing the budget. */
  get connections(): number {
    return this.open.size;
  }

  /** What each open connection may cache now, in bytes (the whole budget while none is open). */
  get share(): number {
    return this.open.size === 0 ? this.bytes : this.applied;
  }

  private get equalShare(): number {
    return Math.max(MIN_SHARE_BYTES, Math.floor(this.bytes / Math.max(1, this.open.size)));
  }

  add(db: Db): Db {
    if (!this.heapLimitSet) {
      db.pragma(`soft_heap_limit=${this.bytes + HEAP_HEADROOM_BYTES}`);
      this.heapLimitSet = true;
    }
    this.forgetClosed();
    this.open.add(db);
    if (!this.resetIfDrifted()) setShare(db, this.applied);
    return db;
  }

  /** Forgets closed connections; the others get a new share if theirs has drifted. */
  rebalance(): void {
    this.forgetClosed();
    this.resetIfDrifted();
  }

  /** Connections closed without a `rebalance` (a reader closed by its owner store) leave the set here. */
  private forgetClosed(): void {
    for (const db of this.open) if (!db.open) this.open.delete(db);
  }

  /** Gives every open connection the equal share when the applied one is more than DRIFT off it. */
  private resetIfDrifted(): boolean {
    const equal = this.equalShare;
    if (this.applied > 0 && equal * DRIFT >= this.applied && equal <= this.applied * DRIFT) return false;
    this.applied = equal;
    for (const db of this.open) setShare(db, equal);
    return true;
  }
}

const setShare = (db: Db, bytes: number) => db.pragma(`cache_size=-${Math.floor(bytes / 1024)}`);
