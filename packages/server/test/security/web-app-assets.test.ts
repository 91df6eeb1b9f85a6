// The web app's files are served from its build folder and nowhere else: no path walks out of it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod } from '../helpers.js';

describe('the web app served at / and /assets/', () => {
  const pod = usePod();

  test('paths that try to leave the assets folder are refused (4xx), never answered with a file', async () => {
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/..%2findex.html',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/..%5c..%5cpackage.json',
    ]) {
      const response = await fetch(`${pod().url}${path}`);
      assert.ok(response.status === 400 || response.status === 404, `${path}: ${response.status}`);
      assert.doesNotMatch(await response.text(), /"name"|<html/, path);
    }
  });

  test('the page is revalidated under its CSP; its hashed assets are cached for good', async () => {
    const page = await fetch(`${pod().url}/`, { headers: { accept: 'text/html' } });
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    assert.ok(script, 'the page names its script');
    const asset = await fetch(`${pod().url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
  });

  test('the service worker is served at the root as a script, revalidated and under the same CSP', async () => {
    const worker = await fetch(`${pod().url}/sw.js`);
    assert.equal(worker.status, 200);
    assert.match(worker.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(worker.headers.get('cache-control'), 'no-cache');
    assert.match(worker.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    // it caches the page and its assets, and leaves API calls (POST) to the network
    assert.match(await worker.text(), /request\.method !== 'GET'/);
  });
});
