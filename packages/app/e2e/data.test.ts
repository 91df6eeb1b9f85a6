/**
 * Issue 14, the data views through the UI as a person uses them, checked against the Pod's real state
 * through the API: types and counts, a table sorted and filtered, an item with its edges both ways,
 * create/edit/delete, a conflicting edit shown and not overwritten, search, adding a property, live
 * updates, a 100,000-item type that opens and scrolls to its end, phone width. Real Pod, real Chromium.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PodClient } from '@pod/client';
import type { Page } from 'playwright-core';
import { noBrowser, screenshot, useLab } from './browser.js';
import { seedRows } from './seed.js';

/** The notes in the Pod's order: the edge from the second moved it last (an edge bumps its source). */
const SEEDED_ORDER = ['green tea recipe', 'shopping list', 'analytical engine notes'];
const NOTE_SCHEMA = { title: 'Text', stars: 'Integer', weight: 'Real', done: 'Bool', due: 'DateTime' } as const;

describe('the app: data views', { skip: noBrowser }, () => {
  const lab = useLab();

  /** An owner (with an account, as the app makes them) holding notes by a person, made through the API. */
  async function seededOwner() {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    const declarations = [
      ...Object.entries(NOTE_SCHEMA).map(([propertyName, valueType]) => ({
        itemType: 'Note',
        propertyName,
        valueType,
      })),
      { itemType: 'Person', propertyName: 'displayName', valueType: 'Text' },
    ].map((declaration) => ({ type: 'ItemPropertySchema', ...declaration }));
    await client.call('bulk', { createItems: declarations });
    const ada = await client.call('create_item', { type: 'Person', displayName: 'Ada Lovelace' });
    const notes: string[] = [];
    for (const [title, stars, done] of [
      ['green tea recipe', 3, false],
      ['analytical engine notes', 5, true],
      ['shopping list', 1, false],
    ] as const) {
      const id = await client.call('create_item', { type: 'Note', title, stars, done, weight: stars / 2, due: 1.7e12 });
      notes.push(id);
    }
    await client.call('create_edge', { _source: notes[1] as string, _target: ada, _name: 'author' });
    return { client, ada, notes };
  }

  async function openApp(client: PodClient, route = '', width?: number) {
    const { page, foreignRequests } = await lab().page();
    if (width) await page.setViewportSize({ width, height: 844 });
    await page.goto(`${lab().pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${client.databaseKey}`);
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    if (route) await page.evaluate((hash) => (location.hash = hash), route);
    return { page, foreignRequests };
  }

  /** The body rows' cells, as text, in order. */
  const rowTexts = (page: Page) =>
    page.locator('tbody tr:not(.loading)').evaluateAll((rows) =>
      rows
        .map((row) => ({
          top: row.getBoundingClientRect().top,
          cells: [...row.children].map((cell) => cell.textContent ?? ''),
        }))
        .sort((a, b) => a.top - b.top)
        .map(({ cells }) => cells),
    );
  const column = async (page: Page, name: string) => {
    const headers = await page.locator('thead th').allTextContents();
    const index = headers.findIndex((text) => text.replace(/[▲▼]/g, '').trim() === name);
    return (await rowTexts(page)).map((cells) => cells[index]);
  };
  const waitForColumn = async (page: Page, name: string, expected: string[]) => {
    for (let i = 0; i < 200; i++) {
      if (JSON.stringify(await column(page, name)) === JSON.stringify(expected)) return;
      await page.waitForTimeout(25);
    }
    assert.deepEqual(await column(page, name), expected);
  };

  test('types with counts lead to a table that sorts by a column and filters by typed conditions', async () => {
    const { client } = await seededOwner();
    const { page, foreignRequests } = await openApp(client);
    await page.getByRole('link', { name: 'Types' }).click();
    const types = page.getByRole('list', { name: 'Types and their items' });
    await types.getByRole('link', { name: 'Note' }).waitFor();
    assert.match((await types.textContent()) ?? '', /Note\s*3 items/);
    assert.match((await types.textContent()) ?? '', /Person\s*1 item/);
    await screenshot(page, 'data-types');
    await types.getByRole('link', { name: 'Note' }).click();
    await page.getByRole('heading', { name: 'Note' }).waitFor();
    await page.getByText('3 items').waitFor();
    const headers = (await page.locator('thead th').allTextContents()).map((text) => text.trim());
    assert.deepEqual(headers, ['id', 'done', 'due', 'stars', 'title', 'weight'], 'a column per declared property');
    await waitForColumn(page, 'title', SEEDED_ORDER);

    await page.getByRole('button', { name: 'stars' }).click();
    await waitForColumn(page, 'stars', ['1', '3', '5']);
    assert.equal(await page.getByRole('columnheader', { name: 'stars' }).getAttribute('aria-sort'), 'ascending');
    await page.getByRole('button', { name: 'stars' }).click();
    await waitForColumn(page, 'stars', ['5', '3', '1']);
    await screenshot(page, 'data-table-sorted');

    const filters = page.getByRole('form', { name: 'Add a filter' });
    await filters.getByLabel('Property').selectOption('stars');
    await filters.getByLabel('Condition').selectOption({ label: '≥' });
    await filters.getByLabel('Value').fill('3');
    await filters.getByRole('button', { name: 'Add filter' }).click();
    await page.getByText('2 items match').waitFor();
    await waitForColumn(page, 'stars', ['5', '3']);
    await filters.getByLabel('Property').selectOption('done');
    await filters.getByLabel('Value').selectOption('true');
    await filters.getByRole('button', { name: 'Add filter' }).click();
    await waitForColumn(page, 'title', ['analytical engine notes']);
    await page.getByRole('button', { name: 'Remove filter stars ≥ 3' }).click();
    await page.getByRole('button', { name: 'Remove filter done is yes' }).click();
    await filters.getByLabel('Property').selectOption('title');
    await filters.getByLabel('Value').fill('tea');
    await filters.getByRole('button', { name: 'Add filter' }).click();
    await waitForColumn(page, 'title', ['green tea recipe']);
    await screenshot(page, 'data-table-filtered');
    // a value that is no number says what to type, and adds nothing
    await page.getByRole('button', { name: 'Remove filter title contains the words "tea"' }).click();
    await filters.getByLabel('Property').selectOption('due');
    await filters.getByRole('button', { name: 'Add filter' }).click();
    await filters.getByRole('alert').filter({ hasText: 'Type a value' }).waitFor();
    assert.deepEqual(foreignRequests, []);
  });

  test('an item shows every property and its edges both ways, each a link', async () => {
    const { client, notes, ada } = await seededOwner();
    const { page } = await openApp(client, `#/item/${notes[1]}`);
    await page.getByRole('heading', { name: 'analytical engine notes' }).waitFor();
    const properties = page.getByRole('definition');
    assert.ok((await properties.allTextContents()).includes('5'), 'stars shown');
    await screenshot(page, 'data-item');
    const outgoing = page.getByRole('region', { name: 'Edges from this item' });
    await outgoing.getByRole('heading', { name: '→ author' }).waitFor();
    await outgoing.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/item/${ada}`);
    const incoming = page.getByRole('region', { name: 'Edges to this item' });
    await incoming.getByRole('heading', { name: '← author' }).waitFor();
    await incoming.getByRole('link', { name: 'analytical engine notes' }).click();
    await page.getByRole('heading', { name: 'analytical engine notes' }).waitFor();
  });

  test('create, edit and delete through the UI change the Pod', async () => {
    const { client } = await seededOwner();
    const { page } = await openApp(client, '#/table/Note');
    await page.getByRole('link', { name: 'New Note' }).click();
    await page.getByLabel('title').fill('written in the app');
    await page.getByLabel('stars').fill('4.5');
    await page.getByLabel('done').selectOption('true');
    await page.getByLabel('due').fill('2026-03-01T12:30:00.000');
    await screenshot(page, 'data-item-new');
    await page.getByRole('button', { name: 'Create Note' }).click();
    await page.getByText('Type a whole number').waitFor();
    assert.equal((await client.call('search', { type: 'Note', title: 'written in the app' })).length, 0);
    await page.getByLabel('stars').fill('4');
    await page.getByRole('button', { name: 'Create Note' }).click();
    await page.getByRole('heading', { name: 'written in the app' }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    const [created] = await client.call('get_item', id);
    assert.equal(created?.stars, 4);
    assert.equal(created?.done, true);
    assert.equal(created?.due, new Date(2026, 2, 1, 12, 30).getTime(), 'local time as the owner typed it');
    assert.equal('weight' in (created ?? {}), false, 'an empty input sets nothing');

    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('title').fill('edited in the app');
    await page.getByLabel('weight').fill('2.25');
    await screenshot(page, 'data-item-edit');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'edited in the app' }).waitFor();
    const [edited] = await client.call('get_item', id);
    assert.equal(edited?.title, 'edited in the app');
    assert.equal(edited?.weight, 2.25);
    assert.equal(edited?.stars, 4, 'untouched properties stay');

    const remove = page.getByRole('button', { name: 'Delete' });
    await remove.click();
    const dialog = page.getByRole('dialog', { name: 'Delete this Note?' });
    await dialog.waitFor();
    await screenshot(page, 'data-item-delete');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await remove.evaluate((button) => button === document.activeElement), true, 'focus back on Delete');
    assert.equal((await client.call('get_item', id)).length, 1, 'Escape deletes nothing');
    await remove.click();
    await dialog.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByRole('heading', { name: 'Note', exact: true }).waitFor();
    assert.deepEqual(await client.call('get_item', id), [], 'deleted (an account hides deleted items)');
  });

  test('an edit that meets a change made meanwhile shows both versions and overwrites nothing', async () => {
    const { client, notes } = await seededOwner();
    const id = notes[0] as string;
    const { page } = await openApp(client, `#/item/${id}`);
    await page.getByRole('heading', { name: 'green tea recipe' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('title').fill('my title');
    await client.call('update_item', { id, title: 'their title' });
    await page.getByRole('alert').filter({ hasText: 'changed on the Pod after you opened it' }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    const conflict = page.getByRole('alert').filter({ hasText: 'changed on the Pod while you edited it' });
    await conflict.waitFor();
    assert.match((await conflict.textContent()) ?? '', /green tea recipe.*their title.*my title/);
    assert.equal((await client.call('get_item', id))[0]?.title, 'their title', 'nothing overwritten');
    await screenshot(page, 'data-item-conflict');
    await conflict.getByRole('button', { name: 'Save mine over theirs' }).click();
    await page.getByRole('heading', { name: 'my title' }).waitFor();
    assert.equal((await client.call('get_item', id))[0]?.title, 'my title', 'the owner chose theirs to go');
  });

  test('search finds words across the data and links to the items', async () => {
    const { client, ada } = await seededOwner();
    const { page } = await openApp(client);
    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByLabel('Words to find').fill('lovel*');
    await page.getByLabel('Words to find').press('Enter');
    const results = page.getByRole('list', { name: 'Results' });
    await results.getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    await screenshot(page, 'data-search');
    await results.getByRole('link', { name: 'Ada Lovelace' }).click();
    assert.equal(new URL(page.url()).hash, `#/item/${ada}`);
    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByLabel('Words to find').fill('nothing-like-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Nothing found').waitFor();
  });

  test('the schema lists types, properties and value types; a property is added, a bad one explained', async () => {
    const { client } = await seededOwner();
    const { page } = await openApp(client, '#/schema');
    const notes = page.getByRole('region', { name: 'Note' });
    await notes.getByRole('cell', { name: 'stars' }).waitFor();
    assert.match((await notes.textContent()) ?? '', /starsInteger/);
    const form = page.getByRole('form', { name: 'Add a property' });
    await form.getByLabel('Item type').fill('Note');
    await form.getByLabel('Property name').fill('2bad name');
    await form.getByRole('button', { name: 'Add property' }).click();
    await form.getByRole('alert').filter({ hasText: 'letters, digits' }).waitFor();
    await form.getByLabel('Property name').fill('stars');
    await form.getByRole('button', { name: 'Add property' }).click();
    await form.getByRole('alert').filter({ hasText: 'already a Integer property' }).waitFor();
    await form.getByLabel('Property name').fill('colour');
    await form.getByLabel('Value type').selectOption('Text');
    await form.getByRole('button', { name: 'Add property' }).click();
    await notes.getByRole('cell', { name: 'colour' }).waitFor();
    await screenshot(page, 'data-schema');
    const declared = await client.call('search', { type: 'ItemPropertySchema', propertyName: 'colour' });
    assert.deepEqual(
      declared.map(({ itemType, valueType }) => [itemType, valueType]),
      [['Note', 'Text']],
    );
    await client.call('create_item', { type: 'Note', title: 'with colour', colour: 'teal' }); // the Pod takes it
  });

  test('a change made through the API appears in the open table and in the counts', async () => {
    const { client, notes } = await seededOwner();
    const { page } = await openApp(client, '#/table/Note');
    await waitForColumn(page, 'title', SEEDED_ORDER);
    await client.call('update_item', { id: notes[2] as string, title: 'shopping list, changed elsewhere' });
    // an update moves the item to the end of the Pod's order (dateServerModified)
    await waitForColumn(page, 'title', [
      'green tea recipe',
      'analytical engine notes',
      'shopping list, changed elsewhere',
    ]);
    await client.call('create_item', { type: 'Note', title: 'made elsewhere', stars: 2 });
    await page.getByText('4 items').waitFor();
    await waitForColumn(page, 'title', [
      'green tea recipe',
      'analytical engine notes',
      'shopping list, changed elsewhere',
      'made elsewhere',
    ]);
  });

  test('a 100,000-item type: first rows at once, a DOM of at most 150 rows, the last item reached by scrolling', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    await seedRows(client, 100_000);
    const { page } = await openApp(client, '#/table/Row');
    await page.getByRole('cell', { name: '0', exact: true }).waitFor();
    const first = await column(page, 'n');
    assert.deepEqual(
      first,
      first.map((_, i) => String(i)),
      'the first rows, in order',
    );
    const rows = await page.locator('tbody tr').count();
    assert.ok(rows > 5 && rows <= 150, `${rows} rows in the DOM`);
    await page.getByText('100,000 items').waitFor();
    const scroller = page.locator('.table-scroller');
    await scroller.evaluate((element) => element.scrollTo({ top: element.scrollHeight }));
    await page.getByRole('cell', { name: '99999', exact: true }).waitFor();
    assert.ok((await page.locator('tbody tr').count()) <= 150);
    assert.equal((await column(page, 'n')).at(-1), '99999');
    await screenshot(page, 'data-table-100k-end');
    // the middle, by a jump: the rows there are fetched, not all before them
    await scroller.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 2 }));
    await page.getByRole('cell', { name: '50000', exact: true }).waitFor();
  });

  test('at phone width the table and an item fit the screen', async () => {
    const { client, notes } = await seededOwner();
    const { page } = await openApp(client, '#/table/Note', 390);
    await waitForColumn(page, 'title', SEEDED_ORDER);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    assert.ok((await overflow()) <= 0, 'the page does not scroll sideways (the table scrolls in its box)');
    await screenshot(page, 'data-table-phone');
    await page.evaluate((hash) => (location.hash = hash), `#/item/${notes[1]}`);
    await page.getByRole('heading', { name: 'analytical engine notes' }).waitFor();
    assert.ok((await overflow()) <= 0);
    await screenshot(page, 'data-item-phone');
  });
});
