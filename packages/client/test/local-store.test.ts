/** The shared LocalStore suite against each store, and what only a file can do: outlive its process. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryStore, PodClient } from '@pod/client';
import { SqliteStore } from '@pod/client/node';
import { localStoreSuite } from './local-store-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'pod-store-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = () => join(dir, `store-${++files}.db`);

localStoreSuite('MemoryStore', () => new MemoryStore(), { describe, it });
localStoreSuite('SqliteStore, plain file', () => new SqliteStore(file()), { describe, it });
localStoreSuite('SqliteStore, encrypted file', () => new SqliteStore(file(), { key: PodClient.generateKey() }), {
  describe,
  it,
});

describe('SqliteStore', () => {
  it('keeps everything across a reopen, encrypted at rest; a wrong key cannot open it', () => {
    const path = file();
    const key = PodClient.generateKey();
    const first = new SqliteStore(path, { key, durability: 'full' });
    first.write({
      items: [
        {
          id: 'a',
          type: 'Note',
          dateCreated: 1,
          dateModified: 1,
          dateServerModified: 3,
          deleted: false,
          title: 'secret words',
        },
      ],
      cursor: 4,
      pending: [{ id: 'a', type: 'Note', patch: { title: 'x' }, base: 3, dateModified: 5, seq: 1 }],
      outbox: { batchId: 'b', changes: [] },
      schemaHash: 'h',
    });
    first.close();
    assert.ok(!readFileSync(path).includes('secret words'), 'nothing in clear on disk');
    const again = new SqliteStore(path, { key });
    assert.equal(again.item('a')!.title, 'secret words');
    assert.equal(again.cursor(), 4);
    assert.equal(again.pendingCount(), 1);
    assert.equal(again.outbox()!.batchId, 'b');
    assert.equal(again.schemaHash(), 'h');
    again.close();
    assert.throws(() => new SqliteStore(path, { key: PodClient.generateKey() }), /key is wrong/);
    assert.throws(() => new SqliteStore(file(), { key: 'short' }), /64 hexadecimal/);
  });
});
