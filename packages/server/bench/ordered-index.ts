/**
 * The ordered equality index (issue 13, ordered-index.ts) against the layout before it, in-process on
 * one encrypted database of `npm run bench`'s items: p50 of an equality search with `_limit 100`, both
 * orders, for values with 1 (`count`), N / 10,000 (`tag`) and N / 2 (`done`) matches, read first from
 * the old table (the store while the move has not started), then after the move, which is timed step
 * by step as the store would run it between requests.
 *
 *   node packages/server/dist/bench/ordered-index.js [--items N] [--probes N]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { type Db, openEncrypted } from '../src/storage/database.js';
import { drainStep, orderPhase, orderStep, toLayoutBeforeOrderedIndex } from '../src/storage/ordered-index.js';
import { OwnerStore } from '../src/storage/store.js';
import { percentile } from './fairness.js';
import { BULK_SIZE, makeItem, schema } from './workload.js';

const p50 = (took: number[]) =>
  percentile(
    [...took].sort((a, b) => a - b),
    50,
  );

/** A lone owner's page cache (the Pod's default budget, page-cache.ts). */
const CACHE_MIB = 256;

const searches = (items: number) =>
  [
    ['count (1 match)', (k: number) => ({ count: (k * 7919) % items })],
    [`tag (${Math.floor(items / 10_000)} matches)`, (k: number) => ({ tag: `tag-${(k * 7919) % 10_000}` })],
    [`done (${items / 2} matches)`, (k: number) => ({ done: k % 2 === 0 })],
  ] as const;

/** p50 in ms of each search, ascending and descending, with `_limit` 100. */
function measure(store: OwnerStore, items: number, probes: number): string[] {
  const figures: string[] = [];
  for (const [name, query] of searches(items))
    for (const order of ['Asc', 'Desc']) {
      const took: number[] = [];
      for (let k = 0; k < probes; k++) {
        const began = performance.now();
        store.searchJson({ ...query(k), _limit: 100, _sortOrder: order });
        took.push(performance.now() - began);
      }
      figures.push(`${name} ${order}: ${p50(took).toFixed(2)} ms`);
    }
  return figures;
}

function open(path: string, key: Buffer): Db {
  const db = openEncrypted(path, key, false);
  db.pragma(`cache_size=-${CACHE_MIB * 1024}`);
  return db;
}

async function main() {
  const options = new Command()
    .option('--items <n>', 'items in the owner', (v) => Number(v), 1_000_000)
    .option('--probes <n>', 'samples per figure', (v) => Number(v), 20)
    .parse()
    .opts<{ items: number; probes: number }>();
  const dir = mkdtempSync(join(tmpdir(), 'pod-ordered-index-bench-'));
  const path = join(dir, 'pod.db');
  const key = randomBytes(32);
  try {
    let db = openEncrypted(path, key, true);
    let store = new OwnerStore(db);
    store.write(() => {
      for (const declaration of schema) store.createItem(declaration);
    });
    // every property filtered on below indexed from the start, as after a first filter (lazy-index.ts)
    db.prepare("UPDATE properties SET indexState = 2 WHERE name IN ('tag', 'count', 'done')").run();
    store.schema.reload();
    for (let first = 0; first < options.items; first += BULK_SIZE)
      store.write(() => {
        for (let i = first; i < first + BULK_SIZE; i++) store.createItem(makeItem(i));
      });
    const entries = db.prepare('SELECT count(*) FROM property_order').pluck().get() as number;
    toLayoutBeforeOrderedIndex(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();

    console.log(`${options.items.toLocaleString('en-US')} items, ${entries.toLocaleString('en-US')} index entries`);
    db = open(path, key); // migrates: the move has not started, searches read the old table
    store = new OwnerStore(db);
    console.log(`before (property_values): ${measure(store, options.items, options.probes).join('; ')}`);
    db.close(); // the store's move, about to start, fails on the closed database: it is timed here instead

    db = open(path, key);
    const steps = { build: [] as number[], drain: [] as number[] };
    for (let phase = orderPhase(db); phase !== 'done'; phase = orderPhase(db)) {
      const began = performance.now();
      if (phase === 'building') orderStep(db);
      else drainStep(db);
      steps[phase === 'building' ? 'build' : 'drain'].push(performance.now() - began);
      if ((steps.build.length + steps.drain.length) % 50 === 0) db.pragma('wal_checkpoint(TRUNCATE)'); // as the pool does
    }
    for (const [name, took] of Object.entries(steps))
      console.log(
        `move, ${name}: ${took.length} steps, ${(took.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s, ` +
          `p50 ${p50(took).toFixed(1)} ms, longest ${Math.max(...took).toFixed(1)} ms`,
      );
    store = new OwnerStore(db);
    console.log(`after (property_order): ${measure(store, options.items, options.probes).join('; ')}`);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
