// A seeded fuzz over every route: malformed, oversized and hostile requests (bad JSON, wrong types,
// deep nesting, huge strings, prototype names, unknown endpoints, bad keys, PluginAuth garbage,
// oversized and trickled bodies, uploads), v3 and v4. Nothing may answer 5xx, no request may wait
// more than 2 s (a trickled body: no longer than its deadline), and a second owner's canary item and
// file stay exactly as they were. The seed is printed; replay with POD_FUZZ_SEED=<seed>.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { defaultConfig } from '../../src/config.js';
import { seededRandom } from '../../src/testing.js';
import { Owner, sha256hex, startPod, type RunningPod } from '../helpers.js';

const REQUESTS = Number(process.env.POD_FUZZ_REQUESTS ?? 3_000);
const SEED = Number(process.env.POD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const PARALLEL = 6;
const MAX_WAIT_MS = 2_000;
const BODY_TIMEOUT_MS = 1_000;
const MiB = 1024 * 1024;

/** The seeded PRNG, plus 64 hex digits (an owner key, database key, token or sha256) that the seed reproduces. */
function prng(seed: number) {
  const random = seededRandom(seed);
  const hex = () => Array.from({ length: 8 }, () => (random.int(2 ** 32) >>> 0).toString(16).padStart(8, '0')).join('');
  return { ...random, hex };
}
type Rng = ReturnType<typeof prng>;

const ENDPOINTS = [
  'get_item',
  'create_item',
  'update_item',
  'delete_item',
  'create_edge',
  'get_edges',
  'search',
  'bulk',
  'send_email',
  'get_file',
  'abort_plugin_run',
  'plugin_run_logs',
  'changes',
];
const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);
const NAMES = [
  ...PROTO_NAMES,
  'prototype',
  'type',
  'id',
  'deleted',
  'title',
  'count',
  'dateCreated',
  'dateModified',
  'dateServerModified',
  '_limit',
  '_sortOrder',
  '[[edges]]',
  '~[[edges]]',
  'dateServerModified>=',
  'dateServerModified<',
  '_source',
  '_target',
  '_name',
  '_self',
  'itemType',
  'propertyName',
  'valueType',
  'permissions',
  'containerImage',
  'status',
  'sha256',
  'batchId',
  '',
];
const TYPES = ['Note', 'Person', 'PluginRun', 'Plugin', 'ItemPropertySchema', 'Edge', 'File', ...PROTO_NAMES];

const nested = (depth: number, open: string, close: string, core = '0') =>
  open.repeat(depth) + core + close.repeat(depth);

/** A random JSON value, as text: sometimes hostile (deep, huge, odd numbers, prototype keys). */
function value(r: Rng, depth = 0): string {
  switch (r.int(depth > 3 ? 6 : 10)) {
    case 0:
      return JSON.stringify(
        r.pick(['', 'x', 'Note', 'é✓\u0000', '\ud800', '../../etc/passwd', '%00', 'a'.repeat(r.int(300))]),
      );
    case 1:
      return r.pick(['0', '-1', '1e308', '-0', '9007199254740993', '1.5', '123456789012345678901234567890', '1e-400']);
    case 2:
      return r.pick(['true', 'false', 'null']);
    case 3:
      return JSON.stringify(`${r.int(1e9)}`);
    case 4:
      return r.chance(0.1) ? nested(1_000 + r.int(10_000), '[', ']') : '[]';
    case 5:
      return r.chance(0.05) ? JSON.stringify('s'.repeat(MiB + r.int(MiB))) : '{}';
    case 6:
      return `[${Array.from({ length: r.int(4) }, () => value(r, depth + 1)).join(',')}]`;
    default:
      return object(r, depth + 1);
  }
}

function object(r: Rng, depth = 0): string {
  const fields = Array.from(
    { length: r.int(5) },
    () => `${JSON.stringify(r.pick(NAMES))}:${r.chance(0.3) ? JSON.stringify(r.pick(TYPES)) : value(r, depth)}`,
  );
  return `{${fields.join(',')}}`;
}

/** A payload shaped roughly like the endpoint's, then mutated. */
function payload(r: Rng, endpoint: string, ids: string[]): string {
  const id = () =>
    JSON.stringify(
      r.chance(0.7) && ids.length
        ? r.pick(ids)
        : r.pick(['nope-nope', 'x', '__proto__', 'constructor', 'a'.repeat(40)]),
    );
  if (r.chance(0.3)) return value(r);
  switch (endpoint) {
    case 'get_item':
    case 'delete_item':
    case 'abort_plugin_run':
    case 'plugin_run_logs':
      return id();
    case 'create_item':
      return `{"type":${JSON.stringify(r.pick(TYPES))},${object(r).slice(1)}`.replace(',}', '}');
    case 'update_item':
      return `{"id":${id()},${object(r).slice(1)}`.replace(',}', '}');
    case 'create_edge':
      return `{"_source":${id()},"_target":${id()},"_name":${value(r)}}`;
    case 'get_edges':
      return `{"item":${id()},"direction":${JSON.stringify(r.pick(['Outgoing', 'Incoming', 'Sideways']))},"expandItems":${value(r)}}`;
    case 'search':
      return r.chance(0.5)
        ? `{"type":${JSON.stringify(r.pick(TYPES))},"_limit":${r.int(50)},"[[edges]]":{}}`
        : object(r);
    case 'bulk': {
      const list = () => `[${Array.from({ length: r.int(5) }, () => object(r)).join(',')}]`;
      return `{"createItems":${list()},"updateItems":${list()},"deleteItems":[${id()}],"createEdges":${list()},"search":${r.chance(0.1) ? `[${Array(150).fill('{}').join(',')}]` : list()}}`;
    }
    case 'send_email':
      return `{"to":${value(r)},"subject":${value(r)},"body":${value(r)}}`;
    case 'get_file':
      return `{"sha256":${JSON.stringify(r.chance(0.5) ? r.hex() : r.pick(['../x', 'zz', '']))}}`;
    default:
      return object(r);
  }
}

function auth(r: Rng, good: string): string {
  switch (r.int(9)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return good;
    case 4:
      return `{"type":"ClientAuth","databaseKey":${JSON.stringify(r.pick([r.hex(), 'zz', '', '00', 'A'.repeat(64)]))}}`;
    case 5:
      return `{"type":"PluginAuth","data":${r.pick([`{"token":${JSON.stringify(r.hex())}}`, '{}', 'null', '"x"', object(r)])}}`;
    case 6:
      return `{"type":${JSON.stringify(r.pick(['', 'Root', '__proto__', 'ClientAuth']))}}`;
    case 7:
      return r.pick(['null', '[]', '"ClientAuth"', nested(5_000, '{"a":', '}')]);
    default:
      return `{"__proto__":{"type":"ClientAuth"},"type":"ClientAuth","databaseKey":"${r.hex()}"}`;
  }
}

interface FuzzRequest {
  method: string;
  path: string;
  body?: Buffer;
  headers: Record<string, string | number>;
  /** Send the head and part of the body, then nothing: the Pod must cut it at its deadline. */
  stall?: boolean;
  what: string;
}

function fuzzRequest(r: Rng, target: Owner, canary: Owner, ids: string[]): FuzzRequest {
  const version = r.pick(['v4', 'v4', 'v3', 'v3', 'v5', 'V4', '']);
  const owner = r.pick([
    target.owner,
    target.owner,
    target.owner,
    target.owner,
    canary.owner,
    canary.owner.toUpperCase(),
    r.hex(),
    'zz',
    '0'.repeat(63),
    'g'.repeat(64),
    '..%2f..',
    'a'.repeat(3_000),
  ]);
  // The target's key everywhere: right for the target, wrong for the canary (whose key the fuzz never holds).
  const goodAuth = JSON.stringify(target.auth);
  const kind = r.int(100);
  if (kind < 8) {
    // upload routes
    const sha = r.chance(0.5) ? r.hex() : r.pick(['', 'xyz', '..', '0'.repeat(65)]);
    const segment = r.chance(0.5)
      ? `upload_file/${r.pick([target.key, r.hex(), 'zz', ''])}`
      : `upload_file_b/${encodeURIComponent(r.pick([goodAuth, auth(r, goodAuth), '{', '%%', '"x"']))}`;
    const body = Buffer.alloc(r.int(r.chance(0.1) ? 4 * MiB : 4096), r.int(256));
    return {
      method: 'POST',
      path: `/${version}/${owner}/${segment}/${sha}`,
      body,
      headers: { 'content-length': body.length },
      what: `upload ${segment.slice(0, 20)}`,
    };
  }
  const endpoint = r.chance(0.9)
    ? r.pick(ENDPOINTS)
    : r.pick([...PROTO_NAMES, 'admin', '', '..', 'get_item/extra', 'a'.repeat(500)]);
  const path = `/${version}/${owner}/${endpoint}`;
  if (kind < 10)
    return {
      method: r.pick(['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD']),
      path,
      headers: {},
      what: `method on ${endpoint}`,
    };
  if (kind < 12) {
    // a declared body that never fully arrives
    return {
      method: 'POST',
      path,
      body: Buffer.from(`{"auth":${goodAuth},"payload":`),
      headers: { 'content-length': 10_000 },
      stall: true,
      what: `stalled ${endpoint}`,
    };
  }
  if (kind < 13 && r.chance(0.3)) {
    const body = Buffer.alloc(17 * MiB, 0x20);
    return { method: 'POST', path, body, headers: { 'content-length': body.length }, what: `oversized ${endpoint}` };
  }
  let text: string;
  if (kind < 20)
    text = r.pick([
      '',
      '{',
      'nul',
      '{"auth":',
      '\u0000\u0001',
      '{"auth":{}}}',
      '[1,2',
      `{"auth":${goodAuth},"payload":${'{"a":'.repeat(3)}`,
      '"\\ud800"',
    ]);
  else if (kind < 24)
    text = nested(1_000 + r.int(r.chance(0.1) ? 100_000 : 10_000), r.pick(['[', '{"a":']), r.pick([']', '}']));
  else if (kind < 27) text = `{"auth":${goodAuth},"payload":{"__proto__":{"polluted":true}}}`;
  else text = `{"auth":${auth(r, goodAuth)},"payload":${payload(r, endpoint, ids)}}`;
  const body = Buffer.from(text);
  const headers: Record<string, string | number> = { 'content-length': body.length };
  if (r.chance(0.3))
    headers['content-type'] = r.pick([
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
    ]);
  return { method: 'POST', path, body, headers, what: `${endpoint}: ${text.slice(0, 80)}` };
}

const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });

/** Sends one request (a stalled one is never finished by us); resolves with its status (or 'closed' when the Pod cut the connection) and how long it took. */
function send(url: string, fuzz: FuzzRequest): Promise<{ status: number | 'closed'; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number | 'closed') => resolve({ status, ms: performance.now() - started });
    const req = request(
      `${url}${fuzz.path}`,
      { method: fuzz.method, headers: fuzz.headers, agent: fuzz.stall ? false : agent, timeout: 15_000 },
      (res) => {
        // A live feed that was granted stays open by design: its answer is its first bytes.
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.once('data', () => {
            done(res.statusCode!);
            req.destroy();
          });
          return;
        }
        res.resume();
        res.on('end', () => done(res.statusCode!));
        res.on('error', () => done(res.statusCode!));
      },
    );
    req.on('error', () => done('closed'));
    req.on('timeout', () => req.destroy());
    if (fuzz.stall) req.write(fuzz.body!);
    else req.end(fuzz.body);
  });
}

describe('fuzz: hostile requests', () => {
  let pod: RunningPod;
  before(async () => {
    pod = await startPod({ limits: { ...defaultConfig().limits, bodyTimeoutMs: BODY_TIMEOUT_MS } });
  });
  after(async () => pod.close());

  test(`${REQUESTS} seeded requests: no 5xx, none waits over ${MAX_WAIT_MS} ms, the canary owner untouched`, async (t) => {
    t.diagnostic(`fuzz seed ${SEED}: replay with POD_FUZZ_SEED=${SEED}`);
    console.log(`fuzz seed ${SEED}: replay with POD_FUZZ_SEED=${SEED}`);
    const r = prng(SEED);
    const target = new Owner(pod.url, r.hex(), r.hex());
    const canary = new Owner(pod.url, r.hex(), r.hex());
    await target.declare(['title', 'Text'], ['count', 'Integer']);
    const ids: string[] = (
      await target.ok('bulk', {
        createItems: Array.from({ length: 20 }, (_, i) => ({ type: 'Note', title: `n${i}`, count: i })),
      })
    ).createItems;
    await canary.declare(['title', 'Text']);
    const canaryId = await canary.create({ type: 'Note', title: 'canary' });
    const canaryBytes = Buffer.from('canary file bytes');
    await canary.create({ type: 'File', sha256: sha256hex(canaryBytes) });
    assert.equal((await canary.upload(canaryBytes)).status, 200);
    const canaryBefore = await canary.getText(canaryId);

    const requests = Array.from({ length: REQUESTS }, () => fuzzRequest(r, target, canary, ids));
    const problems: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const index = next++;
        const fuzz = requests[index]!;
        const { status, ms } = await send(pod.url, fuzz);
        const limit = fuzz.stall ? BODY_TIMEOUT_MS + MAX_WAIT_MS : MAX_WAIT_MS;
        if (typeof status === 'number' && status >= 500)
          problems.push(`#${index} ${fuzz.method} ${fuzz.path.slice(0, 90)} (${fuzz.what}) → ${status}`);
        if (ms > limit)
          problems.push(`#${index} ${fuzz.method} ${fuzz.path.slice(0, 90)} (${fuzz.what}) waited ${ms.toFixed(0)} ms`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    assert.deepEqual(problems, [], `seed ${SEED} (POD_FUZZ_SEED=${SEED}):\n${problems.slice(0, 30).join('\n')}`);

    assert.equal(await canary.getText(canaryId), canaryBefore, 'the canary item is unchanged');
    assert.deepEqual((await canary.getFile(sha256hex(canaryBytes))).bytes, canaryBytes, 'the canary file is unchanged');
    assert.equal((await fetch(`${pod.url}/version`)).status, 200);
  });
});
