/**
 * Each owner's storage quota (`--owner-quota`), so that one owner cannot fill the disk every owner of the
 * Pod writes to. What counts is what the owner's folder holds on disk: the database with its WAL, and
 * the encrypted blobs of its files and thumbnails. A call that adds data is refused (507) once the quota
 * is used up, and an upload is cut as its bytes pass it; deletions always go on, so an owner can make room.
 * A call already admitted may end a little over the quota (a JSON body is bounded by --json-body-limit).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PodError } from '../errors.js';
import type { Owner } from './owners.js';

export class OwnerQuota {
  /**
   * Blob bytes of each open owner: walked once when first needed, then counted as upload bytes arrive;
   * forgotten when blobs are erased (walked again at the next need). An owner opened again is walked again.
   */
  private readonly blobBytes = new WeakMap<Owner, number>();

  /** `limit` 0: no quota. */
  constructor(readonly limit: number) {}

  /** Bytes the owner's folder holds now. */
  used(owner: Owner): number {
    const database = ['pod.db', 'pod.db-wal'].reduce((sum, name) => sum + sizeOf(join(owner.dir, name)), 0);
    return database + this.blobs(owner);
  }

  /** Throws 507 when the owner has used up its quota (call before a call that adds data). */
  checkRoom(owner: Owner): void {
    if (this.limit > 0 && this.used(owner) >= this.limit) throw this.exceeded();
  }

  /**
   * Counts an upload's bytes as they arrive: `take` throws 507 once the owner would pass its quota;
   * `giveBack` returns what was taken when the upload fails (nothing of it stays).
   */
  upload(owner: Owner): { take(bytes: number): void; giveBack(): void } {
    let taken = 0;
    return {
      take: (bytes) => {
        if (this.limit === 0) return;
        if (this.used(owner) + bytes > this.limit) throw this.exceeded();
        taken += bytes;
        this.blobBytes.set(owner, this.blobs(owner) + bytes);
      },
      giveBack: () => {
        if (taken > 0 && this.blobBytes.has(owner)) this.blobBytes.set(owner, this.blobs(owner) - taken);
        taken = 0;
      },
    };
  }

  /** Blobs were erased: the next check walks the folder again. */
  erased(owner: Owner): void {
    this.blobBytes.delete(owner);
  }

  private blobs(owner: Owner): number {
    let bytes = this.blobBytes.get(owner);
    if (bytes === undefined) {
      bytes = readdirSync(owner.filesDir).reduce((sum, name) => sum + sizeOf(join(owner.filesDir, name)), 0);
      this.blobBytes.set(owner, bytes);
    }
    return bytes;
  }

  private exceeded() {
    return new PodError(
      'quotaExceeded',
      `this owner's data has reached its storage quota of ${this.limit} bytes on this Pod (--owner-quota); ` +
        'nothing more is stored: delete files to make room, or ask its operator for more',
    );
  }
}

/** A file's size; 0 when it is gone (a WAL after a checkpoint, a blob erased meanwhile). */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
