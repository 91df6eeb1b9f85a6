/**
 * Layout experiments for issue 13 (one owner with millions of items), in-process, no HTTP: an
 * encrypted database of the Pod's layout (openEncrypted runs its migrations) filled with the writes
 * the store makes for `npm run bench`'s items (5 properties, bulks of 1,000), one candidate at a
 * time, each reported by tenth. Candidates change one thing at a time against today's layout:
 * which properties get equality-index rows, how the Pod makes ids, the page cache, checkpoints.
 *
 *   node packages/server/dist/bench/scale-layouts.js [--items N] [--only name,name]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { openEncrypted } from '../src/storage/database.js';
import { SET_TEXT } from '../src/storage/fulltext.js';

interface Candidate {
  name: string;
  /** Equality-index rows: for every property (today) or only for those a filter has used (none here). */
  indexAll: boolean;
  /** Ids the Pod makes: random (today) or time-ordered (a millisecond prefix, then random). */
  timeOrderedIds: boolean;
  cacheMiB: number;
  /** The WAL size at which the pool checkpoints (PASSIVE, after a commit). */
  checkpointMiB: number;
}

const today: Candidate = { name: 'today', indexAll: true, timeOrderedIds: false, cacheMiB: 2, checkpointMiB: 40 };
const candidates: Candidate[] = [
  today,
  { ...today, name: 'cache 64 MiB', cacheMiB: 64 },
  { ...today, name: 'checkpoint 160 MiB', checkpointMiB: 160 },
  { ...today, name: 'time-ordered ids', timeOrderedIds: true },
  { ...today, name: 'lazy index', indexAll: false },
  { ...today, name: 'lazy index + time-ordered ids', indexAll: false, timeOrderedIds: true },
  { ...today, name: 'lazy + time-ordered + 64 MiB', indexAll: false, timeOrderedIds: true, cacheMiB: 64 },
  { ...today, name: 'all indexed + time-ordered + 64 MiB', timeOrderedIds: true, cacheMiB: 64 },
];

const BATCH = 1_000;
const PROPERTIES = [
  ['title', 'Text'],
  ['tag', 'Text'],
  ['count', 'Integer'],
  ['score', 'Real'],
  ['done', 'Bool'],
] as const;

const randomId = () => randomBytes(16).toString('hex');
const timeOrderedId = () => Date.now().toString(16).padStart(12, '0') + randomBytes(10).toString('hex');

function run(candidate: Candidate, items: number, dir: string): number[] {
  const path = join(dir, `${candidate.name.replaceAll(/[^a-z0-9]+/g, '-')}.db`);
  const db = openEncrypted(path, randomBytes(32), true);
  db.pragma(`cache_size=-${candidate.cacheMiB * 1024}`);
  const props = new Map<string, number>();
  for (const [name, valueType] of PROPERTIES) {
    db.prepare('INSERT OR IGNORE INTO properties (name, valueType) VALUES (?, ?)').run(name, valueType);
    props.set(name, (db.prepare('SELECT prop FROM properties WHERE name = ?').pluck().get(name) as number) ?? 0);
  }
  const insertItem = db.prepare(
    'INSERT INTO items (id, type, dateCreated, dateModified, dateServerModified, deleted, props, creator, creatorRun) ' +
      'VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL)',
  );
  const index = db.prepare('INSERT INTO property_values (prop, value, item) VALUES (?, ?, ?)');
  const text = db.prepare(SET_TEXT);
  const makeId = candidate.timeOrderedIds ? timeOrderedId : randomId;
  let dsm = Date.now();
  const bulk = db.transaction((from: number) => {
    dsm++;
    for (let i = from; i < from + BATCH; i++) {
      const values: [string, string | number][] = [
        ['title', `note number ${i} ${randomBytes(6).toString('hex')}`],
        ['tag', `tag-${i % 10_000}`],
        ['count', i],
        ['score', i / 7],
        ['done', i % 2 === 0 ? 1 : 0],
      ];
      const json = JSON.stringify(Object.fromEntries(values.map(([k, v]) => [k, k === 'done' ? v === 1 : v])));
      const now = Date.now();
      const row = Number(insertItem.run(makeId(), 'Note', now, now, dsm, json).lastInsertRowid);
      for (const [name, value] of values) {
        const prop = props.get(name) ?? 0;
        if (candidate.indexAll) index.run(prop, value, row);
        if (typeof value === 'string') text.run(row, prop, value);
      }
    }
  });
  const tenth = Math.max(BATCH, Math.floor(items / 10 / BATCH) * BATCH);
  const rates: number[] = [];
  let began = performance.now();
  for (let done = 0; done < items; done += BATCH) {
    bulk(done);
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (wal > candidate.checkpointMiB * 1024 * 1024) db.pragma('wal_checkpoint(PASSIVE)');
    if ((done + BATCH) % tenth === 0) {
      rates.push(tenth / ((performance.now() - began) / 1000));
      began = performance.now();
    }
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  rmSync(path, { force: true });
  return rates;
}

function main() {
  const options = new Command()
    .option('--items <n>', 'items per candidate', (v) => Number(v), 300_000)
    .option('--only <names>', 'comma-separated candidate names')
    .parse()
    .opts<{ items: number; only?: string }>();
  const chosen = options.only ? candidates.filter((c) => options.only?.split(',').includes(c.name)) : candidates;
  const dir = mkdtempSync(join(tmpdir(), 'pod-scale-layouts-'));
  console.log(`${options.items.toLocaleString('en-US')} items per candidate, bulks of ${BATCH}; items/s by tenth`);
  try {
    for (const candidate of chosen) {
      const began = performance.now();
      const rates = run(candidate, options.items, dir);
      const overall = options.items / ((performance.now() - began) / 1000);
      const first = rates[0] ?? 0;
      const last = rates.at(-1) ?? 0;
      console.log(
        `${candidate.name.padEnd(38)} ${rates.map((r) => Math.round(r).toString().padStart(6)).join(' ')}` +
          ` | all ${Math.round(overall)}  last/first ${((last / first) * 100).toFixed(0)}%`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
