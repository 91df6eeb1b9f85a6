/**
 * The data views' figures (issue 14), in real Chromium against a real Pod: the first paint of a
 * 100,000-row table after a reload, read from the local replica (synced before the reloads), and a
 * change made in one tab shown in another tab's open table through the live feed. A script for
 * `npm run bench`, not a test; it prints each figure beside its goal.
 */
import { PodClient } from '@pod/client';
import type { BrowserContext } from 'playwright-core';
import { benchProgress } from '@pod/server/testing';
import { type Lab, noBrowser, startLab } from './browser.js';
import { seedRows } from './seed.js';

const ROWS = 100_000;
const RELOADS = 10;
const CHANGES = 50;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

declare global {
  interface Window {
    /** Set by the bench's init script: when the first data row was in the DOM, in ms since navigation start. */
    firstRowAt?: number;
    /** When each cell text starting with `live-` first appeared, in ms since the epoch (the tabs share a clock). */
    seenAt?: Record<string, number>;
  }
}

/** Runs in the page before the app: notes the first data row, and each `live-…` cell as it appears. */
function watchRows() {
  window.seenAt = {};
  new MutationObserver(() => {
    if (window.firstRowAt === undefined && document.querySelector('tbody tr:not(.loading) td a'))
      window.firstRowAt = performance.now();
    for (const cell of document.querySelectorAll('tbody td')) {
      const text = cell.textContent ?? '';
      if (text.startsWith('live-') && window.seenAt && !(text in window.seenAt))
        window.seenAt[text] = performance.timeOrigin + performance.now();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/** A page on a table, in a new browser profile or as another tab of `context` (sharing its replica). */
async function openTable(lab: Lab, client: PodClient, type: string, context?: BrowserContext) {
  const page = context ? await context.newPage() : (await lab.page()).page;
  await page.addInitScript(watchRows);
  await page.goto(`${lab.pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${client.databaseKey}`);
  await page.getByRole('heading', { name: 'Your data' }).waitFor();
  await page.evaluate((hash) => (location.hash = hash), `#/table/${type}`);
  await page.waitForFunction(() => window.firstRowAt !== undefined);
  return page;
}

if (noBrowser) {
  console.log(`app data bench skipped: ${noBrowser}`);
} else {
  const stage = benchProgress('app data bench', 5);
  const lab = await startLab();
  try {
    stage(`seeding ${ROWS.toLocaleString('en-US')} items`);
    const client = new PodClient({ url: lab.pod.url });
    await client.registerAccount();
    await seedRows(client, ROWS);

    stage(`the first copy of ${ROWS.toLocaleString('en-US')} items into this browser's replica`);
    const copyStart = performance.now();
    const table = await openTable(lab, client, 'Row');
    const synced = table.getByRole('status', { name: 'Sync' }).getByText('Online and up to date');
    await synced.waitFor({ timeout: 900_000 });
    const copySeconds = (performance.now() - copyStart) / 1000;

    stage(`first paint of the ${ROWS.toLocaleString('en-US')}-row table from the replica, ${RELOADS} reloads`);
    // Rows read from the Pod before the first paint would mean the replica did not answer it.
    let podReads = 0;
    table.on('request', (request) => {
      if (/\/(search|graphql|summary)$/.test(request.url()) && request.postData()?.includes('Row')) podReads++;
    });
    const paints: number[] = [];
    const podReadsBeforePaint: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      podReads = 0;
      await table.reload();
      await table.waitForFunction(() => window.firstRowAt !== undefined);
      podReadsBeforePaint.push(podReads);
      paints.push(await table.evaluate(() => window.firstRowAt as number));
    }

    stage(`a change in one tab shown in another, ${CHANGES} changes`);
    for (const [propertyName, valueType] of [
      ['n', 'Integer'],
      ['label', 'Text'],
    ])
      await client.call('create_item', { type: 'ItemPropertySchema', itemType: 'Pulse', propertyName, valueType });
    const pulses = Array.from({ length: 20 }, (_, n) => ({ type: 'Pulse', n, label: `pulse ${n}` }));
    await client.call('bulk', { createItems: pulses });
    const ids = (await client.call('search', { type: 'Pulse' })).map(({ id }) => id);
    // Tabs of the profile whose replica is synced: the watcher keeps the replica once the first tab closes,
    // so a change reaches its table through the feed, the replica and its change events.
    const watcher = await openTable(lab, client, 'Pulse', table.context());
    const writer = await openTable(lab, client, 'Row', table.context());
    await table.close();
    await watcher.getByRole('status', { name: 'Sync' }).getByText('Online and up to date').waitFor();
    await watcher.getByText('20 items').waitFor();
    const latencies: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const label = `live-${i}`;
      // the writing tab changes an item through the API with the keys it signed in with, as the app does
      const sentAt = await writer.evaluate(
        async ({ id, label }) => {
          const keys = JSON.parse(sessionStorage.getItem('pod.keys') ?? '{}');
          const sentAt = performance.timeOrigin + performance.now();
          const answer = await fetch(`/v4/${keys.ownerKey}/update_item`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              auth: { type: 'ClientAuth', databaseKey: keys.databaseKey },
              payload: { id, label },
            }),
          });
          if (!answer.ok) throw new Error(`update_item answered ${answer.status}`);
          return sentAt;
        },
        { id: ids[i % ids.length] as string, label },
      );
      await watcher.waitForFunction((label) => window.seenAt?.[label] !== undefined, label);
      latencies.push((await watcher.evaluate((label) => window.seenAt?.[label] as number, label)) - sentAt);
    }

    stage('done');
    console.log(
      `first copy of ${ROWS.toLocaleString('en-US')} items into the app's replica (sign-in to up to date): ${copySeconds.toFixed(1)} s`,
    );
    console.log(
      `first paint of the ${ROWS.toLocaleString('en-US')}-row table after a reload (rows read from the local replica; reads of the table from the Pod before it: ${Math.max(...podReadsBeforePaint)}), p50 of ${RELOADS}: ${median(paints).toFixed(0)} ms (goal ≤ 1,000 ms)`,
    );
    console.log(
      `a change made in one tab shown in another tab's open table through the live feed and the replica, p50 of ${CHANGES}: ${median(latencies).toFixed(1)} ms (goal ≤ 50 ms)`,
    );
  } finally {
    await lab.close();
  }
}
