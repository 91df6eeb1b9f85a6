/**
 * Registers an owner's account for tests of routes that need one (spec 2023 §1.3), through the
 * store's own `registerAccount`: the database file is opened (created when new) beside the Pod,
 * which reads the registration on its next request.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ownerHash } from '../src/config.js';
import { openEncrypted } from '../src/storage/database.js';
import { OwnerStore } from '../src/storage/store.js';
import type { TestPod } from '../src/testing.js';
import type { Owner } from './helpers.js';

export function registerAccount(pod: TestPod, owner: Owner): void {
  const dir = join(pod.dataDir, ownerHash(owner.owner));
  mkdirSync(join(dir, 'files'), { recursive: true, mode: 0o700 });
  const db = openEncrypted(join(dir, 'pod.db'), Buffer.from(owner.key, 'hex'), true);
  try {
    new OwnerStore(db).registerAccount();
  } finally {
    db.close();
  }
}
