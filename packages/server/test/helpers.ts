/**
 * Shared helpers for the black-box test suite: every test talks to a real Pod over HTTP on
 * loopback, exactly as the Python client library and plugins do (spec: pod-api-v4.md).
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startTestPod, type TestPod } from '../src/testing.js';

export { freePort };
import type { PodConfig } from '../src/config.js';
import type { Principal } from '../src/storage/store.js';

/** A Pod on an ephemeral loopback port with a fresh temporary data directory. */
export { startTestPod as startPod, type TestPod as RunningPod };

/** A Pod for the tests of the enclosing `describe`, started before them and closed after: `pod().url`. */
export function usePod(overrides: Partial<PodConfig> = {}): () => TestPod {
  let pod: TestPod | undefined;
  before(async () => {
    pod = await startTestPod(overrides);
  });
  after(async () => {
    await pod?.close();
  });
  return () => {
    if (!pod) throw new Error('usePod(): the Pod is started in a before() hook; call pod() inside tests');
    return pod;
  };
}

/** 64 random hex characters: an owner key or a database key. */
export const randomKey = () => randomBytes(32).toString('hex');

export const clientAuth = (databaseKey: string) => ({ type: 'ClientAuth', databaseKey });

export const sha256hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export interface Reply {
  status: number;
  /** Parsed JSON when the answer says it is JSON (and is not empty), else the text. */
  body: any;
  /** The raw answer text (UTF-8 decoded). */
  text: string;
  headers: Headers;
}

export async function toReply(res: Response): Promise<Reply> {
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let body: any = text;
  if (contentType.startsWith('application/json') && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, body, text, headers: res.headers };
}

export type ApiVersion = 'v4' | 'v3';

/** No single request of the suite may hang the run: a stuck answer fails the test instead. */
export const REQUEST_TIMEOUT_MS = 60_000;
export const timeout = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);

/** `POST {url}/{version}/{owner}/{endpoint}` with `{"auth", "payload"}`, as clients send it. */
export async function call(
  url: string,
  owner: string,
  endpoint: string,
  payload: unknown,
  auth: unknown,
  version: ApiVersion = 'v4',
): Promise<Reply> {
  const res = await fetch(`${url}/${version}/${owner}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth, payload }),
    signal: timeout(),
  });
  return toReply(res);
}

/**
 * A POST with an exact body and exactly the given headers. A Uint8Array body makes fetch send no
 * Content-Type at all (a string body would get `text/plain;charset=UTF-8`).
 */
export async function rawPost(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: (typeof body === 'string' ? Buffer.from(body, 'utf8') : body) as unknown as RequestInit['body'],
    signal: timeout(),
  });
  return toReply(res);
}

/** An ItemPropertySchema item declaring `propertyName` as `valueType`. */
export const declare = (propertyName: string, valueType: string, itemType = 'Thing') => ({
  type: 'ItemPropertySchema',
  itemType,
  propertyName,
  valueType,
});

const describePayload = (payload: unknown) => {
  const json = JSON.stringify(payload) ?? String(payload);
  return json.length > 300 ? `${json.slice(0, 300)}…` : json;
};

/** One owner of a running pod, with its database key: the unit most tests work with. */
export class Owner {
  constructor(
    readonly url: string,
    readonly owner: string = randomKey(),
    readonly key: string = randomKey(),
    readonly version: ApiVersion = 'v4',
  ) {}

  get auth() {
    return clientAuth(this.key);
  }

  /** The same owner and key through the other API version. */
  as(version: ApiVersion) {
    return new Owner(this.url, this.owner, this.key, version);
  }

  /** The same owner with another database key. */
  withKey(key: string) {
    return new Owner(this.url, this.owner, key, this.version);
  }

  call(endpoint: string, payload: unknown, auth: unknown = this.auth): Promise<Reply> {
    return call(this.url, this.owner, endpoint, payload, auth, this.version);
  }

  /** Registers this owner's account (2023 §1.1: `POST /v4/account`, a bare body); asserts it is registered now. */
  async registerAccount(): Promise<void> {
    const res = await fetch(`${this.url}/${this.version}/account`, {
      method: 'POST',
      body: JSON.stringify({ ownerKey: this.owner, databaseKey: this.key }),
    });
    assert.ok(res.status === 200 || res.status === 409, `POST /${this.version}/account answered ${res.status}`);
  }

  /** Calls and asserts exactly 200 with a JSON answer; returns the parsed answer. */
  async ok(endpoint: string, payload: unknown): Promise<any> {
    const r = await this.call(endpoint, payload);
    assert.equal(
      r.status,
      200,
      `${this.version}/${endpoint} ${describePayload(payload)} answered ${r.status}: ${r.text.slice(0, 500)}`,
    );
    assert.ok(
      (r.headers.get('content-type') ?? '').startsWith('application/json'),
      `${endpoint}: content-type ${r.headers.get('content-type')}`,
    );
    assert.ok(r.text.length > 0, `${endpoint}: empty body`);
    return JSON.parse(r.text);
  }

  /** Calls and asserts the given (error) status; returns the reply. */
  async fails(endpoint: string, payload: unknown, status: number, auth: unknown = this.auth): Promise<Reply> {
    const r = await this.call(endpoint, payload, auth);
    assert.equal(
      r.status,
      status,
      `${this.version}/${endpoint} ${describePayload(payload)}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`,
    );
    assert.ok(r.text.trim().length > 0, `${endpoint}: an error answer carries a message`);
    if (/^\s*[{[]/.test(r.text))
      assert.match(
        r.headers.get('content-type') ?? '',
        /^application\/json/,
        `${endpoint}: a JSON error answer says it is JSON`,
      );
    return r;
  }

  async create(item: Record<string, unknown>): Promise<string> {
    const id = await this.ok('create_item', item);
    assert.equal(typeof id, 'string', `create_item answered ${JSON.stringify(id)}`);
    return id as string;
  }

  /** The item, asserting it exists. */
  async get(id: string): Promise<any> {
    const items = await this.ok('get_item', id);
    assert.ok(Array.isArray(items), `get_item answered ${JSON.stringify(items)}`);
    assert.equal(items.length, 1, `get_item ${id}: ${JSON.stringify(items)}`);
    assert.equal(items[0].id, id);
    return items[0];
  }

  /** The raw text of get_item (to look at number formatting). */
  async getText(id: string): Promise<string> {
    const r = await this.call('get_item', id);
    assert.equal(r.status, 200, r.text);
    return r.text;
  }

  search(query: Record<string, unknown>): Promise<any[]> {
    return this.ok('search', query);
  }

  /** Declares properties, `[name, valueType]` pairs, in one bulk. */
  async declare(...props: [string, string][]): Promise<void> {
    await this.ok('bulk', { createItems: props.map(([name, valueType]) => declare(name, valueType)) });
  }

  uploadPath(sha: string, databaseKey: string = this.key) {
    return `${this.url}/${this.version}/${this.owner}/upload_file/${databaseKey}/${sha}`;
  }

  uploadBPath(sha: string, auth: unknown = this.auth) {
    return `${this.url}/${this.version}/${this.owner}/upload_file_b/${encodeURIComponent(JSON.stringify(auth))}/${sha}`;
  }

  /** Uploads raw bytes with no Content-Type, as clients do. */
  upload(bytes: Uint8Array, sha: string = sha256hex(bytes), headers: Record<string, string> = {}): Promise<Reply> {
    return rawPost(this.uploadPath(sha), bytes, headers);
  }

  /** get_file: status, content-type and the exact bytes. */
  async getFile(sha: string): Promise<{ status: number; contentType: string | null; bytes: Buffer }> {
    const res = await fetch(`${this.url}/${this.version}/${this.owner}/get_file`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: this.auth, payload: { sha256: sha } }),
      signal: timeout(),
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      bytes: Buffer.from(await res.arrayBuffer()),
    };
  }
}

/** Every regular file under `dir`, recursively. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (entry.isFile()) out.push(p);
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return out.sort();
}

/** path → sha256 of the content, for every file under `dir`. */
export function snapshotFiles(dir: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const file of walkFiles(dir)) map.set(path.relative(dir, file), sha256hex(fs.readFileSync(file)));
  return map;
}

/** Without the -shm file: SQLite's shared-memory index (any connection's read may rewrite it), not content. */
export const withoutShm = (snapshot: Map<string, string>) =>
  new Map([...snapshot].filter(([file]) => !file.endsWith('-shm')));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A plugin principal that may do everything: for store tests of what a plugin's writes cause, not of its limits. */
export const unrestrictedPlugin = (creator: string, run: string): Principal => ({
  creator,
  run,
  visible: () => 'all',
  textScope: () => 'all',
  checkCreate() {},
  checkUpdate() {},
  checkDelete() {},
  checkEdge() {},
});

/** The environment a test plugin wrote to `file` as JSON: undefined while it is missing or still being written. */
export function pluginEnvironment(file: string): Record<string, string> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it answers something other than undefined; fails naming `what` after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The compiled CLI next to the compiled tests: dist/src/cli.js. */
export const cliPath = () => fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface CliPod {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Spawns the CLI on `dataDir` and waits until `GET /version` answers 200 (within `readyWithinMs`). */
export async function startCli(dataDir: string, extraArgs: string[] = [], readyWithinMs = 15_000): Promise<CliPod> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliPath(),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--log-level',
      'silent',
      ...extraArgs,
    ],
    // a process runner's plugin folder of the test's own, never the user's ~/.config/pod/plugins
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_PLUGIN_DIR: path.join(dataDir, 'plugins') } },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the pod CLI exited (${child.exitCode ?? child.signalCode}) before answering: ${output}`);
    try {
      const res = await fetch(`${url}/version`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the pod CLI did not answer GET /version within ${readyWithinMs / 1000} s: ${output}`);
    }
    await sleep(50);
  }
  return { child, url, output: () => output };
}

/** Stops a CLI child (SIGTERM, then SIGKILL) and waits for it to exit. */
export async function stopCli(pod: CliPod, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = pod;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A Pod in a process of its own for the tests of the enclosing `describe` (its event loop is not the test's). */
export function useCliPod(extraArgs: string[] = []): () => CliPod {
  let pod: CliPod | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-cli-'));
  before(async () => {
    pod = await startCli(dataDir, extraArgs);
  });
  after(async () => {
    if (pod) await stopCli(pod);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return () => {
    if (!pod) throw new Error('useCliPod(): the Pod is started in a before() hook; call pod() inside tests');
    return pod;
  };
}

/** Latencies of `probe`, called back to back until `busy` settles, sorted; and what `busy` answered. */
export async function latenciesWhile<T>(
  busy: Promise<T>,
  probe: () => Promise<unknown>,
): Promise<{ sorted: number[]; answer: T }> {
  let done = false;
  const settled = busy.finally(() => (done = true));
  const sorted: number[] = [];
  while (!done) {
    const started = performance.now();
    await probe();
    sorted.push(performance.now() - started);
  }
  return { sorted: sorted.sort((x, y) => x - y), answer: await settled };
}
