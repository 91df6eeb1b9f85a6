/**
 * Initial sync of 100,000 items into IndexedDB in Chromium, beside the same sync into an
 * encrypted SQLite replica in Node, from the same Pod in the same run. Run directly, it starts a
 * Pod of its own and prints both figures (skipped, saying why, without Chromium).
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

export interface BrowserSyncFigures {
  indexedDbItemsPerSecond: number;
  sqliteItemsPerSecond: number;
}

/** Pages as large as the SQLite figure's in bench/sync.ts. */
const PAGE_SIZE = 2_000;

/** Both figures against the Pod at `url`; `items` is smaller in the test that keeps this bench working. */
export async function benchBrowserSync(
  url: string,
  { items = 100_000, stage = quiet }: { items?: number; stage?: Progress } = {},
): Promise<BrowserSyncFigures> {
  stage(`seeding the Pod with ${items.toLocaleString('en-US')} items`);
  const keys = await seedNotes(url, items);

  stage('initial sync into an encrypted SQLite replica, in Node');
  const dir = mkdtempSync(join(tmpdir(), 'pod-indexeddb-bench-'));
  const store = new SqliteStore(join(dir, 'replica.db'), { key: PodClient.generateKey() });
  let sqliteItemsPerSecond: number;
  try {
    const engine = await SyncEngine.open({
      client: new PodClient(keys),
      store,
      schema: [Note],
      pullPageSize: PAGE_SIZE,
    });
    const started = performance.now();
    const pulled = await engine.pull();
    sqliteItemsPerSecond = pulled / ((performance.now() - started) / 1000);
    if (pulled < items) throw new Error(`the SQLite replica pulled ${pulled} items of ${items}`);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  stage('initial sync into IndexedDB, in Chromium');
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
    return { indexedDbItemsPerSecond: pulled / (ms / 1000), sqliteItemsPerSecond };
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
      const perSecond = (value: number) => Math.round(value).toLocaleString('en-US');
      console.log(
        `initial sync of 100,000 items into IndexedDB in Chromium: ${perSecond(figures.indexedDbItemsPerSecond)} items/s (goal ≥ 10,000); ` +
          `the same into an encrypted SQLite replica in Node, this run: ${perSecond(figures.sqliteItemsPerSecond)} items/s`,
      );
    } finally {
      await pod.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
