/**
 * Fairness: owner B's get_item latency while owner A runs the heaviest legal reads (a search of
 * everything, bulks of 100 searches with `[[edges]]`) and pushes ITEMS items, beside the same
 * figure on an idle Pod in the same run. Part of `npm run bench`; alone:
 * `node packages/server/dist/bench/fairness.js` (BENCH_ITEMS to change the size).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchProgress, quiet, type Progress } from '../src/bench-progress.js';
import { startPodProcess } from '../src/pod-process.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);

export interface FairnessFigures {
  idle: { p50: number; p99: number };
  /** A pushes ITEMS items in bulks of 1,000 (as clients split their pushes) while reading heavily. */
  busy: { p50: number; p99: number; max: number; samples: number };
  /** A pushes all ITEMS items in one bulk (one write transaction) while reading heavily. */
  oneBulk: { p50: number; p99: number; max: number; samples: number };
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

export class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly owner = randomBytes(32).toString('hex');
  readonly auth = { type: 'ClientAuth', databaseKey: randomBytes(32).toString('hex') };

  /** Where the Pod listens (a bench that restarts it sets the new address). */
  constructor(public url: string) {}

  /** A call's request body: the payload in its envelope. */
  body(payload: unknown): string {
    return JSON.stringify({ auth: this.auth, payload });
  }

  /**
   * POSTs (the body made already, if given) and answers the status and body bytes (not parsed: the
   * client's own work stays small).
   */
  call(endpoint: string, payload: unknown, body = this.body(payload)): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}/v4/${this.owner}/${endpoint}`,
        { method: 'POST', agent: this.agent, headers: { 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async ok(endpoint: string, payload: unknown, made?: string): Promise<Buffer> {
    const { status, body } = await this.call(endpoint, payload, made);
    if (status !== 200) throw new Error(`${endpoint}: ${status} ${body.subarray(0, 300).toString()}`);
    return body;
  }
}

const note = (i: number) => ({
  type: 'Note',
  title: `note number ${i} ${randomBytes(6).toString('hex')}`,
  tag: `tag-${i % 10_000}`,
  count: i,
});
const schema = [
  ['title', 'Text'],
  ['tag', 'Text'],
  ['count', 'Integer'],
].map(([propertyName, valueType]) => ({ type: 'ItemPropertySchema', itemType: 'Note', propertyName, valueType }));

/** B's get_item, one after the other, until `until` settles; sorted latencies in ms. */
async function probe(b: Client, id: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    await b.ok('get_item', id);
    latencies.push(performance.now() - started);
  }
  return latencies.sort((x, y) => x - y);
}

/** A's heaviest legal reads, round after round until `stop` is set: answers over the budget count (they did the reading). */
async function heavyReads(a: Client, stop: { done: boolean }) {
  while (!stop.done) {
    await a.call('search', {});
    await a.call('bulk', {
      search: Array.from({ length: 100 }, () => ({ type: 'Note', _limit: 1_000, '[[edges]]': {} })),
    });
  }
}

export async function benchFairness(stage: Progress = quiet): Promise<FairnessFigures> {
  stage('seeding owner A with 10,000 items and 1,000 edges');
  const dir = mkdtempSync(join(tmpdir(), 'pod-fairness-'));
  const pod = await startPodProcess(dir);
  try {
    const a = new Client(pod.url);
    const b = new Client(pod.url);
    const canary = JSON.parse((await b.ok('create_item', { type: 'Canary' })).toString()) as string;
    await a.ok('bulk', { createItems: schema });
    // A starts with 10,000 items, 1,000 of them linked, so that its reads have something to expand
    const seeded: string[] = [];
    for (let start = 0; start < 10_000; start += 1_000)
      seeded.push(
        ...(JSON.parse(
          (await a.ok('bulk', { createItems: Array.from({ length: 1_000 }, (_, k) => note(start + k)) })).toString(),
        ).createItems as string[]),
      );
    await a.ok('bulk', {
      createEdges: seeded.slice(0, 1_000).map((id, k) => ({ _source: id, _target: seeded[k + 1_000], _name: 'next' })),
    });

    stage('owner B alone, 5 s');
    const idleEnd = new Promise((resolve) => setTimeout(resolve, 5_000));
    const idle = await probe(b, canary, idleEnd);

    stage(`owner B while A reads heavily and pushes ${ITEMS.toLocaleString('en-US')} items in bulks of 1,000`);
    const stop = { done: false };
    const pushInPages = (async () => {
      for (let start = 0; start < ITEMS; start += 1_000)
        await a.ok('bulk', {
          createItems: Array.from({ length: Math.min(1_000, ITEMS - start) }, (_, k) => note(10_000 + start + k)),
        });
    })();
    const readers = heavyReads(a, stop);
    const busy = await probe(b, canary, pushInPages);
    stop.done = true;
    await readers;

    stage(`owner B while A reads heavily and pushes ${ITEMS.toLocaleString('en-US')} items in one bulk`);
    const stopOne = { done: false };
    const oneBulk = a.ok('bulk', { createItems: Array.from({ length: ITEMS }, (_, k) => note(20_000_000 + k)) });
    const readersOne = heavyReads(new Client(pod.url), stopOne);
    const one = await probe(b, canary, oneBulk);
    stopOne.done = true;
    await readersOne;

    const figures = (sorted: number[]) => ({
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1)!,
      samples: sorted.length,
    });
    return {
      idle: { p50: percentile(idle, 50), p99: percentile(idle, 99) },
      busy: figures(busy),
      oneBulk: figures(one),
    };
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await benchFairness(benchProgress('fairness bench', 4));
  console.log(
    `owner B get_item, idle Pod:                          p50 ${f.idle.p50.toFixed(2)} ms, p99 ${f.idle.p99.toFixed(2)} ms`,
  );
  console.log(
    `… while A reads heavily + pushes ${ITEMS} in bulks of 1,000: p50 ${f.busy.p50.toFixed(2)} ms, p99 ${f.busy.p99.toFixed(2)} ms, max ${f.busy.max.toFixed(0)} ms (${f.busy.samples} calls; goal p99 ≤ 50 ms)`,
  );
  console.log(
    `… while A reads heavily + pushes ${ITEMS} in ONE bulk:       p50 ${f.oneBulk.p50.toFixed(2)} ms, p99 ${f.oneBulk.p99.toFixed(2)} ms, max ${f.oneBulk.max.toFixed(0)} ms (${f.oneBulk.samples} calls)`,
  );
}
