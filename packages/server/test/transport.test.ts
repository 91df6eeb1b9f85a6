/** Spec §0–§1: transport rules every client relies on. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { usePod, Owner, rawPost, randomKey, sha256hex, toReply } from './helpers.js';

const assertJsonContentType = (headers: Headers) => {
  const ct = headers.get('content-type') ?? '';
  assert.match(ct, /^application\/json\b/, `content-type: ${ct}`);
  const charset = /charset=([^;]+)/i.exec(ct);
  if (charset) assert.equal(charset[1]!.trim().toLowerCase().replace(/"/g, ''), 'utf-8', `content-type: ${ct}`);
};

describe('transport', () => {
  const pod = usePod();

  test('GET /version answers 200 JSON with key "cargo", no auth needed', async () => {
    const r = await toReply(await fetch(`${pod().url}/version`));
    assert.equal(r.status, 200);
    assertJsonContentType(r.headers);
    assert.equal(typeof r.body, 'object');
    assert.ok('cargo' in r.body, `no "cargo" key: ${r.text}`);
    assert.equal(typeof r.body.cargo, 'string');
    assert.ok(r.body.cargo.length > 0);
    assert.ok('git_describe' in r.body, `no "git_describe" key: ${r.text}`);
    assert.ok(r.body.git_describe === null || typeof r.body.git_describe === 'string');
  });

  test('GET / answers some HTTP response without auth', async () => {
    const res = await fetch(`${pod().url}/`);
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 500, `GET / answered ${res.status}`);
  });

  test('success is exactly 200 with application/json and a non-empty body ({} when nothing to return)', async () => {
    const o = new Owner(pod().url);
    const created = await o.call('create_item', { type: 'Note' });
    assert.equal(created.status, 200);
    assertJsonContentType(created.headers);
    assert.equal(typeof created.body, 'string');

    const updated = await o.call('update_item', { id: created.body });
    assert.equal(updated.status, 200);
    assertJsonContentType(updated.headers);
    assert.equal(updated.text.trim(), '{}');

    const deleted = await o.call('delete_item', created.body);
    assert.equal(deleted.status, 200);
    assertJsonContentType(deleted.headers);
    assert.equal(deleted.text.trim(), '{}');

    const got = await o.call('get_item', created.body);
    assert.equal(got.status, 200);
    assertJsonContentType(got.headers);
    assert.equal(got.body.length, 1);

    const none = await o.call('get_item', 'doesNotExist123');
    assert.equal(none.status, 200);
    assertJsonContentType(none.headers);
    assert.deepEqual(none.body, []);

    const searched = await o.call('search', { type: 'NoSuchTypeAnywhere' });
    assert.equal(searched.status, 200);
    assertJsonContentType(searched.headers);
    assert.deepEqual(searched.body, []);
  });

  test('non-ASCII text round-trips as UTF-8 ("Zoë 😀")', async () => {
    const o = new Owner(pod().url);
    await o.declare(['name', 'Text']);
    const text = 'Zoë 😀 — 日本語 ✓';
    const id = await o.create({ type: 'Person ü', name: text });
    const res = await fetch(`${pod().url}/v4/${o.owner}/get_item`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: o.auth, payload: id }),
    });
    assert.equal(res.status, 200);
    assertJsonContentType(res.headers);
    const bytes = Buffer.from(await res.arrayBuffer());
    const decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const [item] = JSON.parse(decoded);
    assert.equal(item.name, text);
    assert.equal(item.type, 'Person ü');
    assert.ok(bytes.includes(Buffer.from('Zoë 😀', 'utf8')) || decoded.includes('\\u'), 'the answer is UTF-8 encoded');
    const found = await o.search({ name: text });
    assert.equal(found.length, 1);
    assert.equal(found[0].id, id);
  });

  test('requests with NO Content-Type header work', async () => {
    const o = new Owner(pod().url);
    const body = Buffer.from(JSON.stringify({ auth: o.auth, payload: { type: 'NoContentType' } }));
    const r = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, body);
    assert.equal(r.status, 200, r.text);
    assertJsonContentType(r.headers);
    assert.match(r.body, /^[0-9a-f]{32}$/);
    const got = await o.get(r.body);
    assert.equal(got.type, 'NoContentType');

    const s = await rawPost(
      `${pod().url}/v4/${o.owner}/search`,
      Buffer.from(JSON.stringify({ auth: o.auth, payload: { type: 'NoContentType' } })),
    );
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.length, 1);
  });

  test('requests with a non-JSON Content-Type (text/plain, octet-stream) still parse as JSON', async () => {
    const o = new Owner(pod().url);
    for (const ct of ['text/plain;charset=UTF-8', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
      const r = await rawPost(
        `${pod().url}/v4/${o.owner}/create_item`,
        JSON.stringify({ auth: o.auth, payload: { type: 'OddContentType' } }),
        { 'content-type': ct },
      );
      assert.equal(r.status, 200, `${ct}: ${r.status} ${r.text}`);
    }
    assert.equal((await o.search({ type: 'OddContentType' })).length, 3);
  });

  test('unknown top-level fields are ignored', async () => {
    const o = new Owner(pod().url);
    const r = await rawPost(
      `${pod().url}/v4/${o.owner}/create_item`,
      JSON.stringify({ auth: o.auth, payload: { type: 'Extra' }, somethingElse: [1, 2, 3], v: 'x' }),
      { 'content-type': 'application/json' },
    );
    assert.equal(r.status, 200, r.text);
  });

  test('malformed JSON → 400', async () => {
    const o = new Owner(pod().url);
    for (const body of ['{"auth": ', 'not json at all', '{"auth": {"type": "ClientAuth"}, }']) {
      const r = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, `${body}: ${r.status} ${r.text}`);
      assert.ok(r.text.length > 0, 'an error carries a message');
    }
    const empty = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, '', { 'content-type': 'application/json' });
    assert.equal(empty.status, 400, `empty body: ${empty.status} ${empty.text}`);
    const key = randomKey();
    const truncated = await rawPost(
      `${pod().url}/v4/${o.owner}/create_item`,
      `{"auth": {"type": "ClientAuth", "databaseKey": "${key}"`,
    );
    assert.equal(truncated.status, 400);
    assert.ok(!truncated.text.includes(key), 'the error does not echo the body, which holds the key');
    const prototype = await rawPost(
      `${pod().url}/v4/${o.owner}/create_item`,
      JSON.stringify({ auth: o.auth, payload: { type: 'X' } }).replace(
        '"type"',
        '"__proto__": {"id": "chosen-id"}, "type"',
      ),
    );
    assert.equal(prototype.status, 400, prototype.text);
    assert.match(JSON.parse(prototype.text).message, /__proto__/);
  });

  test('missing or malformed auth → 400', async () => {
    const o = new Owner(pod().url);
    const noAuth = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, JSON.stringify({ payload: { type: 'X' } }), {
      'content-type': 'application/json',
    });
    assert.equal(noAuth.status, 400, noAuth.text);
    await o.fails('create_item', { type: 'X' }, 400, null);
    await o.fails('create_item', { type: 'X' }, 400, { type: 'ClientAuth' });
    await o.fails('create_item', { type: 'X' }, 400, { type: 'ClientAuth', databaseKey: 'not-hex' });
    await o.fails('create_item', { type: 'X' }, 400, { type: 'ClientAuth', databaseKey: 'ab'.repeat(31) });
    await o.fails('create_item', { type: 'X' }, 400, { type: 'SomethingAuth', databaseKey: randomKey() });
    await o.fails('create_item', { type: 'X' }, 400, 'a string');
    // nothing was created by any of them
    assert.deepEqual(await o.search({ type: 'X' }), []);
  });

  test('a body that is not an object, or lacks the payload an endpoint needs → 400', async () => {
    const o = new Owner(pod().url);
    const arr = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, '[1,2]', {
      'content-type': 'application/json',
    });
    assert.equal(arr.status, 400, arr.text);
    const noPayload = await rawPost(`${pod().url}/v4/${o.owner}/create_item`, JSON.stringify({ auth: o.auth }), {
      'content-type': 'application/json',
    });
    assert.equal(noPayload.status, 400, noPayload.text);
    await o.fails('get_item', 12345, 400);
    await o.fails('create_item', 'just a string', 400);
  });

  test('unknown route → 404', async () => {
    const o = new Owner(pod().url);
    await o.fails('no_such_endpoint', {}, 404);
    const get = await fetch(`${pod().url}/no/such/path`);
    await get.arrayBuffer();
    assert.equal(get.status, 404);
    const v5 = await rawPost(`${pod().url}/v5/${o.owner}/search`, JSON.stringify({ auth: o.auth, payload: {} }), {
      'content-type': 'application/json',
    });
    assert.equal(v5.status, 404, v5.text);
  });

  test('an owner key that is not 64 hex characters is refused (400 or 404) and creates nothing', async () => {
    const o = new Owner(pod().url);
    const before = fs.readdirSync(pod().dataDir).sort();
    for (const owner of ['abc', 'zz'.repeat(32), `${randomKey()}00`, '..']) {
      const r = await rawPost(
        `${pod().url}/v4/${owner}/create_item`,
        JSON.stringify({ auth: o.auth, payload: { type: 'X' } }),
        { 'content-type': 'application/json' },
      );
      assert.ok([400, 404].includes(r.status), `owner ${owner}: ${r.status} ${r.text}`);
    }
    assert.deepEqual(fs.readdirSync(pod().dataDir).sort(), before);
  });

  test('CORS: Access-Control-Allow-Origin on responses (success, error, GET), preflight OPTIONS answered', async () => {
    const o = new Owner(pod().url);
    const origin = 'http://localhost:8080';
    const check = (res: Response, what: string) => {
      const acao = res.headers.get('access-control-allow-origin');
      assert.ok(acao === '*' || acao === origin, `${what}: access-control-allow-origin = ${acao}`);
    };
    const v = await fetch(`${pod().url}/version`, { headers: { origin } });
    await v.arrayBuffer();
    check(v, 'GET /version');

    const ok = await fetch(`${pod().url}/v4/${o.owner}/search`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ auth: o.auth, payload: {} }),
    });
    await ok.arrayBuffer();
    assert.equal(ok.status, 200);
    check(ok, 'POST search');

    const bad = await fetch(`${pod().url}/v4/${o.owner}/search`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: '{oops',
    });
    await bad.arrayBuffer();
    assert.equal(bad.status, 400);
    check(bad, 'POST malformed');

    const preflight = await fetch(`${pod().url}/v4/${o.owner}/search`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    await preflight.arrayBuffer();
    assert.ok(preflight.status === 200 || preflight.status === 204, `preflight answered ${preflight.status}`);
    check(preflight, 'OPTIONS preflight');
    const methods = preflight.headers.get('access-control-allow-methods');
    assert.ok(methods !== null && /POST/i.test(methods), `access-control-allow-methods: ${methods}`);
    const allowHeaders = preflight.headers.get('access-control-allow-headers');
    assert.ok(
      allowHeaders === null || allowHeaders === '*' || /content-type/i.test(allowHeaders),
      `allow-headers: ${allowHeaders}`,
    );

    const uploadPreflight = await fetch(`${pod().url}/v4/${o.owner}/upload_file/${o.key}/${sha256hex('')}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    await uploadPreflight.arrayBuffer();
    assert.ok(
      uploadPreflight.status === 200 || uploadPreflight.status === 204,
      `upload preflight ${uploadPreflight.status}`,
    );
    check(uploadPreflight, 'OPTIONS upload');
  });

  test('the default limits accept a JSON body over 8 MiB and a 5-million-character bulk', async () => {
    const o = new Owner(pod().url);
    // unknown top-level fields are ignored, so padding makes a large but harmless body
    const padded = await rawPost(
      `${pod().url}/v4/${o.owner}/create_item`,
      JSON.stringify({ auth: o.auth, payload: { type: 'Padded' }, padding: 'x'.repeat(8 * 1024 * 1024 + 4096) }),
      { 'content-type': 'application/json' },
    );
    assert.equal(padded.status, 200, padded.text.slice(0, 300));

    await o.declare(['blob', 'Text']);
    const chunk = 'abcdefghij'.repeat(200); // 2,000 characters
    const items = Array.from({ length: 2500 }, (_, i) => ({ type: 'Big', blob: `${i}:${chunk}` }));
    const result = await o.ok('bulk', { createItems: items });
    assert.equal(result.createItems.length, 2500);
    const found = await o.search({ type: 'Big', _limit: 3 });
    assert.ok(found.length >= 3);
    assert.equal(found[0].blob.length, chunk.length + 2);
  });

  test('v3 prefix: every endpoint answers, sharing the owner database with v4', async () => {
    const v4 = new Owner(pod().url);
    const v3 = v4.as('v3');
    await v3.declare(['title', 'Text']);
    const a = await v3.create({ type: 'Note', title: 'from v3' });
    assert.equal((await v4.get(a)).title, 'from v3');
    const b = await v4.create({ type: 'Note', title: 'from v4' });
    assert.equal((await v3.get(b)).title, 'from v4');
    assert.deepEqual(await v3.ok('update_item', { id: a, title: 'changed' }), {});
    const edge = await v3.ok('create_edge', { _source: a, _target: b, _name: 'link' });
    assert.equal(typeof edge, 'string');
    const edges = await v3.ok('get_edges', { item: a, direction: 'Outgoing', expandItems: true });
    assert.equal(edges.length, 1);
    assert.equal(edges[0].name, 'link');
    assert.equal(edges[0].item.id, b);
    assert.equal(edges[0].item.title, 'from v4');
    const found = await v3.search({ type: 'Note', title: 'changed' });
    assert.deepEqual(
      found.map((i) => i.id),
      [a],
    );
    const bulk = await v3.ok('bulk', { createItems: [{ type: 'Note', title: 'bulk' }], search: [{ title: 'bulk' }] });
    assert.equal(bulk.createItems.length, 1);
    assert.equal(bulk.search[0][0].id, bulk.createItems[0]);
    assert.deepEqual(await v3.ok('delete_item', a), {});
    assert.equal((await v4.get(a)).deleted, true);
    assert.deepEqual(await v3.ok('send_email', { to: 'a@example.com', subject: 's', body: 'b' }), {});

    const bytes = Buffer.from('v3 file bytes');
    const sha = sha256hex(bytes);
    await v3.create({ type: 'File', sha256: sha });
    const up = await v3.upload(bytes);
    assert.equal(up.status, 200, up.text);
    const file = await v3.getFile(sha);
    assert.equal(file.status, 200);
    assert.deepEqual(file.bytes, bytes);
    assert.deepEqual((await v4.getFile(sha)).bytes, bytes);
    const bytesB = Buffer.from('v3 upload_file_b bytes');
    await v3.create({ type: 'File', sha256: sha256hex(bytesB) });
    const upB = await rawPost(v3.uploadBPath(sha256hex(bytesB)), bytesB);
    assert.equal(upB.status, 200, upB.text);
    assert.deepEqual((await v3.getFile(sha256hex(bytesB))).bytes, bytesB);
    await v3.fails('no_such_endpoint', {}, 404);
  });
});

describe('size limits (413)', () => {
  const pod = usePod({ jsonBodyLimit: 4096, uploadLimit: 64 * 1024 });

  test('a JSON body over jsonBodyLimit → 413, under it → 200', async () => {
    const o = new Owner(pod().url);
    await o.declare(['text', 'Text']);
    const small = await o.call('create_item', { type: 'Small', text: 'y'.repeat(2000) });
    assert.equal(small.status, 200, small.text);
    const big = await o.call('create_item', { type: 'Big', text: 'y'.repeat(10_000) });
    assert.equal(big.status, 413, big.text);
    assert.deepEqual(await o.search({ type: 'Big' }), []);
  });

  test('an upload over uploadLimit → 413, an upload over jsonBodyLimit but under uploadLimit → 200', async () => {
    const o = new Owner(pod().url);
    const medium = Buffer.alloc(20_000, 7);
    const large = Buffer.alloc(100_000, 9);
    await o.create({ type: 'File', sha256: sha256hex(medium) });
    await o.create({ type: 'File', sha256: sha256hex(large) });
    const ok = await o.upload(medium);
    assert.equal(ok.status, 200, ok.text);
    const tooBig = await o.upload(large);
    assert.equal(tooBig.status, 413, tooBig.text);
    assert.equal((await o.getFile(sha256hex(large))).status, 404);
    assert.deepEqual((await o.getFile(sha256hex(medium))).bytes, medium);
  });
});

describe('uploads refused while still being sent', () => {
  const pod = usePod({ uploadLimit: 1024 * 1024 });

  test('a refused upload still being sent gets its 413, and the next upload (same connection pool) is stored', async () => {
    const o = new Owner(pod().url);
    const huge = randomBytes(1.5 * 1024 * 1024);
    const next = randomBytes(256 * 1024);
    await o.create({ type: 'File', sha256: sha256hex(huge) });
    // fetch (undici) keeps the connection the refusal came on: a request body the Pod destroyed left it stuck
    const upload = (bytes: Buffer) =>
      fetch(o.uploadPath(sha256hex(bytes)), {
        method: 'POST',
        body: new Uint8Array(bytes),
        signal: AbortSignal.timeout(10_000),
      });
    assert.equal((await upload(huge)).status, 413);
    await o.create({ type: 'File', sha256: sha256hex(next) });
    assert.equal((await upload(next)).status, 200);
    assert.deepEqual((await o.getFile(sha256hex(next))).bytes, next);
  });
});
