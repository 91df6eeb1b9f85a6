/**
 * Issue 15 part 5: `GET /metrics` names requests by words of the route table only. Requests with
 * owner keys, database keys and a credential in every place a URL or body can hold them (malformed
 * URLs included) leave none of them, nor the owner's hash, anywhere in the metrics; and 1,000 random
 * paths add no label value beyond the known words, so the number of series stays bounded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { endpoints } from '@pod/protocol';
import { ownerHash } from '../../src/config.js';
import { seededRandom } from '../../src/testing.js';
import { Owner, randomKey, sha256hex, startPod, type RunningPod } from '../helpers.js';
import { scrape } from '../metrics-text.js';

/** Sends `path` exactly as written (no URL normalization), as a hostile client would; resolves once answered. */
function raw(base: string, method: string, path: string, body = '', headers: Record<string, string> = {}) {
  return new Promise<void>((resolve, reject) => {
    const request = http.request(base, { method, path, headers }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    // A request Node's HTTP parser refuses outright ends with the connection closed.
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
    request.end(body);
  });
}

/** The label values a request may be counted under: the protocol's endpoint names and the routes' own words. */
const KNOWN_ENDPOINTS = new Set([
  ...Object.keys(endpoints),
  ...['changes', 'upload_file', 'upload_file_b', 'account', 'schema', 'root', 'version'],
  ...['metrics', 'healthz', 'readyz', 'other'],
]);
const KNOWN_VERSIONS = new Set(['v3', 'v4', 'v5', 'none']);

describe('metrics never carry a key and stay bounded', () => {
  let pod: RunningPod;
  before(async () => (pod = await startPod()));
  after(async () => pod.close());

  test('keys in paths, bodies and malformed URLs appear nowhere in /metrics', async () => {
    const o = new Owner(pod.url);
    const O = o.owner;
    const K = o.key;
    const token = `${randomKey()}${randomKey()}`;
    await o.create({ type: 'Note' });
    const sha = sha256hex('file body');
    await o.create({ type: 'File', sha256: sha });
    const json = (payload: unknown, databaseKey = K) =>
      JSON.stringify({ auth: { type: 'ClientAuth', databaseKey }, payload });
    const clientAuth = encodeURIComponent(JSON.stringify({ type: 'ClientAuth', databaseKey: K }));
    const pluginAuth = encodeURIComponent(JSON.stringify({ type: 'PluginAuth', data: { token } }));
    await raw(pod.url, 'POST', `/v4/${O}/upload_file/${K}/${sha}`, 'file body');
    await raw(pod.url, 'POST', `/v4/${O}/get_file`, json({ sha256: sha }));
    await raw(pod.url, 'POST', `/v4/${O}/search`, JSON.stringify({ auth: { type: 'PluginAuth', data: { token } } }));
    const shapes = [
      `/v4/${O}/${K}`,
      `/v4/${O}/${token}`,
      `/v4/${O}/create_item/${K}`,
      `/v4/${O}/Create_Item`,
      `/v4/${K}/search`,
      `/v3/${O}/search?databaseKey=${K}`,
      `/v4/${O}/upload_file/${K}`,
      `/v4/${O}/upload_file/${K}/%zz`,
      `/v4/${O}/upload_file//${K}/${sha}`,
      `//v4/${O}/upload_file/${K}/${sha}`,
      `/V4/${O}/Upload_File/${K}/${sha}`,
      `/v4/${O}/upload_file_b/${clientAuth}/${sha}`,
      `/v4/${O}/upload_file_b/${pluginAuth}/${sha}`,
      `/v4/${O}/upload_file_b/${pluginAuth}`,
      `/v5/${O}/schema/${K}`,
      `/v5/${K}/schema`,
      `/${K}`,
      `/metrics/${K}`,
      `/metrics?token=${K}`,
      `/%${K}`,
      `/v4/${O}/${K.toUpperCase()}`,
    ];
    for (const path of shapes) {
      await raw(pod.url, 'POST', path, json({}));
      await raw(pod.url, 'GET', path, '', { authorization: `Bearer ${K}` });
    }
    await raw(pod.url, 'POST', `/v4/${O}/search`, `{"auth":{"type":"ClientAuth","databaseKey":"${K}"`);
    await raw(pod.url, 'POST', `/v4/${O}/search`, json({}, `${K}zz`));

    const { text } = await scrape(pod.url);
    const hash = ownerHash(O);
    for (const [what, secret] of [
      ['owner key', O],
      ['database key', K],
      ['credential', token],
      ['owner hash', hash],
      ['owner hash prefix of the logs', hash.slice(0, 16)],
      ['sha256 of the file', sha],
    ] as const) {
      assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `the ${what} is in /metrics`);
      assert.ok(!text.includes(encodeURIComponent(secret)), `the ${what}, percent-encoded, is in /metrics`);
    }
  });

  test('1,000 random paths add no label value beyond the known words', async () => {
    const random = seededRandom(15);
    const names = [...Object.keys(endpoints), 'changes', 'upload_file', 'upload_file_b', 'schema', 'account'];
    const segment = () =>
      random.pick([
        () => randomKey(),
        () => random.pick(names),
        () => random.pick(['v3', 'v4', 'v5', 'V4', 'metrics', 'readyz', '']),
        () => random.next().toString(36).slice(2),
        () => `%${random.int(256).toString(16)}`,
      ])();
    for (let i = 0; i < 1000; i++) {
      const path = `/${Array.from({ length: 1 + random.int(5) }, segment).join('/')}`;
      await raw(pod.url, random.pick(['GET', 'POST']), path, random.chance(0.5) ? '{}' : '');
    }
    const { text, samples } = await scrape(pod.url);
    const series = samples.filter((s) => s.name === 'pod_http_request_duration_seconds_count');
    for (const { labels } of series) {
      assert.ok(KNOWN_ENDPOINTS.has(labels.endpoint ?? ''), `endpoint label ${labels.endpoint}`);
      assert.ok(KNOWN_VERSIONS.has(labels.version ?? ''), `version label ${labels.version}`);
      assert.match(labels.status ?? '', /^[1-5]\d\d$/);
      assert.deepEqual(Object.keys(labels).sort(), ['endpoint', 'status', 'version']);
    }
    // The route table times its versions and a few statuses bounds the series, whatever the paths were.
    assert.ok(series.length <= 120, `${series.length} request series after 1,000 random paths`);
    assert.ok(text.length < 300_000, `/metrics is ${text.length} bytes`);
  });
});
