/**
 * `npm run bench`: the Pod over real HTTP on loopback (a child process, as users run it), each
 * figure beside a reference measured in the same run: the same work done in-process on an
 * encrypted database of the same layout (the engine's ceiling), or a bare HTTP server.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { cpus, tmpdir, type as osType, release } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerRunner } from '../src/plugins/docker-runner.js';
import { ProcessRunner } from '../src/plugins/process-runner.js';
import { defaultConfig } from '../src/config.js';
import { OwnerPool } from '../src/storage/owners.js';
import { benchFairness } from './fairness.js';
import { benchFullText, fullTextRows } from './fulltext.js';
import { benchGraphql } from './graphql.js';
import { benchManyOwners, manyOwnersRows } from './many-owners.js';
import { benchThumbnails, thumbnailRows } from './thumbnails.js';
import { benchMove, moveRows } from './move.js';
import { benchProgress } from '../src/bench-progress.js';
import { startPodProcess } from '../src/pod-process.js';
import { DOCKER_SOCKET, ENV_PLUGIN, ENV_PLUGIN_IMAGE, benchPluginStart, buildEnvPluginImage } from './plugin-start.js';
import { makeItem, schema } from './workload.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const BATCH = 1_000;
const FILE_MIB = Number(process.env.BENCH_FILE_MIB ?? 100);
const owner = randomBytes(32).toString('hex');
const databaseKey = randomBytes(32).toString('hex');
const auth = { type: 'ClientAuth', databaseKey };

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

interface Row {
  figure: string;
  pod: string;
  reference: string;
  ratio: string;
  goal: string;
  met: string;
}
const rows: Row[] = [];
const report = (
  figure: string,
  pod: number,
  unit: string,
  reference: number,
  refLabel: string,
  goal: string,
  met: boolean,
) =>
  rows.push({
    figure,
    pod: `${fmt(pod)} ${unit}`,
    reference: `${fmt(reference)} ${unit} (${refLabel})`,
    ratio: reference ? `${((pod / reference) * 100).toFixed(0)}%` : '',
    goal,
    met: met ? 'yes' : 'NO',
  });
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** POST over a keep-alive connection; large bodies go out in 1 MiB writes. */
function post(url: string, body: Buffer | string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const write = (offset: number): void => {
      while (offset < bytes.length) {
        const next = offset + (1 << 20);
        if (!request.write(bytes.subarray(offset, next))) return void request.once('drain', () => write(next));
        offset = next;
      }
      request.end();
    };
    write(0);
  });
}

async function call(url: string, endpoint: string, payload: unknown, body?: string) {
  const response = await post(`${url}/v4/${owner}/${endpoint}`, body ?? JSON.stringify({ auth, payload }));
  const text = response.body.toString('utf8');
  if (response.status !== 200) throw new Error(`${endpoint}: ${response.status} ${text.slice(0, 200)}`);
  return text;
}

/** A bare HTTP server: the floor of any request/response over loopback with this client. */
async function rawServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.on('data', () => {});
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'pod-bench-'));
  console.log(
    `Pod bench — ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${osType()} ${release()}`,
  );
  console.log(
    `${ITEMS.toLocaleString('en-US')} items of 5 properties in requests of ${BATCH}; files of ${FILE_MIB} MiB\n`,
  );
  const stage = benchProgress('pod bench', 9);

  // --- the engine's ceiling: the same batches straight into an encrypted store, no HTTP ---
  stage(`engine ceiling: ${ITEMS.toLocaleString('en-US')} items straight into an encrypted store`);
  // The Pod's own owner, opened by its pool in this process: its cache share and checkpoints (issue 13).
  const ceilingOwners = new OwnerPool({ ...defaultConfig(), dataDir: join(dir, 'ceiling') });
  const ceiling = ceilingOwners.authenticate(randomBytes(32).toString('hex'), randomBytes(32).toString('hex')).store;
  const insert = (items: object[]) =>
    ceiling.write(() => {
      for (const item of items) ceiling.createItem(item as Record<string, unknown>);
    });
  insert(schema);
  const batches: object[][] = [];
  for (let start = 0; start < ITEMS; start += BATCH)
    batches.push(Array.from({ length: Math.min(BATCH, ITEMS - start) }, (_, k) => makeItem(start + k)));
  let start = process.hrtime.bigint();
  for (const batch of batches) insert(batch);
  const ceilingRate = ITEMS / (ms(start) / 1000);

  // --- the Pod over HTTP ---
  stage('starting the Pod as a child process');
  const pod = await startPodProcess(join(dir, 'pod'));
  const raw = await rawServer();
  try {
    await call(pod.url, 'bulk', { createItems: schema });
    const bodies = batches.map((batch) => JSON.stringify({ auth, payload: { createItems: batch } }));
    stage(`bulk create: ${ITEMS.toLocaleString('en-US')} items over HTTP in requests of ${BATCH}`);
    start = process.hrtime.bigint();
    for (const body of bodies) await call(pod.url, 'bulk', null, body);
    const bulkRate = ITEMS / (ms(start) / 1000);
    report(
      'bulk create, items/s',
      bulkRate,
      'items/s',
      ceilingRate,
      'in-process engine',
      '≥ 15,000/s and ≥ 60% of ceiling',
      bulkRate >= 15_000 && bulkRate >= 0.6 * ceilingRate,
    );

    // single create_item over keep-alive
    const singles = 2_000;
    stage(`single create_item: ${singles} over HTTP, a bare server and the engine`);
    const latencies: number[] = [];
    const singleStart = process.hrtime.bigint();
    for (let i = 0; i < singles; i++) {
      const t = process.hrtime.bigint();
      await call(pod.url, 'create_item', makeItem(ITEMS + i));
      latencies.push(ms(t));
    }
    const singleRate = singles / (ms(singleStart) / 1000);
    latencies.sort((a, b) => a - b);
    const rawLatencies: number[] = [];
    for (let i = 0; i < singles; i++) {
      const t = process.hrtime.bigint();
      await post(raw.url, JSON.stringify({ auth, payload: makeItem(i) }));
      rawLatencies.push(ms(t));
    }
    rawLatencies.sort((a, b) => a - b);
    const engineLatencies: number[] = [];
    for (let i = 0; i < singles; i++) {
      const t = process.hrtime.bigint();
      ceiling.write(() => ceiling.createItem(makeItem(i)));
      engineLatencies.push(ms(t));
    }
    engineLatencies.sort((a, b) => a - b);
    report(
      'single create_item, requests/s',
      singleRate,
      'req/s',
      1000 / percentile(rawLatencies, 50),
      'bare HTTP server',
      '',
      true,
    );
    report(
      'single create_item, p50',
      percentile(latencies, 50),
      'ms',
      percentile(rawLatencies, 50),
      'bare HTTP server',
      '≤ 2 ms',
      percentile(latencies, 50) <= 2,
    );
    report(
      'single create_item, p99',
      percentile(latencies, 99),
      'ms',
      percentile(engineLatencies, 99),
      'in-process engine',
      '',
      true,
    );

    // equality search on a Text property with ~10,000 distinct values
    const searches = 500;
    stage(`equality search: ${searches} over HTTP and in the engine`);
    const searchLatencies: number[] = [];
    const engineSearch: number[] = [];
    for (let i = 0; i < searches; i++) {
      const query = { tag: `tag-${(i * 7919) % Math.min(10_000, ITEMS)}` };
      let t = process.hrtime.bigint();
      const found = JSON.parse(await call(pod.url, 'search', query)) as unknown[];
      searchLatencies.push(ms(t));
      if (found.length === 0) throw new Error(`search found nothing for ${query.tag}`);
      t = process.hrtime.bigint();
      ceiling.searchJson(query);
      engineSearch.push(ms(t));
    }
    searchLatencies.sort((a, b) => a - b);
    engineSearch.sort((a, b) => a - b);
    report(
      'equality search, p50',
      percentile(searchLatencies, 50),
      'ms',
      percentile(engineSearch, 50),
      'in-process engine',
      '≤ 5 ms',
      percentile(searchLatencies, 50) <= 5,
    );

    // pull everything oldest to newest in pages of 1,000, as a syncing client does; a page holds
    // every item sharing its last timestamp (the _limit tie rule), so the next page starts after it
    const pull = async (page: (cursor: number) => Promise<{ dateServerModified: number; id: string }[]>) => {
      const seen = new Set<string>();
      let cursor = 0;
      const t = process.hrtime.bigint();
      for (;;) {
        const items = await page(cursor);
        if (items.length === 0) break;
        for (const item of items) seen.add(item.id);
        cursor = items[items.length - 1]!.dateServerModified + 1;
      }
      return { count: seen.size, rate: seen.size / (ms(t) / 1000) };
    };
    stage('full pull in pages of 1,000, over HTTP and in the engine');
    const pulled = await pull(async (cursor) =>
      JSON.parse(await call(pod.url, 'search', { 'dateServerModified>=': cursor, _limit: BATCH })),
    );
    const pulledCeiling = await pull(async (cursor) =>
      JSON.parse(ceiling.searchJson({ 'dateServerModified>=': cursor, _limit: BATCH })),
    );
    if (pulled.count < ITEMS) throw new Error(`the pull saw ${pulled.count} items`);
    report(
      'full pull, items/s',
      pulled.rate,
      'items/s',
      pulledCeiling.rate,
      'in-process engine',
      '≥ 50,000/s',
      pulled.rate >= 50_000,
    );

    // a 100 MiB file up and down
    stage(`a ${FILE_MIB} MiB file up and down`);
    const bytes = randomBytes(FILE_MIB * 1024 * 1024);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await call(pod.url, 'create_item', { type: 'File', sha256 });
    const rssBefore = pod.rssMiB();
    let t = process.hrtime.bigint();
    const up = await post(`${pod.url}/v4/${owner}/upload_file/${databaseKey}/${sha256}`, bytes);
    if (up.status !== 200) throw new Error(`upload: ${up.status} ${up.body.toString()}`);
    const upRate = bytes.length / 1e6 / (ms(t) / 1000);
    t = process.hrtime.bigint();
    const { body: down } = await post(`${pod.url}/v4/${owner}/get_file`, JSON.stringify({ auth, payload: { sha256 } }));
    const downRate = bytes.length / 1e6 / (ms(t) / 1000);
    if (!down.equals(bytes)) throw new Error('get_file returned other bytes');
    const peakGrowth = pod.peakRssMiB() - rssBefore;
    t = process.hrtime.bigint();
    await post(raw.url, bytes);
    const rawUp = bytes.length / 1e6 / (ms(t) / 1000);
    report(`upload ${FILE_MIB} MiB, MB/s`, upRate, 'MB/s', rawUp, 'bare HTTP server', '≥ 150 MB/s', upRate >= 150);
    report(`download ${FILE_MIB} MiB, MB/s`, downRate, 'MB/s', rawUp, 'bare HTTP upload', '', true);
    report(
      'server memory growth over upload+download',
      peakGrowth,
      'MiB',
      FILE_MIB,
      'file size',
      'flat (≪ file size)',
      peakGrowth < FILE_MIB / 2,
    );

    // plugin start-up: PluginRun created → the plugin's first request reaches the Pod
    stage('plugin start: bare node spawn and the process runner, 5 runs each');
    const spawnReference = median(await rawPluginStart(raw.url));
    const viaProcess = median(
      await benchPluginStart(
        new ProcessRunner({ commands: { 'env-plugin': [process.execPath, ENV_PLUGIN] }, timeoutSeconds: 60 }),
        'env-plugin',
      ),
    );
    report(
      'plugin start, process runner (median)',
      viaProcess,
      'ms',
      spawnReference,
      'bare node spawn, to its exit',
      '',
      true,
    );
    stage('plugin start: the docker runner, 5 runs');
    if (existsSync(DOCKER_SOCKET)) {
      const docker = new Docker({ socketPath: DOCKER_SOCKET });
      await buildEnvPluginImage(docker);
      const runner = new DockerRunner({ network: 'host', memoryMiB: 256, cpus: 1, timeoutSeconds: 60 });
      report(
        'plugin start, docker runner (median)',
        median(await benchPluginStart(runner, ENV_PLUGIN_IMAGE)),
        'ms',
        spawnReference,
        'bare node spawn, to its exit',
        '',
        true,
      );
    } else
      console.log(
        `(no Docker engine at ${DOCKER_SOCKET}: the docker runner row is left out; .ci/setup-docker.sh starts one)`,
      );
  } finally {
    await pod.stop();
    raw.server.close();
    await ceilingOwners.closeAll();
  }
  const fairness = await benchFairness(benchProgress('  fairness', 4));
  report('fairness: owner B get_item p50, A busy', fairness.busy.p50, 'ms', fairness.idle.p50, 'idle Pod', '', true);
  report(
    'fairness: owner B get_item p99, A busy',
    fairness.busy.p99,
    'ms',
    fairness.idle.p99,
    'idle Pod',
    '≤ 50 ms',
    fairness.busy.p99 <= 50,
  );
  report(
    'fairness: B get_item p99, A one 100k bulk',
    fairness.oneBulk.p99,
    'ms',
    fairness.idle.p99,
    'idle Pod',
    '≤ 50 ms',
    fairness.oneBulk.p99 <= 50,
  );
  for (const row of fullTextRows(await benchFullText(benchProgress('  full-text', 3)))) report(...row);
  for (const figure of await benchGraphql(benchProgress('  graphql', 3))) report(...figure);
  for (const row of manyOwnersRows(await benchManyOwners(benchProgress('  many owners', 2)))) report(...row);
  for (const row of thumbnailRows(await benchThumbnails(benchProgress('  thumbnails', 3)))) report(...row);
  for (const row of moveRows(await benchMove(benchProgress('  move', 3)))) report(...row);
  printTable(rows);
  rmSync(dir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The floor of any plugin start: spawning the same script directly, to its first request. */
async function rawPluginStart(url: string, runs = 5): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const child = spawn(process.execPath, [ENV_PLUGIN], {
      env: { POD_FULL_ADDRESS: url, POD_OWNER: owner, POD_AUTH_JSON: '{"data":{}}' },
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.once('exit', resolve));
    times.push(performance.now() - started);
  }
  return times;
}

function printTable(table: Row[]) {
  const columns: (keyof Row)[] = ['figure', 'pod', 'reference', 'ratio', 'goal', 'met'];
  const widths = columns.map((column) => Math.max(column.length, ...table.map((row) => row[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(columns));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of table) console.log(line(columns.map((column) => row[column])));
}

await main();
