/**
 * Review H3/L1: a web page the owner visits must not be able to use the Pod. Browsers send `Origin`
 * on every cross-origin POST, and a `text/plain` one needs no preflight, so the Pod must refuse a
 * foreign `Origin` before it runs anything: no owner created, no mail, no upload.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ADMIN_SOCKET } from '../../src/admin-socket.js';
import http from 'node:http';
import { describe, test } from 'node:test';
import { randomKey, sha256hex, toReply, usePod, type Reply } from '../helpers.js';

const EVIL = 'https://evil.example';

/** A POST as a browser page sends it: `text/plain`, with the page's `Origin`. */
async function browserPost(url: string, body: string, origin: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'text/plain;charset=UTF-8' };
  if (origin !== undefined) headers.origin = origin;
  return toReply(await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) }));
}

/** A raw request with a chosen Host header (fetch cannot set one). */
function withHost(
  url: string,
  host: string,
  origin: string,
  body: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { host, origin, 'content-type': 'text/plain' } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const envelope = (payload: unknown, databaseKey = randomKey()) =>
  JSON.stringify({ auth: { type: 'ClientAuth', databaseKey }, payload });

/** Every way a page could reach an owner: JSON calls, the live feed, both upload routes. */
function attacks(base: string) {
  const owner = randomKey();
  const key = randomKey();
  const auth = encodeURIComponent(JSON.stringify({ type: 'ClientAuth', databaseKey: key }));
  return {
    search: [`${base}/v4/${owner}/search`, envelope({}, key)],
    send_email: [
      `${base}/v4/${owner}/send_email`,
      envelope({ to: 'victim@example.org', subject: 's', body: 'b' }, key),
    ],
    'bulk create': [`${base}/v4/${owner}/bulk`, envelope({ createItems: [{ type: 'Note' }] }, key)],
    'v3 create_item': [`${base}/v3/${owner}/create_item`, envelope({ type: 'Note' }, key)],
    changes: [`${base}/v4/${owner}/changes`, envelope({}, key)],
    upload_file: [`${base}/v4/${owner}/upload_file/${key}/${sha256hex('x')}`, 'x'],
    upload_file_b: [`${base}/v4/${owner}/upload_file_b/${auth}/${sha256hex('x')}`, 'x'],
  } as const;
}

describe('a page of another origin cannot use the Pod', () => {
  const pod = usePod();

  test('a text/plain POST from a foreign origin is refused on every route, and no owner appears', async () => {
    for (const origin of [EVIL, 'null', 'http://localhost.evil.example', 'not an origin']) {
      for (const [name, [url, body]] of Object.entries(attacks(pod().url))) {
        const r = await browserPost(url, body, origin);
        assert.equal(r.status, 403, `${name} from ${origin}: ${r.text}`);
        assert.match(r.body.message, /--cors-origins/, `${name}: says which flag allows a page`);
        assert.equal(
          r.headers.get('access-control-allow-origin'),
          null,
          `${name}: no CORS header for a refused origin`,
        );
      }
    }
    const created = readdirSync(pod().dataDir).filter((name) => name !== ADMIN_SOCKET);
    assert.deepEqual(created, [], 'no owner folder was created');
  });

  test('a preflight from a foreign origin gets no CORS headers', async () => {
    const res = await fetch(`${pod().url}/v4/${randomKey()}/search`, {
      method: 'OPTIONS',
      headers: {
        origin: EVIL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-methods'), null);
  });

  test('loopback pages and clients without Origin keep working', async () => {
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:8080',
      'https://127.1.2.3',
      'http://[::1]:3000',
      undefined,
    ]) {
      const r = await browserPost(`${pod().url}/v4/${randomKey()}/search`, envelope({}), origin);
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
      assert.equal(r.headers.get('access-control-allow-origin'), origin ?? null);
    }
    const preflight = await fetch(`${pod().url}/v4/${randomKey()}/search`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    await preflight.arrayBuffer();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:5173');
  });

  test('the own origin counts for an address, not for a name that may be DNS rebinding', async () => {
    const { port } = new URL(pod().url);
    const own = await withHost(
      `${pod().url}/v4/${randomKey()}/search`,
      `192.0.2.2:${port}`,
      `http://192.0.2.2:${port}`,
      envelope({}),
    );
    assert.equal(own.status, 200, own.text);
    const rebound = await withHost(
      `${pod().url}/v4/${randomKey()}/search`,
      `evil.example:${port}`,
      `http://evil.example:${port}`,
      envelope({}),
    );
    assert.equal(rebound.status, 403, rebound.text);
    const otherPort = await withHost(
      `${pod().url}/v4/${randomKey()}/search`,
      `192.0.2.2:${port}`,
      `http://192.0.2.2:1`,
      envelope({}),
    );
    assert.equal(otherPort.status, 403, otherPort.text);
  });
});

describe('--cors-origins adds origins', () => {
  const pod = usePod({ corsOrigins: ['https://app.example.org'] });

  test('a listed origin is allowed, any other still refused', async () => {
    const allowed = await browserPost(`${pod().url}/v4/${randomKey()}/search`, envelope({}), 'https://app.example.org');
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.org');
    for (const origin of [EVIL, 'http://app.example.org', 'https://app.example.org:8443']) {
      const refused = await browserPost(`${pod().url}/v4/${randomKey()}/search`, envelope({}), origin);
      assert.equal(refused.status, 403, origin);
    }
  });
});

describe('--cors-origins * is an explicit opt-in', () => {
  const pod = usePod({ corsOrigins: '*' });

  test('every page may call', async () => {
    const r = await browserPost(`${pod().url}/v4/${randomKey()}/search`, envelope({}), EVIL);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
  });
});
