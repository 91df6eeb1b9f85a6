/**
 * Layout experiments for issue 13 (one owner with millions of items), in-process, no HTTP: an
 * encrypted database of the Pod's layout (openEncrypted runs its migrations) filled with the writes
 * the store makes for `npm run bench`'s items (5 properties, bulks of 1,000), reported by tenth.
 * Candidates change one thing at a time against the layout before issue 13 (`today`): which properties
 * get equality-index rows, how the Pod makes ids, the page cache, checkpoints (and, to see its share,
 * no full text); the second round's against the layout that came of it (`now`): FTS5's merge settings,
 * plain inserts of new text, cache, checkpoints, and the shares of the `tag` index, `items_by_type` and
 * full text (docs/storage.md has both rounds' figures).
 * They run interleaved, one bulk each in turn, so that the load of a shared machine falls on all alike.
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
  /** Equality-index rows: for every property (today), none (no filter used yet) or `tag` (filtered on). */
  indexed: 'all' | 'none' | 'tag';
  /** Ids the Pod makes: random (today) or time-ordered (a millisecond prefix, then random). */
  timeOrderedIds: boolean;
  cacheMiB: number;
  /** The WAL size at which the pool checkpoints (PASSIVE, after a commit). */
  checkpointMiB: number;
  /** The full-text index of Text values (not a candidate to drop: shows its share of the cost). */
  fullText: boolean;
  /** FTS5's `automerge` and `crisismerge` (SQLite's defaults 4 and 16): how eagerly segments merge. */
  ftsAutomerge?: number;
  ftsCrisismerge?: number;
  /** New rows' text by `INSERT OR REPLACE` (the store's one statement for new and changed rows) or plain `INSERT`. */
  ftsReplace: boolean;
  /** The `items_by_type` index (not a candidate to drop: its share). */
  itemsByType: boolean;
}

const today: Candidate = {
  name: 'today',
  indexed: 'all',
  timeOrderedIds: false,
  cacheMiB: 2,
  checkpointMiB: 40,
  fullText: true,
  ftsReplace: true,
  itemsByType: true,
};
/** The layout since the first round of issue 13: lazy indexes, time-ordered ids, a lone owner's cache share. */
const now: Candidate = { ...today, name: 'now', indexed: 'tag', timeOrderedIds: true, cacheMiB: 128 };
const candidates: Candidate[] = [
  today,
  { ...today, name: 'cache 128 MiB', cacheMiB: 128 },
  { ...today, name: 'checkpoint 160 MiB', checkpointMiB: 160 },
  { ...today, name: 'time-ordered ids', timeOrderedIds: true },
  { ...today, name: 'lazy index (none used)', indexed: 'none' },
  { ...today, name: 'lazy index (tag used)', indexed: 'tag' },
  { ...today, name: 'lazy (tag) + time ids + 128 MiB', indexed: 'tag', timeOrderedIds: true, cacheMiB: 128 },
  { ...today, name: 'no full text (for its share)', fullText: false },
  // The second round: what still grows in `now`.
  now,
  { ...now, name: 'now + automerge 8', ftsAutomerge: 8 },
  { ...now, name: 'now + automerge 16', ftsAutomerge: 16, ftsCrisismerge: 32 },
  { ...now, name: 'now + fts plain insert', ftsReplace: false },
  { ...now, name: 'now + cache 256 MiB', cacheMiB: 256 },
  { ...now, name: 'now + checkpoint 160 MiB', checkpointMiB: 160 },
  { ...now, name: 'now + no tag index (share)', indexed: 'none' },
  { ...now, name: 'now + no items_by_type (share)', itemsByType: false },
  { ...now, name: 'now + no full text (share)', fullText: false },
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

/** A candidate's database, filled one bulk at a time; `bulk` answers its milliseconds. */
function open(candidate: Candidate, dir: string) {
  const path = join(dir, `${candidate.name.replaceAll(/[^a-z0-9]+/g, '-')}.db`);
  const db = openEncrypted(path, randomBytes(32), true);
  db.pragma(`cache_size=-${candidate.cacheMiB * 1024}`);
  if (!candidate.itemsByType) db.exec('DROP INDEX items_by_type');
  // FTS5 takes its commands as literals (a bound one is an SQL logic error).
  for (const [option, value] of [
    ['automerge', candidate.ftsAutomerge],
    ['crisismerge', candidate.ftsCrisismerge],
  ] as const)
    if (value !== undefined) db.exec(`INSERT INTO fulltext (fulltext, rank) VALUES ('${option}', ${value})`);
  const props = new Map<string, number>();
  for (const [name, valueType] of PROPERTIES) {
    db.prepare('INSERT OR IGNORE INTO properties (name, valueType) VALUES (?, ?)').run(name, valueType);
    props.set(name, (db.prepare('SELECT prop FROM properties WHERE name = ?').pluck().get(name) as number) ?? 0);
  }
  const insertItem = db.prepare(
    'INSERT INTO items (id, type, dateCreated, dateModified, dateServerModified, deleted, props, creator, creatorRun) ' +
      'VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL)',
  );
  // the equality index as the Pod now keeps it, ordered by date within a value (ordered-index.ts)
  const index = db.prepare('INSERT INTO property_order (prop, value, dsm, item) VALUES (?, ?, ?, ?)');
  const text = db.prepare(candidate.ftsReplace ? SET_TEXT : SET_TEXT.replace('INSERT OR REPLACE', 'INSERT'));
  const makeId = candidate.timeOrderedIds ? timeOrderedId : randomId;
  const indexes = (name: string) => candidate.indexed === 'all' || (candidate.indexed === 'tag' && name === 'tag');
  let dsm = Date.now();
  const write = db.transaction((from: number) => {
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
        if (indexes(name)) index.run(prop, value, dsm, row);
        if (candidate.fullText && typeof value === 'string') text.run(row, prop, value);
      }
    }
  });
  return {
    bulk(from: number): number {
      const began = performance.now();
      write(from);
      const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      if (wal > candidate.checkpointMiB * 1024 * 1024) db.pragma('wal_checkpoint(PASSIVE)');
      return performance.now() - began;
    },
    close() {
      db.close();
      rmSync(path, { force: true });
    },
  };
}

function main() {
  const options = new Command()
    .option('--items <n>', 'items per candidate', (v) => Number(v), 300_000)
    .option('--only <names>', 'comma-separated candidate names')
    .parse()
    .opts<{ items: number; only?: string }>();
  const chosen = options.only ? candidates.filter((c) => options.only?.split(',').includes(c.name)) : candidates;
  const dir = mkdtempSync(join(tmpdir(), 'pod-scale-layouts-'));
  const tenth = Math.max(BATCH, Math.floor(options.items / 10 / BATCH) * BATCH);
  console.log(
    `${options.items.toLocaleString('en-US')} items per candidate in bulks of ${BATCH}, candidates in turn; ` +
      'items/s by tenth',
  );
  const filling = chosen.map((candidate) => ({
    candidate,
    db: open(candidate, dir),
    ms: 0,
    tenthMs: 0,
    rates: [] as number[],
  }));
  try {
    for (let done = 0; done < options.items; done += BATCH) {
      for (const f of filling) {
        const took = f.db.bulk(done);
        f.ms += took;
        f.tenthMs += took;
      }
      if ((done + BATCH) % tenth === 0) {
        for (const f of filling) {
          f.rates.push(tenth / (f.tenthMs / 1000));
          f.tenthMs = 0;
        }
        const rates = filling.map((f) => `${f.candidate.name} ${Math.round(f.rates.at(-1) ?? 0)}`).join(', ');
        process.stderr.write(`scale-layouts: ${(done + BATCH).toLocaleString('en-US')} items each: ${rates}\n`);
      }
    }
    for (const { candidate, ms, rates } of filling) {
      const first = rates[0] ?? 0;
      const last = rates.at(-1) ?? 0;
      console.log(
        `${candidate.name.padEnd(32)} ${rates.map((r) => Math.round(r).toString().padStart(6)).join(' ')}` +
          ` | all ${Math.round(options.items / (ms / 1000))}  last/first ${((last / first) * 100).toFixed(0)}%`,
      );
    }
  } finally {
    for (const f of filling) f.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
