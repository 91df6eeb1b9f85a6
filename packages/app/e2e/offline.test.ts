/**
 * Issue 14, local-first: the app keeps a replica in IndexedDB, works offline (browse, edit, create) and
 * pushes when back; an offline edit that meets a newer version on the Pod is an open conflict the owner
 * settles; two tabs of one owner share one replica kept by one of them; signing out keeps the replica
 * unless the owner forgets it. Real Pod, real Chromium, the Pod's state checked through the API.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PodClient } from '@pod/client';
import type { Page } from 'playwright-core';
import { noBrowser, screenshot, useLab } from './browser.js';

describe('the app: local-first', { skip: noBrowser }, () => {
  const lab = useLab();

  async function seededOwner() {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    await client.call('bulk', {
      createItems: [
        { type: 'ItemPropertySchema', itemType: 'Note', propertyName: 'title', valueType: 'Text' },
        { type: 'ItemPropertySchema', itemType: 'Note', propertyName: 'stars', valueType: 'Integer' },
      ],
    });
    const notes: string[] = [];
    for (const [title, stars] of [
      ['green tea recipe', 3],
      ['shopping list', 1],
    ] as const)
      notes.push(await client.call('create_item', { type: 'Note', title, stars }));
    return { client, notes };
  }

  const signInUrl = (client: PodClient) =>
    `${lab().pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${client.databaseKey}`;
  const syncStatus = (page: Page) => page.getByRole('status', { name: 'Sync' });
  const go = (page: Page, hash: string) => page.evaluate((to) => (location.hash = to), hash);

  /** Polls the Pod until `check` holds (the push follows the owner's action by a few milliseconds). */
  async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`never happened: ${what}`);
  }
  const titleOnPod = async (client: PodClient, id: string) => (await client.call('get_item', id))[0]?.title;

  test('offline: browse, edit and create; back online the new item reaches the Pod and the conflict is settled', async () => {
    const { client, notes } = await seededOwner();
    const edited = notes[0] as string;
    const { context, page, foreignRequests } = await lab().page();
    await page.goto(signInUrl(client));
    await syncStatus(page).getByText('Online and up to date').waitFor();
    await screenshot(page, 'sync-online');

    await context.setOffline(true);
    await syncStatus(page).getByText('Offline').waitFor();
    await page.getByRole('link', { name: 'Types' }).click();
    const types = page.getByRole('list', { name: 'Types and their items' });
    await types.getByRole('link', { name: 'Note' }).click();
    await page.getByRole('cell', { name: 'shopping list' }).waitFor();
    await page.getByText('2 items').waitFor();

    await go(page, `#/item/${edited}`);
    await page.getByRole('heading', { name: 'green tea recipe' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('title').fill('my offline title');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'my offline title' }).waitFor();
    await syncStatus(page).getByText('Offline: 1 change waiting').waitFor();

    await go(page, '#/new/Note');
    await page.getByLabel('title').fill('made offline');
    await page.getByLabel('stars').fill('4');
    await page.getByRole('button', { name: 'Create Note' }).click();
    await page.getByRole('heading', { name: 'made offline' }).waitFor();
    await syncStatus(page).getByText('Offline: 2 changes waiting').waitFor();
    await screenshot(page, 'sync-offline');
    assert.deepEqual(await client.call('search', { type: 'Note', title: 'made offline' }), [], 'nothing sent yet');

    // meanwhile another client changes the item edited offline
    await client.call('update_item', { id: edited, title: 'their title' });
    await context.setOffline(false);

    await eventually(
      async () => (await client.call('search', { type: 'Note', title: 'made offline' })).length === 1,
      'the item made offline reaches the Pod',
    );
    const [made] = await client.call('search', { type: 'Note', title: 'made offline' });
    assert.equal(made?.stars, 4);
    const settle = syncStatus(page).getByRole('link', { name: '1 conflict to settle' });
    await settle.waitFor();
    assert.equal(await titleOnPod(client, edited), 'their title', 'the offline edit overwrote nothing');
    await settle.click();
    const conflict = page.getByRole('region', { name: 'their title (Note)' });
    await conflict.waitFor();
    const row = conflict.getByRole('row', { name: /title/ });
    assert.deepEqual(await row.locator('th, td').allTextContents(), ['title', 'their title', 'my offline title']);
    await screenshot(page, 'sync-conflicts');
    await conflict.getByRole('button', { name: 'Keep mine' }).click();
    await page.getByText('No conflicts').waitFor();
    await eventually(async () => (await titleOnPod(client, edited)) === 'my offline title', 'mine kept on the Pod');
    await syncStatus(page).getByText('Online and up to date').waitFor();
    assert.deepEqual(foreignRequests, []);
  });

  test('keeping theirs drops the offline change; the Pod keeps its version', async () => {
    const { client, notes } = await seededOwner();
    const edited = notes[1] as string;
    const { context, page } = await lab().page();
    await page.goto(signInUrl(client));
    await syncStatus(page).getByText('Online and up to date').waitFor();
    await context.setOffline(true);
    await syncStatus(page).getByText('Offline').waitFor();
    await go(page, `#/item/${edited}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('stars').fill('5');
    await page.getByRole('button', { name: 'Save' }).click();
    await syncStatus(page).getByText('Offline: 1 change waiting').waitFor();
    await client.call('update_item', { id: edited, stars: 2 });
    await context.setOffline(false);
    await syncStatus(page).getByRole('link', { name: '1 conflict to settle' }).click();
    await page.getByRole('button', { name: 'Keep theirs' }).click();
    await page.getByText('No conflicts').waitFor();
    await go(page, `#/item/${edited}`);
    await page.getByRole('heading', { name: 'shopping list' }).waitFor();
    assert.ok((await page.getByRole('definition').allTextContents()).includes('2'), 'theirs shown');
    assert.equal((await client.call('get_item', edited))[0]?.stars, 2);
  });

  test('two tabs: one keeps the replica, the other uses the Pod, and takes the replica over when it closes', async () => {
    const { client, notes } = await seededOwner();
    const { context, page: first } = await lab().page();
    const bulks: string[] = [];
    const countBulks = (page: Page) =>
      page.on('request', (request) => request.url().endsWith('/bulk') && bulks.push(request.postData() ?? ''));
    countBulks(first);
    await first.goto(signInUrl(client));
    await syncStatus(first).getByText('Online and up to date').waitFor();
    const second = await context.newPage();
    countBulks(second);
    let secondFeeds = 0;
    second.on('request', (request) => {
      if (request.url().endsWith('/changes')) secondFeeds++;
    });
    await second.goto(signInUrl(client));
    await syncStatus(second).getByText('Another tab keeps').waitFor();
    await screenshot(second, 'sync-other-tab');

    // an edit in the second tab goes to the Pod, and the first tab's replica follows
    await go(first, '#/table/Note');
    await first.getByRole('cell', { name: 'shopping list' }).waitFor();
    await go(second, `#/item/${notes[1]}`);
    await second.getByRole('button', { name: 'Edit' }).click();
    await second.getByLabel('title').fill('from the second tab');
    await second.getByRole('button', { name: 'Save' }).click();
    await second.getByRole('heading', { name: 'from the second tab' }).waitFor();
    await first.getByRole('cell', { name: 'from the second tab' }).waitFor();
    assert.equal(bulks.length, 0, 'the second tab wrote through the Pod, not a replica of its own');

    // the second tab's open table is told of an edit in the first tab by it (BroadcastChannel: no feed of its own)
    await go(second, '#/table/Note');
    await second.getByRole('cell', { name: 'from the second tab' }).waitFor();
    // an edit in the first tab is pushed once
    await go(first, `#/item/${notes[0]}`);
    await first.getByRole('button', { name: 'Edit' }).click();
    await first.getByLabel('title').fill('from the first tab');
    await first.getByRole('button', { name: 'Save' }).click();
    await eventually(async () => (await titleOnPod(client, notes[0] as string)) === 'from the first tab', 'pushed');
    await second.getByRole('cell', { name: 'from the first tab' }).waitFor();
    assert.equal(secondFeeds, 1, "the second tab's one feed is the owner prompts' watcher: its data views have none");

    // the first tab closes: the second keeps the replica from now on, offline too
    await first.close();
    await syncStatus(second).getByText('Online and up to date').waitFor();
    await context.setOffline(true);
    await go(second, '#/table/Note');
    await second.getByRole('cell', { name: 'from the first tab' }).waitFor();
    await go(second, '#/new/Note');
    await second.getByLabel('title').fill('second tab, offline');
    await second.getByRole('button', { name: 'Create Note' }).click();
    await syncStatus(second).getByText('Offline: 1 change waiting').waitFor();
    await context.setOffline(false);
    await eventually(
      async () => (await client.call('search', { type: 'Note', title: 'second tab, offline' })).length === 1,
      'the second tab pushed',
    );
    await syncStatus(second).getByText('Online and up to date').waitFor();
    assert.equal(bulks.length, 2, 'each change pushed once, by the tab keeping the replica');
  });

  test("a reload while offline opens the app from the service worker's cache and the replica", async () => {
    const { client, notes } = await seededOwner();
    const { context, page } = await lab().page();
    await page.goto(signInUrl(client));
    await syncStatus(page).getByText('Online and up to date').waitFor();
    await page.waitForFunction(async () => {
      await navigator.serviceWorker.ready;
      return (await caches.match('/')) !== undefined;
    });
    await context.setOffline(true);
    await page.reload();
    const counts = page.getByRole('list', { name: 'Items by type' });
    await counts.getByText('Note').waitFor();
    assert.match((await counts.textContent()) ?? '', /Note\s*2/, 'counted from the replica');
    await syncStatus(page).getByText('Offline').waitFor();
    await go(page, `#/item/${notes[1]}`);
    await page.getByRole('heading', { name: 'shopping list' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('title').fill('edited after an offline reload');
    await page.getByRole('button', { name: 'Save' }).click();
    await syncStatus(page).getByText('Offline: 1 change waiting').waitFor();
    await screenshot(page, 'sync-offline-reload');
    await context.setOffline(false);
    await eventually(
      async () => (await titleOnPod(client, notes[1] as string)) === 'edited after an offline reload',
      'pushed once back online',
    );
    await syncStatus(page).getByText('Online and up to date').waitFor();
  });

  test('signing out keeps the replica for a fast reopen; "forget this browser\'s copy" deletes it', async () => {
    const { client } = await seededOwner();
    const { page } = await lab().page();
    const databases = () =>
      page.evaluate(async () =>
        (await indexedDB.databases()).flatMap(({ name }) => (name?.startsWith('pod-replica-') ? [name] : [])),
      );
    await page.goto(signInUrl(client));
    await syncStatus(page).getByText('Online and up to date').waitFor();
    assert.equal((await databases()).length, 1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('tab', { name: 'Open my Pod' }).waitFor();
    assert.equal((await databases()).length, 1, 'kept after signing out');
    const name = (await databases())[0] as string;
    assert.ok(!name.includes(client.ownerKey), 'the database name does not show the owner key');

    await page.getByLabel('Owner key').fill(client.ownerKey);
    await page.getByLabel('Database key').fill(client.databaseKey as string);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await syncStatus(page).getByText('Online and up to date').waitFor();
    await page.getByRole('button', { name: "Forget this browser's copy" }).click();
    await page.getByRole('tab', { name: 'Open my Pod' }).waitFor();
    assert.deepEqual(await databases(), [], 'deleted');
  });
});
