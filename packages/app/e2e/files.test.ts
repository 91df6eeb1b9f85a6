/**
 * Issue 14, files and photos through the UI as a person uses them, checked against the Pod's real state
 * through the API: a PNG and a text file uploaded with the file picker and listed with name, type and
 * size; a file dropped on the page; the PNG in the photo grid as the Pod's 256 px thumbnail (and nothing full-size fetched); opened
 * at 1024 px; both downloaded with the bytes uploaded; a failed upload shown and tried again; a photo page that fails; phone width. Real Pod, real Chromium.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { File, Photo, PodClient } from '@pod/client';
import type { Page } from 'playwright-core';
import { noBrowser, screenshot, useLab } from './browser.js';

/** A real PNG (RGB, a gradient) of the given size, written by hand: no image library needed. */
function png(width: number, height: number): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      raw[at] = (x * 255) / width;
      raw[at + 1] = (y * 255) / height;
      raw[at + 2] = 128;
    }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([frame, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const PHOTO = png(1600, 1200);
const TEXT = Buffer.from('Shopping: tea, bread, 2 lemons.\n');

describe('the app: files and photos', { skip: noBrowser }, () => {
  const lab = useLab();

  async function openApp(client: PodClient, route: string, width?: number) {
    const { page, foreignRequests } = await lab().page();
    if (width) await page.setViewportSize({ width, height: 844 });
    /** The Pod endpoints the page called, in order (`thumbnail`, `get_file`, …). */
    const endpoints: { name: string; body: string }[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      const match = /^\/v4\/[0-9a-f]+\/(.+)$/.exec(path);
      if (match?.[1]) endpoints.push({ name: match[1].split('/')[0] ?? '', body: request.postData() ?? '' });
    });
    await page.goto(`${lab().pod.url}/#ownerKey=${client.ownerKey}&databaseKey=${client.databaseKey}`);
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: route }).click();
    await page.getByRole('heading', { name: route, level: 2 }).waitFor();
    return { page, foreignRequests, endpoints };
  }

  /** Clicks a download button and returns the saved file's name and bytes. */
  async function download(page: Page, button: string) {
    const [saved] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: button }).click(),
    ]);
    return { name: saved.suggestedFilename(), bytes: readFileSync((await saved.path()) as string) };
  }

  const naturalSize = (page: Page, scope: string, name: string) =>
    page
      .locator(scope)
      .getByRole('img', { name })
      .evaluate(async (img: HTMLImageElement) => {
        await img.decode();
        return { width: img.naturalWidth, height: img.naturalHeight };
      });

  test('upload a photo and a text file, see them listed, the thumbnail in the grid, and download both', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    const { page, foreignRequests, endpoints } = await openApp(client, 'Files');

    await page.getByLabel('Upload files').setInputFiles([
      { name: 'sunset.png', mimeType: 'image/png', buffer: PHOTO },
      { name: 'shopping.txt', mimeType: 'text/plain', buffer: TEXT },
    ]);
    const uploads = page.getByRole('region', { name: 'Uploads' });
    await uploads.getByText('shopping.txt (32 B): stored').waitFor();
    await uploads.getByText(/sunset\.png \(.+\): stored/).waitFor();
    const table = page.getByRole('table', { name: 'Files' });
    const photoRow = table.getByRole('row').filter({ hasText: 'sunset.png' });
    await photoRow.waitFor();
    assert.match((await photoRow.textContent()) ?? '', /image\/png/);
    assert.match(
      (await table.getByRole('row').filter({ hasText: 'shopping.txt' }).textContent()) ?? '',
      /text\/plain32 B/,
    );
    await screenshot(page, 'files');

    // The Pod holds both Files with their names, sizes and types, and one Photo with a `file` edge to the PNG.
    const [photoFile] = await client.search(File, { sha256: sha256(PHOTO) });
    assert.deepEqual(
      [photoFile?.filename, photoFile?.mimeType, photoFile?.size, photoFile?.width, photoFile?.height],
      ['sunset.png', 'image/png', PHOTO.length, 1600, 1200],
    );
    const [textFile] = await client.search(File, { sha256: sha256(TEXT) });
    assert.deepEqual([textFile?.filename, textFile?.mimeType, textFile?.size], ['shopping.txt', 'text/plain', 32]);
    const photos = await client.search(Photo, {}, { edges: true });
    assert.equal(photos.length, 1);
    assert.equal(photos[0]?.file[0]?.sha256, sha256(PHOTO));
    assert.deepEqual(Buffer.from(await client.getFile(sha256(PHOTO))), PHOTO, 'the bytes reached the Pod');

    // Downloads give back the bytes uploaded, under their names.
    const text = await download(page, 'Download shopping.txt');
    assert.equal(text.name, 'shopping.txt');
    assert.equal(sha256(text.bytes), sha256(TEXT));
    const original = await download(page, 'Download sunset.png');
    assert.equal(original.name, 'sunset.png');
    assert.equal(sha256(original.bytes), sha256(PHOTO));

    // A file dropped anywhere on the page is uploaded too (as a person drags one from their desktop).
    const dropped = 'dropped on the page\n';
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new globalThis.File([text], 'dropped.txt', { type: 'text/plain' }));
      const main = document.querySelector('main') as HTMLElement;
      for (const type of ['dragover', 'drop'])
        main.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }, dropped);
    await table.getByRole('row').filter({ hasText: 'dropped.txt' }).waitFor();
    const names = await table.locator('tbody .file-name').allTextContents();
    assert.deepEqual(names, ['dropped.txt', 'shopping.txt', 'sunset.png'], 'newest first');
    const [droppedFile] = await client.search(File, { sha256: sha256(Buffer.from(dropped)) });
    assert.equal(droppedFile?.filename, 'dropped.txt');
    assert.equal(Buffer.from(await client.getFile(droppedFile?.sha256 as string)).toString(), dropped);

    // The grid shows the Pod's 256 px thumbnail: asked of `thumbnail` at 256, and no bytes through get_file.
    endpoints.length = 0;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Photos' }).click();
    await page.getByText('1 photo', { exact: true }).waitFor();
    const grid = 'section[aria-label="Photo grid"]';
    assert.deepEqual(await naturalSize(page, grid, 'sunset.png'), { width: 256, height: 192 });
    const thumbnails = endpoints.filter(({ name }) => name === 'thumbnail');
    assert.equal(thumbnails.length, 1);
    assert.equal(JSON.parse(thumbnails[0]?.body ?? '{}').payload?.size, 256);
    assert.deepEqual(
      endpoints.filter(({ name }) => name === 'get_file'),
      [],
      'nothing full-size before a photo is opened',
    );
    await screenshot(page, 'photos');

    // Opened: the 1024 px thumbnail, then the original on request; Escape closes and focus goes back.
    const opener = page.locator(grid).getByRole('button', { name: 'sunset.png' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'sunset.png' });
    await dialog.waitFor();
    assert.deepEqual(await naturalSize(page, 'dialog', 'sunset.png'), { width: 1024, height: 768 });
    assert.equal(JSON.parse(endpoints.filter(({ name }) => name === 'thumbnail')[1]?.body ?? '{}').payload?.size, 1024);
    assert.deepEqual(
      endpoints.filter(({ name }) => name === 'get_file'),
      [],
      'opening shows the 1024 px one, not the original',
    );
    await screenshot(page, 'photo-open');
    const fromDialog = await download(page, 'Download original');
    assert.equal(sha256(fromDialog.bytes), sha256(PHOTO));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await opener.evaluate((element) => element === document.activeElement), 'focus is back on the photo');
    assert.deepEqual(foreignRequests, []);
  });

  test('a failed upload says so and stays; picking the file again stores it', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    const { page } = await openApp(client, 'Files');
    const refuse = (route: import('playwright-core').Route) =>
      route.fulfill({ status: 413, contentType: 'application/json', body: '{"error":"Payload Too Large"}' });
    await page.route('**/upload_file/**', refuse);
    const picked = { name: 'report.txt', mimeType: 'text/plain', buffer: TEXT };
    await page.getByLabel('Upload files').setInputFiles([picked]);
    const uploads = page.getByRole('region', { name: 'Uploads' });
    const alert = uploads.getByRole('alert');
    await alert.waitFor();
    const said = (await alert.textContent()) ?? '';
    assert.match(said, /Try again/);
    assert.ok(!said.includes(client.databaseKey as string), 'no key in the message');
    await uploads.getByText('report.txt (32 B): failed').waitFor();
    await page.unroute('**/upload_file/**', refuse);
    await page.getByLabel('Upload files').setInputFiles([picked]);
    await uploads.getByText('report.txt (32 B): stored').waitFor();
    assert.equal(await alert.count(), 1, 'the first failure is still shown');
    assert.deepEqual(Buffer.from(await client.getFile(sha256(TEXT))), TEXT);
    assert.equal((await client.search(File, { sha256: sha256(TEXT) })).length, 1, 'one File item, not two');
  });

  test('the photo grid loads only the rows near the viewport and frees the thumbnails it scrolls away from', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    await client.addToSchema(File, Photo);
    const total = 120;
    for (let i = 0; i < total; i++) await client.createPhoto(png(40 + i, 30), { filename: `p${i}.png` });
    const { page, endpoints } = await openApp(client, 'Files');
    await page.evaluate(() => {
      const revoke = URL.revokeObjectURL.bind(URL);
      const counter = window as unknown as { revoked: number };
      counter.revoked = 0;
      URL.revokeObjectURL = (url: string) => {
        counter.revoked++;
        revoke(url);
      };
    });
    endpoints.length = 0;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Photos' }).click();
    await page.getByText(`${total} photos`, { exact: true }).waitFor();
    const grid = page.locator('section[aria-label="Photo grid"]');
    await grid.getByRole('img', { name: 'p0.png' }).waitFor();
    const thumbnails = () => endpoints.filter(({ name }) => name === 'thumbnail').length;
    const first = thumbnails();
    assert.ok(first > 0 && first < total / 2, `only the rows near the viewport load (${first} of ${total})`);
    assert.ok((await grid.getByRole('img').count()) < total / 2);

    await grid.evaluate((element) => element.scrollTo(0, element.scrollHeight));
    await grid.getByRole('img', { name: `p${total - 1}.png` }).waitFor();
    assert.equal(await grid.getByRole('img', { name: 'p0.png' }).count(), 0, 'the first rows left the DOM');
    const revoked = await page.evaluate(() => (window as unknown as { revoked: number }).revoked);
    assert.ok(revoked > 0, 'the thumbnails scrolled away from are freed');
    assert.ok(thumbnails() < total, 'the rows scrolled past were never loaded');
    assert.deepEqual(
      endpoints.filter(({ name }) => name === 'get_file'),
      [],
    );
  });

  test('a page of photos that fails to load says so, is not asked again by itself, and Try again loads it', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    await client.addToSchema(File, Photo);
    await client.createPhoto(png(64, 48), { filename: 'lake.png' });
    const { page, endpoints } = await openApp(client, 'Files');
    const refuse = (route: import('playwright-core').Route) =>
      route.fulfill({ status: 418, contentType: 'application/json', body: '{"error":"not today"}' });
    await page.route('**/search', refuse);
    endpoints.length = 0;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Photos' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    // the count and a second render came meanwhile: the failed page was still asked only once
    await page.getByText('1 photo', { exact: true }).waitFor();
    const photoPages = endpoints.filter(({ name, body }) => name === 'search' && body.includes('"type":"Photo"'));
    assert.equal(photoPages.length, 1);
    await page.unroute('**/search', refuse);
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.locator('section[aria-label="Photo grid"]').getByRole('img', { name: 'lake.png' }).waitFor();
    assert.equal(await alert.count(), 0, 'the error is gone once the photos are there');
  });

  test('at phone width the files and photos fit the screen', async () => {
    const client = new PodClient({ url: lab().pod.url });
    await client.registerAccount();
    await client.addToSchema(File, Photo);
    await client.createPhoto(png(300, 600), { filename: 'tall.png' });
    const { page } = await openApp(client, 'Files', 390);
    await page.getByRole('table', { name: 'Files' }).getByRole('row').filter({ hasText: 'tall.png' }).waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok((await overflow()) <= 0, 'no sideways scrolling of the Files view');
    const button = await page.getByRole('button', { name: 'Download tall.png' }).boundingBox();
    assert.ok(button && button.x + button.width <= 390, 'the download button is on screen');
    await screenshot(page, 'files-phone');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Photos' }).click();
    assert.deepEqual(await naturalSize(page, 'section[aria-label="Photo grid"]', 'tall.png'), {
      width: 128,
      height: 256,
    });
    assert.ok((await overflow()) <= 0, 'no sideways scrolling of the Photos view');
    await screenshot(page, 'photos-phone');
  });
});
