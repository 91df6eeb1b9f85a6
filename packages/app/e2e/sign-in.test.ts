/**
 * Issue 14, getting in: the app served by the Pod at `/` under a strict CSP; a new Pod created in the
 * browser with its keys saved as a file; an existing Pod opened by typed keys and by the address's
 * fragment (removed at once); wrong keys told apart and nothing stored. Real Pod, real Chromium.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { PodClient } from '@pod/client';
import { noBrowser, screenshot, useLab } from './browser.js';

describe('the app: getting in', { skip: noBrowser }, () => {
  const lab = useLab();

  /** An owner with a few items, made through the API as another client would. */
  async function seededOwner() {
    const client = new PodClient({ url: lab().pod.url });
    await client.call('create_item', {
      type: 'ItemPropertySchema',
      itemType: 'Note',
      propertyName: 'title',
      valueType: 'Text',
    });
    for (const title of ['one', 'two', 'three']) await client.call('create_item', { type: 'Note', title });
    await client.call('create_item', { type: 'Person', displayName: 'Ada' });
    return client;
  }

  const storage = (page: import('playwright-core').Page) =>
    page.evaluate(() => ({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage) }));

  test('GET / serves the app to a browser under a strict CSP, and JSON to everyone else', async () => {
    const html = await fetch(`${lab().pod.url}/`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    const csp = html.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const page = await html.text();
    assert.doesNotMatch(page, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(page, /https?:\/\//, 'nothing from another origin');
    const json = await fetch(`${lab().pod.url}/`);
    assert.deepEqual(Object.keys(await json.json()).sort(), ['api', 'pod', 'version']);
    const python = await fetch(`${lab().pod.url}/`, { headers: { accept: '*/*' } });
    assert.match(python.headers.get('content-type') ?? '', /application\/json/);
  });

  test('create a new Pod: keys shown once and saved as a file, then the Pod opens', async () => {
    const { page, foreignRequests } = await lab().page();
    await page.goto(`${lab().pod.url}/`);
    await page.getByRole('tab', { name: 'Create a new Pod' }).click();
    const ownerKey = await page.getByLabel('Owner key').inputValue();
    const databaseKey = await page.getByLabel('Database key').inputValue();
    assert.match(ownerKey, /^[0-9a-f]{64}$/);
    assert.match(databaseKey, /^[0-9a-f]{64}$/);
    assert.notEqual(ownerKey, databaseKey);
    await screenshot(page, 'sign-in-create');
    const create = page.getByRole('button', { name: 'Create my Pod' });
    assert.equal(await create.isDisabled(), true, 'not before the owner says the keys are saved');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Save the keys as a file' }).click(),
    ]);
    const file = JSON.parse(readFileSync((await download.path()) as string, 'utf8'));
    assert.deepEqual([file.ownerKey, file.databaseKey], [ownerKey, databaseKey]);
    await page.getByLabel('I have saved my keys').check();
    await create.click();
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    await screenshot(page, 'overview-new-pod');
    // the Pod exists now: a client with the same keys reads it
    const summary = await new PodClient({ url: lab().pod.url, ownerKey, databaseKey }).summary();
    assert.equal(typeof summary.items, 'number');
    const { local, session } = await storage(page);
    assert.equal(local.includes(databaseKey), false, 'no key in localStorage');
    assert.equal(session.includes(databaseKey), true, 'the keys stay in this tab only');
    assert.deepEqual(foreignRequests, []);
  });

  test('open with typed keys shows every type with its count; sign out forgets the keys', async () => {
    const client = await seededOwner();
    const { page } = await lab().page();
    await page.goto(`${lab().pod.url}/`);
    await page.getByLabel('Owner key').fill(client.ownerKey);
    await page.getByLabel('Database key').fill(client.databaseKey as string);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const counts = page.getByRole('list', { name: 'Items by type' });
    await counts.getByText('Note').waitFor();
    assert.match((await counts.textContent()) ?? '', /Note\s*3/);
    assert.match((await counts.textContent()) ?? '', /Person\s*1/);
    await screenshot(page, 'overview');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('tab', { name: 'Open my Pod' }).waitFor();
    assert.deepEqual(await storage(page), { local: '{}', session: '{}' });
  });

  test('the address fragment signs in and is removed from the address bar at once', async () => {
    const client = await seededOwner();
    const { page } = await lab().page();
    await page.goto(`${lab().pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${client.databaseKey}`);
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    assert.equal(page.url(), `${lab().pod.url}/`);
    // a reload in the same tab stays signed in
    await page.reload();
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    // the entry with the keys was replaced, not kept behind: one step back is the blank tab
    await page.goBack();
    assert.equal(page.url(), 'about:blank');
  });

  test('a wrong database key and an unknown owner key say so, and store and create nothing', async () => {
    const client = await seededOwner();
    const { page } = await lab().page();
    const wrongKey = PodClient.generateKey();
    await page.goto(`${lab().pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${wrongKey}`);
    await page.getByRole('alert').filter({ hasText: 'database key does not open this Pod' }).waitFor();
    assert.equal(page.url(), `${lab().pod.url}/`);
    assert.deepEqual(await storage(page), { local: '{}', session: '{}' });

    const stranger = PodClient.generateKey();
    await page.getByLabel('Owner key').fill(stranger);
    await page.getByLabel('Database key').fill(PodClient.generateKey());
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'no data for that owner key' }).waitFor();
    await screenshot(page, 'sign-in-wrong-key');
    assert.deepEqual(await storage(page), { local: '{}', session: '{}' });
    await assert.rejects(new PodClient({ url: lab().pod.url, ownerKey: stranger }).summary(), /403|no database/);
  });
});
