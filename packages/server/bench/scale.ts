/**
 * `npm run bench -- --scale` (issue 13): one owner filled to 1,000,000 items (`--items N`) over real
 * HTTP in bulks of 1,000, `npm run bench`'s items of 5 properties plus a few edges per bulk. After
 * each tenth: the tenth's bulk create rate, single create p50, equality search p50, `[[edges]]`
 * search p50 and the p50 of a sync-pull page from a point in the middle, each beside the in-process
 * ceiling of the same layout filled the same way in the same run (the Pod's own store in this
 * process: its page-cache share and checkpoints, no HTTP, parsing or validation). Two equality searches:
 * `tag` (10,000 values, so its matches grow with the owner) and `count` (one item per value at any size:
 * the same answer at 100k as at 10M). Then the event loop's longest pause while the filled owner opens,
 * checkpoints a full WAL and closes.
 *
 *   node packages/server/dist/bench/scale.js [--items N] [--probes N]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Command } from 'commander';
import { benchProgress } from '../src/bench-progress.js';
import { defaultConfig, ownerHash } from '../src/config.js';
import { startPodProcess } from '../src/pod-process.js';
import { openEncrypted } from '../src/storage/database.js';
import { type Owner, OwnerPool } from '../src/storage/owners.js';
import { OwnerStore } from '../src/storage/store.js';
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
  fairSearchP50: number;
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
  // One item per `count` value below `to` (the probes' own creates count from `extra` up).
  const fairSearchP50 = await p50(probes, async (k) => {
    if ((await target.search({ count: (k * 7919) % to, _limit: 100 })).length < 3)
      throw new Error('the equality search on count found nothing');
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
  return { bulkRate, createP50, searchP50, fairSearchP50, edgesP50, pullP50 };
}

function inProcess(dir: string): { target: Target; close(): Promise<void> } {
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

function overHttp(client: Client): Target {
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
  const header = ['items', 'bulk items/s', 'Pod/ceiling', 'create p50 ms', 'search tag p50 ms', 'search count p50 ms'];
  header.push('[[edges]] p50 ms');
  console.log([...header, 'pull page p50 ms'].join(' | '));
  stage('starting the Pod as a child process');
  let pod = await startPodProcess(join(dir, 'pod'));
  const ceiling = inProcess(dir);
  const client = new Client(pod.url);
  const http = overHttp(client);
  const rows: { pod: Figures; ceiling: Figures }[] = [];
  let podStopped = false;
  try {
    await http.readyBulk({ createItems: schema, createEdges: [] })();
    // Filtered on before the fill, so both stores keep the probed properties' equality indexes from the
    // first item (a first filter on a full owner builds one in the background while the probes run).
    for (const target of [http, ceiling.target])
      for (const query of [{ count: -1 }, { tag: '' }]) await target.search(query);
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
          both('fairSearchP50', 2),
          both('edgesP50', 2),
          both('pullP50', 2),
        ].join(' | '),
      );
      if (from === 0 && to >= PAUSES_TOO_AT && to < items) {
        // A long run measures the pauses at its first tenth as well (the Pod restarts on the same data).
        await pod.stop();
        podStopped = true;
        stage(`pauses at ${to.toLocaleString('en-US')} items`);
        await pauses(join(dir, 'pod'), client, to, 10 * items + to);
        pod = await startPodProcess(join(dir, 'pod'));
        podStopped = false;
        client.url = pod.url;
      }
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
        `create ${ratio('createP50', 'pod').toFixed(2)}×, search tag ${ratio('searchP50', 'pod').toFixed(2)}×, ` +
        `search count ${ratio('fairSearchP50', 'pod').toFixed(2)}×, ` +
        `[[edges]] ${ratio('edgesP50', 'pod').toFixed(2)}×, pull page ${ratio('pullP50', 'pod').toFixed(2)}×`,
    );
    await ceiling.close();
    await pod.stop();
    podStopped = true;
    stage('pauses: open, checkpoint and close of the filled owner');
    await pauses(join(dir, 'pod'), client, items, 10 * items + items);
  } finally {
    if (!podStopped) {
      await ceiling.close();
      await pod.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** From this many items in its first tenth, a run measures the pauses after that tenth too (then at the end). */
const PAUSES_TOO_AT = 1_000_000;

/** The WAL size at which the owner pool checkpoints (owners.ts). */
const CHECKPOINT_WAL_BYTES = 40 * 1024 * 1024;

/**
 * The event loop's longest pause (what every request of every owner waits) while the filled owner opens,
 * checkpoints a WAL of 40 MiB and closes, through the Pod's own owner pool in this process (the Pod's
 * process has stopped). Beside it, the same checkpoint run on the main thread, as the Pod did before.
 */
async function pauses(dataDir: string, client: Client, filled: number, firstNumber: number) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const nap = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const measure = async (work: () => unknown) => {
    await nap(50);
    loop.reset();
    await nap(5); // the first timer after a reset only starts the histogram's clock
    const began = performance.now();
    await work();
    const ms = performance.now() - began;
    await nap(20); // the histogram sees a pause when its next timer fires
    return { ms, pause: loop.max / 1e6 };
  };
  const limits = { ...defaultConfig().limits, maxOpenOwners: 10 };
  const pool = new OwnerPool({ dataDir, owners: 'ANY', idleCloseMs: 3_600_000, limits });
  const databaseKey = client.auth.databaseKey;
  const ownerDir = join(dataDir, ownerHash(client.owner));
  const walBytes = () => statSync(join(ownerDir, 'pod.db-wal'), { throwIfNoEntry: false })?.size ?? 0;
  let opened: Owner | undefined;
  const open = await measure(() => {
    opened = pool.authenticate(client.owner, databaseKey);
  });
  if (!opened) throw new Error('the owner did not open');
  const owner = opened;
  const firstRequests = await measure(() => {
    owner.store.searchJson({ count: 12_345, _limit: 100 });
    owner.store.write(() => owner.store.createItem(makeItem(-1)));
  });
  // Bulks until the WAL passes the size: that commit hands the checkpoint to the thread.
  let next = 0;
  let longestBulkMs = 0;
  while (walBytes() <= CHECKPOINT_WAL_BYTES) {
    const { createItems, createEdges } = makeBulk(firstNumber + next);
    next += BATCH;
    const began = performance.now();
    owner.store.write(() => {
      for (const item of createItems) owner.store.createItem(item);
      for (const edge of createEdges) owner.store.createEdge(edge);
    });
    longestBulkMs = Math.max(longestBulkMs, performance.now() - began);
    await nap(1);
  }
  const fullWal = walBytes();
  let searches = 0;
  let slowestSearchMs = 0;
  const checkpoint = await measure(async () => {
    let done = false;
    const settled = pool.settled().then(() => {
      done = true;
    });
    // Requests go on meanwhile: the owner's own searches, one per turn.
    while (!done) {
      const began = performance.now();
      owner.store.searchJson({ count: (searches * 7919) % 100_000, _limit: 100 });
      slowestSearchMs = Math.max(slowestSearchMs, performance.now() - began);
      searches++;
      await nap(2);
    }
    await settled;
  });
  owner.store.write(() => owner.store.createItem(makeItem(-2)));
  const close = await measure(() => pool.closeAll());

  // Before: the same size of WAL checkpointed on the main thread (what a commit or a close paused for).
  const db = openEncrypted(join(ownerDir, 'pod.db'), Buffer.from(databaseKey, 'hex'), false);
  const store = new OwnerStore(db);
  while (walBytes() <= CHECKPOINT_WAL_BYTES) {
    const { createItems, createEdges } = makeBulk(firstNumber + next);
    next += BATCH;
    store.write(() => {
      for (const item of createItems) store.createItem(item);
      for (const edge of createEdges) store.createEdge(edge);
    });
  }
  const inlineWal = walBytes();
  const inline = await measure(() => db.pragma('wal_checkpoint(TRUNCATE)'));
  db.close();
  loop.disable();

  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const row = (what: string, { ms, pause }: { ms: number; pause: number }) =>
    console.log(`${what} | ${ms.toFixed(1)} | ${pause.toFixed(1)}`);
  console.log(
    `\nthe owner at ${filled.toLocaleString('en-US')} items (+ ${next.toLocaleString('en-US')} written here to fill ` +
      'the WALs; goal: no pause over 100 ms); what | took ms | longest event-loop pause ms',
  );
  row('open (authenticate)', open);
  row('first search + first create', firstRequests);
  row(`checkpoint of a ${mib(fullWal)} WAL on the checkpoint thread (${searches} searches meanwhile)`, checkpoint);
  row('close (the rest of the WAL checkpointed on the thread)', close);
  row(`before: the same checkpoint (${mib(inlineWal)} WAL) on the main thread`, inline);
  console.log(
    `slowest search during the checkpoint: ${slowestSearchMs.toFixed(1)} ms; ` +
      `longest bulk of ${BATCH} filling the WAL: ${longestBulkMs.toFixed(1)} ms (its own write, not a checkpoint)`,
  );
}

await main();
