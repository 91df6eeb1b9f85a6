/**
 * Many owners on one Pod (issue 15 part 7): OWNERS owners (default 10,000) each create their
 * database and an item, and come back, against one Pod process whose open-database cap
 * (`--max-open-owners`, default here 200) closes the least recently used ones. Figures: the first
 * request to a cold owner (one the cap closed: its database is reopened and its key proven again)
 * beside the same request to a warm one, and the Pod's RSS and open file descriptors at start,
 * peak and end. Part of `npm run bench`; alone: `node packages/server/dist/bench/many-owners.js`
 * (BENCH_OWNERS and BENCH_MAX_OPEN_OWNERS to change the sizes).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchProgress, type Progress } from '../src/bench-progress.js';
import { startPodProcess, type PodProcess } from '../src/pod-process.js';

const OWNERS = Number(process.env.BENCH_OWNERS ?? 10_000);
const MAX_OPEN = Number(process.env.BENCH_MAX_OPEN_OWNERS ?? 200);
/** Cold first requests measured, owners picked among those the cap closed. */
const COLD_SAMPLES = Math.min(1_000, Math.max(1, OWNERS - MAX_OPEN));
/** Requests in flight while the owners are created: several clients at once, as on a shared host. */
const LANES = 8;

export interface ManyOwnersFigures {
  owners: number;
  maxOpen: number;
  cold: { p50: number; p99: number };
  warm: { p50: number; p99: number };
  /** Owners created per second (database created, one item written), LANES at a time. */
  createRate: number;
  rssMiB: { start: number; peak: number; end: number };
  fds: { start: number; peak: number; end: number };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const figures = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

const agent = new Agent({ keepAlive: true, maxSockets: LANES });

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      { method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
        res.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

interface BenchOwner {
  key: string;
  auth: { type: 'ClientAuth'; databaseKey: string };
}

async function call(url: string, owner: BenchOwner, endpoint: string, payload: unknown): Promise<number> {
  const started = performance.now();
  const answer = await post(`${url}/v4/${owner.key}/${endpoint}`, JSON.stringify({ auth: owner.auth, payload }));
  const took = performance.now() - started;
  if (answer.status !== 200) throw new Error(`${endpoint}: ${answer.status} ${answer.text.slice(0, 200)}`);
  return took;
}

/** The Pod process's open file descriptors (Linux /proc). */
const openFds = (pod: PodProcess) => readdirSync(`/proc/${pod.child.pid}/fd`).length;

export async function benchManyOwners(
  stage: Progress,
  owners = OWNERS,
  maxOpen = MAX_OPEN,
): Promise<ManyOwnersFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-bench-owners-'));
  const pod = await startPodProcess(join(dir, 'pod'), ['--max-open-owners', String(maxOpen)]);
  try {
    const start = { rss: pod.rssMiB(), fds: openFds(pod) };
    let peakFds = start.fds;
    const all: BenchOwner[] = Array.from({ length: owners }, () => ({
      key: randomBytes(32).toString('hex'),
      auth: { type: 'ClientAuth', databaseKey: randomBytes(32).toString('hex') },
    }));

    stage(`${owners.toLocaleString('en-US')} owners each create their database and an item, ${LANES} at a time`);
    let next = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        for (let i = next++; i < owners; i = next++) {
          await call(pod.url, all[i]!, 'create_item', { id: `note-${i}`, type: 'Note' });
          if (i % 50 === 0) peakFds = Math.max(peakFds, openFds(pod));
        }
      }),
    );
    const createRate = owners / ((performance.now() - began) / 1000);

    // The last `maxOpen` owners are open; every earlier one was closed by the cap. One at a time,
    // so each figure is one request's own latency.
    stage(`${COLD_SAMPLES} first requests to cold owners, each beside a second one (warm)`);
    const cold: number[] = [];
    const warm: number[] = [];
    const closed = owners - maxOpen;
    for (let sample = 0; sample < Math.min(COLD_SAMPLES, closed); sample++) {
      // spread over the closed owners, oldest first, so none was reopened by an earlier sample
      const i = Math.floor((sample * closed) / COLD_SAMPLES);
      const owner = all[i]!;
      cold.push(await call(pod.url, owner, 'get_item', `note-${i}`));
      warm.push(await call(pod.url, owner, 'get_item', `note-${i}`));
      if (sample % 50 === 0) peakFds = Math.max(peakFds, openFds(pod));
    }
    return {
      owners,
      maxOpen,
      cold: figures(cold),
      warm: figures(warm),
      createRate,
      rssMiB: { start: start.rss, peak: pod.peakRssMiB(), end: pod.rssMiB() },
      fds: { start: start.fds, peak: Math.max(peakFds, openFds(pod)), end: openFds(pod) },
    };
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows `npm run bench` prints: figure, the Pod's value, unit, reference, its label, goal, met. */
export function manyOwnersRows(f: ManyOwnersFigures): [string, number, string, number, string, string, boolean][] {
  const sizes = `${f.owners.toLocaleString('en-US')} owners, cap ${f.maxOpen}`;
  // Bounded: what the cap keeps open (a database, its WAL and its reader: a few descriptors each), not the owners.
  const fdBound = f.fds.start + 6 * f.maxOpen;
  return [
    [
      `cold owner, first request p50 (${sizes})`,
      f.cold.p50,
      'ms',
      f.warm.p50,
      'same owner, warm',
      '≤ 5 ms',
      f.cold.p50 <= 5,
    ],
    [`cold owner, first request p99 (${sizes})`, f.cold.p99, 'ms', f.warm.p99, 'same owner, warm', '', true],
    [`Pod RSS peak (${sizes})`, f.rssMiB.peak, 'MiB', f.rssMiB.start, 'at start', '', true],
    [`Pod RSS at end (${sizes})`, f.rssMiB.end, 'MiB', f.rssMiB.start, 'at start', '', true],
    [
      `Pod open file descriptors, peak (${sizes})`,
      f.fds.peak,
      'fds',
      f.fds.start,
      'at start',
      `≤ ${fdBound} (start + 6 × cap)`,
      f.fds.peak <= fdBound,
    ],
    [`Pod open file descriptors, end (${sizes})`, f.fds.end, 'fds', f.fds.start, 'at start', '', true],
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await benchManyOwners(benchProgress('many-owners bench', 2));
  console.log(
    `${f.owners.toLocaleString('en-US')} owners, --max-open-owners ${f.maxOpen}, ${Math.round(f.createRate)} owners/s created`,
  );
  console.log(
    `cold first request: p50 ${f.cold.p50.toFixed(2)} ms, p99 ${f.cold.p99.toFixed(2)} ms (goal p50 ≤ 5 ms); ` +
      `warm: p50 ${f.warm.p50.toFixed(2)} ms, p99 ${f.warm.p99.toFixed(2)} ms`,
  );
  console.log(
    `RSS MiB start/peak/end: ${f.rssMiB.start.toFixed(0)}/${f.rssMiB.peak.toFixed(0)}/${f.rssMiB.end.toFixed(0)}`,
  );
  console.log(`open fds start/peak/end: ${f.fds.start}/${f.fds.peak}/${f.fds.end}`);
}
