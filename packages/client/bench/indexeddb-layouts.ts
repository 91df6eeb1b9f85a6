/**
 * Layout experiments for the browser replica (issue 14's initial-sync goal): 100,000 Note-shaped
 * items written into IndexedDB in Chromium in transactions of 2,000 (relaxed durability), each layout
 * in a fresh database, items/s overall and by tenth. `node packages/client/dist/bench/indexeddb-layouts.js`
 * (docs: packages/client/README.md, IndexedDbStore).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromiumSkip, launchChromium } from '@pod/server/testing';

const LAYOUTS = {
  'one record per item, a type index (IndexedDbStore layout 1)': 'index',
  'one record per item, no index': 'noindex',
  'one record per item, out-of-line keys': 'outofline',
  'one record per page of 2,000 items': 'pages',
} as const;
type Layout = (typeof LAYOUTS)[keyof typeof LAYOUTS];

/** Runs in the page: fills a database laid out as `layout`, returns items/s overall and by tenth. */
async function fill(layout: Layout): Promise<{ all: number; tenths: number[] }> {
  const ITEMS = 100_000;
  const BATCH = 2_000;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(`layout-${layout}`, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore('items', layout === 'outofline' ? undefined : { keyPath: 'id' });
      if (layout === 'index') store.createIndex('type', 'type');
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const item = (i: number) => ({
    id: `${(1e12 + i).toString(16).padStart(12, '0')}abcdef0123456789abcd`,
    type: 'Note',
    dateCreated: 1,
    dateModified: 2,
    dateServerModified: i,
    deleted: false,
    title: `note number ${i} ${Math.random().toString(16).slice(2)}`,
    tag: `tag-${i % 10_000}`,
    count: i,
    score: i / 7,
    done: i % 2 === 0,
  });
  const tenths: number[] = [];
  const started = performance.now();
  let tenthStarted = started;
  for (let first = 0; first < ITEMS; first += BATCH) {
    const transaction = db.transaction('items', 'readwrite', { durability: 'relaxed' });
    const items = transaction.objectStore('items');
    const batch = Array.from({ length: BATCH }, (_, k) => item(first + k));
    if (layout === 'pages') items.put({ id: first, items: batch });
    else for (const one of batch) layout === 'outofline' ? items.put(one, one.id) : items.put(one);
    await new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onabort = () => reject(transaction.error);
    });
    if ((first + BATCH) % (ITEMS / 10) === 0) {
      const now = performance.now();
      tenths.push(Math.round(ITEMS / 10 / ((now - tenthStarted) / 1000)));
      tenthStarted = now;
    }
  }
  db.close();
  return { all: Math.round(ITEMS / ((performance.now() - started) / 1000)), tenths };
}

async function main() {
  const skip = chromiumSkip();
  if (skip) return console.log(`IndexedDB layouts skipped: ${skip}`);
  const server = createServer((_request, response) => response.end('<!doctype html><title>layouts</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    console.log('IndexedDB layouts in Chromium: 100,000 items in transactions of 2,000, items/s overall | by tenth');
    for (const [name, layout] of Object.entries(LAYOUTS)) {
      const { all, tenths } = await page.evaluate(fill, layout);
      console.log(`${name}: ${all.toLocaleString('en-US')} | ${tenths.join(' ')}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

await main();
