/**
 * Initial sync of 100,000 items into IndexedDB in Chromium, opening that replica again after a
 * reload, and writing one item at a time into it (as the live feed does), beside the same into an
 * encrypted SQLite replica in Node, from the same Pod in the same run. Run directly, it starts a
 * Pod of its own and prints the figures (skipped, saying why, without Chromium).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  benchProgress,
  quiet,
  startPodProcess,
  type Progress,
  chromiumSkip,
  launchChromium,
} from '@pod/server/testing';
import { PodClient, SyncEngine } from '@pod/client';
import { SqliteStore } from '@pod/client/node';
import { bundlePage, servePage } from '../test/browser/bundle.js';
import { Note, seedNotes } from './notes.js';

export interface StoreFigures {
  /** Initial sync. */
  itemsPerSecond: number;
  /** Opening the store that sync filled, ready to answer. */
  openMs: number;
  /** One write of one item (a newer version and the cursor), the median of SINGLE_WRITES. */
  singleWriteP50Ms: number;
}

export interface BrowserSyncFigures {
  indexedDb: StoreFigures;
  sqlite: StoreFigures;
}

/** Pages as large as the SQLite figure's in bench/sync.ts. */
const PAGE_SIZE = 2_000;
/** Single-item writes timed per store: enough to start IndexedDbStore's compaction several times. */
const SINGLE_WRITES = 200;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** SINGLE_WRITES writes of one Note each into `store`, as the live feed makes them: ms each. */
function singleItemWrites(store: SqliteStore): number[] {
  let cursor = store.cursor();
  return store
    .itemsOfType('Note')
    .slice(0, SINGLE_WRITES)
    .map((item) => {
      const started = performance.now();
      store.write({ items: [{ ...item, title: 'changed', dateServerModified: ++cursor }], cursor });
      return performance.now() - started;
    });
}

/** The figures against the Pod at `url`; `items` is smaller in the test that keeps this bench working. */
export async function benchBrowserSync(
  url: string,
  { items = 100_000, stage = quiet }: { items?: number; stage?: Progress } = {},
): Promise<BrowserSyncFigures> {
  stage(`seeding the Pod with ${items.toLocaleString('en-US')} items`);
  const keys = await seedNotes(url, items);

  stage('initial sync into an encrypted SQLite replica, in Node');
  const dir = mkdtempSync(join(tmpdir(), 'pod-indexeddb-bench-'));
  const file = join(dir, 'replica.db');
  const key = PodClient.generateKey();
  let sqlite: StoreFigures;
  try {
    const store = new SqliteStore(file, { key });
    let itemsPerSecond: number;
    try {
      const engine = await SyncEngine.open({
        client: new PodClient(keys),
        store,
        schema: [Note],
        pullPageSize: PAGE_SIZE,
      });
      const started = performance.now();
      const pulled = await engine.pull();
      itemsPerSecond = pulled / ((performance.now() - started) / 1000);
      if (pulled < items) throw new Error(`the SQLite replica pulled ${pulled} items of ${items}`);
    } finally {
      store.close();
    }
    const started = performance.now();
    const reopened = new SqliteStore(file, { key });
    try {
      // Ready to answer: its first read done (SQLite opens lazily).
      reopened.cursor();
      const openMs = performance.now() - started;
      sqlite = { itemsPerSecond, openMs, singleWriteP50Ms: median(singleItemWrites(reopened)) };
    } finally {
      reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  stage('initial sync into IndexedDB, in Chromium; a reload; single-item writes');
  const served = await servePage(await bundlePage());
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    await page.waitForFunction(() => window.podTest !== undefined);
    const { pulled, ms } = await page.evaluate(
      ({ keys, pageSize }) => window.podTest.openAndPull(keys, 'bench', pageSize),
      { keys, pageSize: PAGE_SIZE },
    );
    await page.evaluate(() => window.podTest.stop());
    if (pulled < items) throw new Error(`the IndexedDB replica pulled ${pulled} items of ${items}`);
    await page.reload();
    await page.waitForFunction(() => window.podTest !== undefined);
    const opened = await page.evaluate(() => window.podTest.reopen('bench'));
    if (opened.items < pulled) throw new Error(`reopened, the IndexedDB replica holds ${opened.items} of ${pulled}`);
    const writes = await page.evaluate((count) => window.podTest.singleItemWrites(count), SINGLE_WRITES);
    await page.evaluate(() => window.podTest.stop());
    const indexedDb = { itemsPerSecond: pulled / (ms / 1000), openMs: opened.ms, singleWriteP50Ms: median(writes) };
    return { indexedDb, sqlite };
  } finally {
    await browser.close();
    await served.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const skip = chromiumSkip();
  if (skip) {
    console.log(`initial sync into IndexedDB in Chromium: skipped, ${skip}`);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'pod-indexeddb-bench-pod-'));
    const pod = await startPodProcess(dir);
    try {
      const figures = await benchBrowserSync(pod.url, { stage: benchProgress('IndexedDB bench', 3) });
      const { indexedDb, sqlite } = figures;
      const perSecond = (value: number) => Math.round(value).toLocaleString('en-US');
      const ms = (value: number) => (value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en-US'));
      console.log(
        `initial sync of 100,000 items into IndexedDB in Chromium: ${perSecond(indexedDb.itemsPerSecond)} items/s (goal ≥ 10,000); ` +
          `the same into an encrypted SQLite replica in Node, this run: ${perSecond(sqlite.itemsPerSecond)} items/s`,
      );
      console.log(
        `opening that IndexedDB replica of 100,000 items after a reload: ${ms(indexedDb.openMs)} ms ` +
          `(SQLite: ${ms(sqlite.openMs)} ms); a single-item write, p50 of ${SINGLE_WRITES}: ` +
          `${ms(indexedDb.singleWriteP50Ms)} ms (SQLite: ${ms(sqlite.singleWriteP50Ms)} ms)`,
      );
    } finally {
      await pod.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
