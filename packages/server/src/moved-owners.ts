/**
 * The record of owners that moved to another Pod (`pod move`): owner hash → the target's URL, kept in
 * `<data-dir>/moved-owners.json` (written whole and renamed into place) so the answer stays a 307 to the
 * new host across restarts, and no request to a moved owner creates a new, empty database here.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { syncPathNow } from './storage/durable.js';

/** Its file name in the data folder (a backup carries it too). */
export const MOVED_OWNERS_FILE = 'moved-owners.json';
const Moved = z.record(z.string(), z.object({ to: z.string(), movedAt: z.string() }));

export class MovedOwners {
  private readonly path: string;
  private readonly owners: z.infer<typeof Moved>;

  constructor(dataDir: string) {
    this.path = join(dataDir, MOVED_OWNERS_FILE);
    this.owners = existsSync(this.path) ? Moved.parse(JSON.parse(readFileSync(this.path, 'utf8'))) : {};
  }

  /** Where the owner went, or undefined when it lives here (or never did). */
  to(hash: string): string | undefined {
    return this.owners[hash]?.to;
  }

  /** Records the move on disk before it takes effect anywhere. */
  record(hash: string, to: string) {
    this.owners[hash] = { to, movedAt: new Date().toISOString() };
    this.save();
  }

  /** The owner lives here (again): a move rolled back, or it came back. */
  forget(hash: string) {
    if (!(hash in this.owners)) return;
    delete this.owners[hash];
    this.save();
  }

  private save() {
    const partial = `${this.path}.partial`;
    writeFileSync(partial, `${JSON.stringify(this.owners, null, 2)}\n`, { mode: 0o600 });
    syncPathNow(partial);
    renameSync(partial, this.path);
    // a record lost in a crash would let a request make a new, empty database for an owner who moved
    syncPathNow(dirname(this.path));
  }
}
