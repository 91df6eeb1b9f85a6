/**
 * `npm run bench -- --scale` (issue 13): one owner filled to 1,000,000 items (`--items N`) over real
 * HTTP in bulks of 1,000, `npm run bench`'s items of 5 properties plus a few edges per bulk. After
 * each tenth: the tenth's bulk create rate, single create p50, equality search p50, `[[edges]]`
 * search p50 and the p50 of a sync-pull page from a point in the middle, each beside the in-process
 * ceiling of the same layout filled the same way in the same run (the Pod's own store in this
 * process: its page-cache share and checkpoints, no HTTP, parsing or validation).
 *
 *   node packages/server/dist/bench/scale.js [--items N] [--probes N]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { benchProgress } from '../src/bench-progress.js';
import { defaultConfig } from '../src/config.js';
import { startPodProcess } from '../src/pod-process.js';
import { OwnerPool } from '../src/storage/owners.js';
import { Client, percentile } from './fairness.js';
import { BULK_SIZE, EDGES_PER_BATCH, makeBulk, makeItem, schema } from './workload.js';

const BATCH = BULK_SIZE;

/** The same calls, over HTTP or in-process. */
interface Target {
  /** The bulk in the target's own input form (over HTTP: the request body), and the call that sends it. */
  readyBulk(payload: ReturnType<typeof makeBulk>): () => Promise<void>;
  create(item: object): Promise<void>;
  search(query: object): Promise<string>;
}

interface Figures {
  bulkRate: number;
  createP50: number;
  searchP50: number;
  edgesP50: number;
  pullP50: number;
}

async function p50(samples: number, work: (k: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < samples; k++) {
    const began = performance.now();
    await work(k);
    times.push(performance.now() - began);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

/**
 * Fills each target from `from` to `to`, one bulk each in turn, so that the load of a shared machine
 * falls on all alike; answers each one's bulk create rate (items/s).
 */
async function fill(targets: Target[], from: number, to: number): Promise<number[]> {
  const took = targets.map(() => 0);
  for (let first = from; first < to; first += BATCH)
    for (const [k, target] of targets.entries()) {
      const send = target.readyBulk(makeBulk(first));
      const began = performance.now();
      await send();
      took[k] = (took[k] ?? 0) + performance.now() - began;
    }
  return took.map((ms) => (to - from) / (ms / 1000));
}

/** Probes `target` once filled to `to`; `extra` numbers the probes' own creates apart. */
async function tenth(target: Target, to: number, bulkRate: number, probes: number, extra: number): Promise<Figures> {
  const pick = (k: number) => Math.floor(((k * 7919) % (to / BATCH)) * BATCH) + (k % (EDGES_PER_BATCH - 1));
  const createP50 = await p50(probes, (k) => target.create(makeItem(extra + k)));
  const searchP50 = await p50(probes, async (k) => {
    if ((await target.search({ tag: `tag-${(k * 7919) % Math.min(10_000, to)}`, _limit: 100 })).length < 3)
      throw new Error('the equality search found nothing');
  });
  const edgesP50 = await p50(probes, async (k) => {
    if (!(await target.search({ id: `linked-${pick(k)}`, '[[edges]]': {} })).includes('"_edge":"next"'))
      throw new Error('the [[edges]] search found no edge');
  });
  const [middle] = JSON.parse(await target.search({ id: `linked-${pick(1)}` })) as { dateServerModified: number }[];
  const pullP50 = await p50(Math.max(5, probes / 4), async (k) => {
    const page = await target.search({ 'dateServerModified>=': (middle?.dateServerModified ?? 0) + k, _limit: BATCH });
    if (page.length < 1000) throw new Error('the pull page is empty');
  });
  return { bulkRate, createP50, searchP50, edgesP50, pullP50 };
}

function inProcess(dir: string): { target: Target; close(): void } {
  // The Pod's own owner, opened by its own pool beside it: the page cache a lone owner gets from the
  // budget and the checkpoints the Pod makes after a commit; only HTTP, parsing and validation are left out.
  const owners = new OwnerPool({ ...defaultConfig(), dataDir: join(dir, 'ceiling') });
  const owner = owners.authenticate(randomBytes(32).toString('hex'), randomBytes(32).toString('hex'));
  const { store } = owner;
  store.write(() => {
    for (const item of schema) store.createItem(item);
  });
  // Each call holds the owner as a request does (so it is not closed as idle), then a turn of the
  // event loop, as a server has between requests: the store's background work (an index build) runs there.
  const call = async <T>(work: () => T): Promise<T> => {
    const answer = await owners.using(owner, async () => work());
    await new Promise(setImmediate);
    return answer;
  };
  return {
    target: {
      readyBulk:
        ({ createItems, createEdges }) =>
        () =>
          call(() =>
            store.write(() => {
              for (const item of createItems) store.createItem(item);
              for (const edge of createEdges) store.createEdge(edge);
            }),
          ),
      create: (item) => call(() => void store.write(() => store.createItem(item as Record<string, unknown>))),
      search: (query) => call(() => store.searchJson(query as Record<string, unknown>)),
    },
    close: () => owners.closeAll(),
  };
}

function overHttp(url: string): Target {
  const client = new Client(url);
  return {
    readyBulk: (payload) => {
      const body = client.body(payload);
      return async () => void (await client.ok('bulk', payload, body));
    },
    create: async (item) => void (await client.ok('create_item', item)),
    search: async (query) => (await client.ok('search', query)).toString(),
  };
}

async function main() {
  const options = new Command()
    .option('--items <n>', 'items to fill the owner with', (v) => Number(v), 1_000_000)
    .option('--probes <n>', 'samples per latency figure per tenth', (v) => Number(v), 200)
    .parse()
    .opts<{ items: number; probes: number }>();
  const { items, probes } = options;
  const step = Math.max(BATCH, Math.floor(items / 10 / BATCH) * BATCH);
  const dir = mkdtempSync(join(tmpdir(), 'pod-scale-'));
  const stage = benchProgress('pod scale bench', 1 + Math.ceil(items / step) * 2);
  console.log(`Pod scale bench — ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}`);
  console.log(
    `one owner filled to ${items.toLocaleString('en-US')} items of 5 properties (+ ${EDGES_PER_BATCH - 1} edges ` +
      `per bulk of ${BATCH}); each tenth's figures, Pod over HTTP | in-process ceiling; p50s of ${probes} calls\n`,
  );
  const header = ['items', 'bulk items/s', 'Pod/ceiling', 'create p50 ms', 'search p50 ms', '[[edges]] p50 ms'];
  console.log([...header, 'pull page p50 ms'].join(' | '));
  stage('starting the Pod as a child process');
  const pod = await startPodProcess(join(dir, 'pod'));
  const ceiling = inProcess(dir);
  const http = overHttp(pod.url);
  const rows: { pod: Figures; ceiling: Figures }[] = [];
  try {
    await http.readyBulk({ createItems: schema, createEdges: [] })();
    for (let from = 0; from < items; from += step) {
      const to = Math.min(items, from + step);
      stage(`both, a bulk each in turn: items ${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')}`);
      const [ceilingRate = 0, podRate = 0] = await fill([ceiling.target, http], from, to);
      stage(`probes at ${to.toLocaleString('en-US')} items`);
      const engine = await tenth(ceiling.target, to, ceilingRate, probes, items + from);
      const overHttpFigures = await tenth(http, to, podRate, probes, items + from);
      rows.push({ pod: overHttpFigures, ceiling: engine });
      const both = (f: keyof Figures, digits: number) =>
        `${overHttpFigures[f].toFixed(digits)} | ${engine[f].toFixed(digits)}`;
      console.log(
        [
          to.toLocaleString('en-US'),
          both('bulkRate', 0),
          `${((overHttpFigures.bulkRate / engine.bulkRate) * 100).toFixed(0)}%`,
          both('createP50', 2),
          both('searchP50', 2),
          both('edgesP50', 2),
          both('pullP50', 2),
        ].join(' | '),
      );
    }
    const first = rows[0]!;
    const last = rows.at(-1)!;
    const ratio = (f: keyof Figures, of: 'pod' | 'ceiling') => last[of][f] / first[of][f];
    const totalPod = items / rows.reduce((sum, r) => sum + step / r.pod.bulkRate, 0);
    const totalCeiling = items / rows.reduce((sum, r) => sum + step / r.ceiling.bulkRate, 0);
    console.log(
      `\nbulk create, all: ${Math.round(totalPod)} items/s (Pod) | ${Math.round(totalCeiling)} (ceiling), ` +
        `Pod/ceiling ${((totalPod / totalCeiling) * 100).toFixed(0)}% (goal ≥ 90%)`,
    );
    console.log(
      `last tenth / first tenth: bulk ${(ratio('bulkRate', 'pod') * 100).toFixed(0)}% (goal ≥ 50%), ` +
        `ceiling ${(ratio('bulkRate', 'ceiling') * 100).toFixed(0)}%; p50s (goal ≤ 1.5×): ` +
        `create ${ratio('createP50', 'pod').toFixed(2)}×, search ${ratio('searchP50', 'pod').toFixed(2)}×, ` +
        `[[edges]] ${ratio('edgesP50', 'pod').toFixed(2)}×, pull page ${ratio('pullP50', 'pod').toFixed(2)}×`,
    );
  } finally {
    ceiling.close();
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
