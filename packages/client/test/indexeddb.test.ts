/**
 * IndexedDbStore in a real browser: the shared LocalStore suite in Chromium and what the store adds
 * (browser/indexeddb-suite.ts: pages, compaction, upgrading layout 1), each case reported here under
 * its own name, the replica outliving a reload, and the sync engine over IndexedDB
 * pulling from a real Pod, following its live feed and pushing a local edit. The page comes from a
 * loopback server of its own, so the Pod is called cross-origin (allowed: a loopback page).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PodClient } from '@pod/client';
import type { Browser, Page } from 'playwright-core';
import { benchBrowserSync } from '../bench/indexeddb.js';
import { Note } from '../bench/notes.js';
import { bundlePage, servePage, type TestPage } from './browser/bundle.js';
import { indexedDbSuite } from './browser/indexeddb-suite.js';
import { type Case, type CaseResult, collect } from './browser/runner.js';
import { chromiumSkip, launchChromium } from '@pod/server/testing';
import { localStoreSuite } from './local-store-suite.js';
import { startPod, type TestPod } from './pod.js';

const SUITE = 'IndexedDbStore in Chromium';
const skip = chromiumSkip();

let browser: Browser;
let served: TestPage;

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(served.url);
  await page.waitForFunction(() => window.podTest !== undefined);
  return page;
}

before(async () => {
  if (skip) return;
  served = await servePage(await bundlePage());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await served?.close();
});

/** Reports, each under its own name, the cases a page ran with `run`; `cases` are the same, collected here. */
function ranInBrowser(cases: Case[], run: (page: Page) => Promise<CaseResult[]>): void {
  let results: CaseResult[];
  before(async () => {
    const page = await openPage();
    results = await run(page);
    await page.close();
  });
  for (const { path, name } of cases)
    it(`${path.join(' > ')} > ${name}`, () => {
      const result = results.find((ran) => ran.name === name && ran.path.join() === path.join());
      assert.ok(result, 'the browser ran this case');
      if (result.error !== undefined) assert.fail(result.error);
    });
}

describe('the shared LocalStore suite in Chromium', { skip }, () => {
  ranInBrowser(
    collect((harness) => localStoreSuite(SUITE, () => assert.fail('only collected here, run in the browser'), harness)),
    (page) => page.evaluate((name) => window.podTest.runLocalStoreSuite(name), SUITE),
  );
});

describe('IndexedDbStore in Chromium: pages, compaction, upgrading layout 1', { skip }, () => {
  ranInBrowser(collect(indexedDbSuite), (page) => page.evaluate(() => window.podTest.runIndexedDbSuite()));
});

describe('the sync engine in Chromium, over IndexedDB', { skip }, () => {
  let pod: TestPod;
  let client: PodClient;
  before(async () => {
    pod = await startPod();
    client = new PodClient({ url: pod.url });
    await client.addToSchema(Note);
  });
  after(() => pod?.close());

  it('pulls from a Pod, follows its live feed, pushes a local edit, keeps the replica across a reload, deletes it', async () => {
    const keys = { url: pod.url, ownerKey: client.ownerKey, databaseKey: client.databaseKey! };
    const createItems = Array.from({ length: 250 }, (_, i) => ({ type: 'Note', title: `note ${i}`, count: i }));
    const created = (await client.call('bulk', { createItems })) as { createItems: string[] };
    const first = created.createItems[0]!;

    const page = await openPage();
    const { pulled } = await page.evaluate((keys) => window.podTest.openAndPull(keys, 'sync', 100), keys);
    assert.ok(pulled >= 250, `pulled ${pulled} items, in pages of 100`);
    assert.equal(await page.evaluate((id) => window.podTest.title(id), first), 'note 0');

    await page.evaluate(() => window.podTest.goLive());
    const live = await client.create(new Note({ title: 'written while the page is live' }));
    await page.evaluate((id) => window.podTest.waitForRemote(id), live.id);
    assert.equal(await page.evaluate((id) => window.podTest.title(id), live.id), 'written while the page is live');

    const pending = await page.evaluate((id) => window.podTest.editTitle(id, 'edited in the browser'), first);
    assert.equal(pending, 0, 'the Pod acknowledged the edit');
    assert.equal((await client.call('get_item', first))[0]?.title, 'edited in the browser');
    const held = await page.evaluate(() => window.podTest.held());
    await page.evaluate(() => window.podTest.stop());

    await page.reload();
    await page.waitForFunction(() => window.podTest !== undefined);
    const again = await page.evaluate((keys) => window.podTest.openAndPull(keys, 'sync'), keys);
    assert.equal(again.pulled, 0, 'after a reload the replica is there: nothing to pull again');
    assert.deepEqual(await page.evaluate(() => window.podTest.held()), held);
    assert.equal(held.notes, 251);
    assert.equal(await page.evaluate((id) => window.podTest.title(id), first), 'edited in the browser');

    await page.evaluate(() => window.podTest.deleteStore('sync'));
    await page.evaluate(() => window.podTest.stop());
    const fresh = await page.evaluate((keys) => window.podTest.openAndPull(keys, 'sync'), keys);
    assert.ok(fresh.pulled >= 251, `deleted while open, the replica starts over: pulled ${fresh.pulled}`);
    await page.evaluate(() => window.podTest.stop());
    await page.close();
  });
});

describe('the IndexedDB bench', { skip }, () => {
  it('measures initial sync, opening after a reload and single-item writes, IndexedDB in Chromium beside SQLite', async () => {
    const pod = await startPod();
    try {
      const figures = await benchBrowserSync(pod.url, { items: 3_000 });
      for (const store of [figures.indexedDb, figures.sqlite])
        assert.ok(store.itemsPerSecond > 0 && store.openMs > 0 && store.singleWriteP50Ms > 0, JSON.stringify(figures));
    } finally {
      await pod.close();
    }
  });
});
