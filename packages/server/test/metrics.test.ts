// GET /metrics, /healthz and /readyz (issue 15 part 5) on real Pods over HTTP: each counter moves
// by exactly what the test did, each gauge follows what is open.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configProblems, configWarnings, defaultConfig } from '../src/config.js';
import { ProcessRunner } from '../src/plugins/process-runner.js';
import { dockerTestSkip } from '../src/testing.js';
import { Owner, randomKey, sha256hex, startCli, startPod, toReply, until, type RunningPod } from './helpers.js';
import { scrape, sampleSum } from './metrics-text.js';
import { openFeed } from './security/feed-stream.js';

const REQUESTS = 'pod_http_request_duration_seconds_count';
const PLUGIN = fileURLToPath(new URL('../../test/fixtures/capture-plugin.mjs', import.meta.url));

/** A gauge's value, read until it equals `expected` (gauges follow work that ends after the answer). */
async function gaugeReaches(url: string, name: string, expected: number, token?: string) {
  let last = Number.NaN;
  await until(`${name} = ${expected} (last ${last})`, async () => {
    last = sampleSum((await scrape(url, token)).samples, name);
    return last === expected ? true : undefined;
  });
}

describe('GET /metrics', () => {
  let pod: RunningPod;
  before(async () => (pod = await startPod({ limits: { ...defaultConfig().limits, maxOpenOwners: 2 } })));
  after(async () => pod.close());

  test('requests are counted by endpoint name, status and API version, with latency histograms', async () => {
    const o = new Owner(pod.url);
    await o.create({ type: 'Note' }); // the owner's database exists before the count starts
    const before = (await scrape(pod.url)).samples;
    for (let i = 0; i < 3; i++) await o.create({ type: 'Note' });
    await o.as('v3').create({ type: 'Note' });
    await o.fails('no_such_endpoint', {}, 404);
    await o.fails('create_item', { type: 7 }, 400);
    assert.equal((await fetch(`${pod.url}/no/such/route`)).status, 404);
    const after = (await scrape(pod.url)).samples;
    const moved = (labels: Record<string, string>) =>
      sampleSum(after, REQUESTS, labels) - sampleSum(before, REQUESTS, labels);
    assert.equal(moved({ endpoint: 'create_item', status: '200', version: 'v4' }), 3);
    assert.equal(moved({ endpoint: 'create_item', status: '200', version: 'v3' }), 1);
    assert.equal(moved({ endpoint: 'create_item', status: '400', version: 'v4' }), 1);
    assert.equal(moved({ endpoint: 'other', status: '404', version: 'v4' }), 1, 'an unknown endpoint is "other"');
    assert.equal(moved({ endpoint: 'other', status: '404', version: 'none' }), 1, 'an unknown route is "other"');
    assert.equal(moved({ endpoint: 'metrics', status: '200', version: 'none' }), 1, 'the first scrape is counted');
    const buckets = after.filter(
      (s) => s.name === 'pod_http_request_duration_seconds_bucket' && s.labels.endpoint === 'create_item',
    );
    assert.ok(
      buckets.some((s) => s.labels.le === '+Inf'),
      'the histogram has its +Inf bucket',
    );
    assert.ok(
      buckets.some((s) => s.labels.le === '0.005'),
      'and finer ones',
    );
    assert.ok(sampleSum(after, 'pod_http_request_duration_seconds_sum', { endpoint: 'create_item' }) > 0);
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_resident_memory_bytes',
    ])
      assert.ok(
        after.some((s) => s.name === name),
        `${name} is reported`,
      );
  });

  test('open owner databases follow opening and closing (the cap closes the least recent)', async () => {
    await gaugeReaches(pod.url, 'pod_open_owner_databases', 1); // the owner of the test above
    const a = new Owner(pod.url);
    await a.create({ type: 'Note' });
    assert.equal(sampleSum((await scrape(pod.url)).samples, 'pod_open_owner_databases'), 2);
    await new Owner(pod.url).create({ type: 'Note' });
    assert.equal(sampleSum((await scrape(pod.url)).samples, 'pod_open_owner_databases'), 2, 'the cap is 2');

    const idle = await startPod({ idleCloseMs: 200 });
    try {
      await new Owner(idle.url).create({ type: 'Note' });
      await gaugeReaches(idle.url, 'pod_open_owner_databases', 0);
    } finally {
      await idle.close();
    }
  });

  test('live-feed subscribers follow a subscribe and a disconnect', async () => {
    const o = new Owner(pod.url);
    await o.create({ type: 'Note' });
    const before = (await scrape(pod.url)).samples;
    assert.equal(sampleSum(before, 'pod_feed_subscribers'), 0);
    const first = await openFeed(o);
    const second = await openFeed(o);
    assert.equal(first.status, 200);
    assert.equal(sampleSum((await scrape(pod.url)).samples, 'pod_feed_subscribers'), 2);
    first.close();
    await gaugeReaches(pod.url, 'pod_feed_subscribers', 1);
    second.close();
    await gaugeReaches(pod.url, 'pod_feed_subscribers', 0);
    const feeds = { endpoint: 'changes', status: '200', version: 'v4' };
    const after = (await scrape(pod.url)).samples;
    assert.equal(
      sampleSum(after, REQUESTS, feeds) - sampleSum(before, REQUESTS, feeds),
      2,
      'a feed the client ends counts',
    );
  });

  test('bytes uploaded and downloaded are counted', async () => {
    const o = new Owner(pod.url);
    const bytes = Buffer.alloc(300_001, 7);
    const sha = sha256hex(bytes);
    await o.create({ type: 'File', sha256: sha });
    const before = (await scrape(pod.url)).samples;
    assert.equal((await o.upload(bytes)).status, 200);
    assert.equal((await o.upload(bytes)).status, 409, 'a refused upload stores nothing');
    const file = await o.getFile(sha);
    assert.equal(file.bytes.length, bytes.length);
    const bytesMoved = async (direction: string) =>
      sampleSum((await scrape(pod.url)).samples, 'pod_file_bytes_total', { direction }) -
      sampleSum(before, 'pod_file_bytes_total', { direction });
    assert.equal(await bytesMoved('uploaded'), bytes.length);
    await until('the download counted', async () => ((await bytesMoved('downloaded')) > 0 ? true : undefined));
    assert.equal(await bytesMoved('downloaded'), bytes.length);
  });
});

describe('plugin runs in /metrics (process runner)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-metrics-runs-'));
  let pod: RunningPod;
  before(async () => {
    const runner = new ProcessRunner({
      commands: {
        'wait-plugin': [process.execPath, PLUGIN, join(scratch, 'wait.json'), 'wait'],
        'quick-plugin': [process.execPath, PLUGIN, join(scratch, 'quick.json'), 'exit'],
      },
      timeoutSeconds: 30,
    });
    pod = await startPod({ plugins: { ...defaultConfig().plugins, maxRuns: 1 } }, { runner });
  });
  after(async () => {
    await pod.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('launch statuses are counted, and the queue and running runs are gauged', async () => {
    const o = new Owner(pod.url);
    await o.ok('bulk', {
      createItems: [
        { type: 'Plugin', containerImage: 'quick-plugin', permissions: '{}' },
        { type: 'Plugin', containerImage: 'wait-plugin', permissions: '{}' },
      ],
    });
    const launched = (id: string, status: string) =>
      until(`run ${id} ${status}`, async () => ((await o.get(id)).podLaunchStatus === status ? true : undefined));
    const quick = await o.create({ type: 'PluginRun', containerImage: 'quick-plugin', status: 'created' });
    await launched(quick, 'exited');
    const missing = await o.create({ type: 'PluginRun', containerImage: 'no-such-plugin', status: 'created' });
    await launched(missing, 'imageMissing');
    let samples = (await scrape(pod.url)).samples;
    const launches = (status: string) => sampleSum(samples, 'pod_plugin_launches_total', { status });
    assert.equal(launches('started'), 1);
    assert.equal(launches('exited'), 1);
    assert.equal(launches('imageMissing'), 1);
    assert.equal(launches('queued'), 0);

    const waiting = await o.create({ type: 'PluginRun', containerImage: 'wait-plugin', status: 'created' });
    await launched(waiting, 'started');
    const queued = await o.create({ type: 'PluginRun', containerImage: 'quick-plugin', status: 'created' });
    await launched(queued, 'queued');
    samples = (await scrape(pod.url)).samples;
    assert.equal(sampleSum(samples, 'pod_plugin_runs_running'), 1);
    assert.equal(sampleSum(samples, 'pod_plugin_runs_queued'), 1, 'at most one run goes at once');
    assert.equal(launches('queued'), 1);
    await o.ok('delete_item', waiting);
    await launched(queued, 'exited');
    await gaugeReaches(pod.url, 'pod_plugin_runs_queued', 0);
    await gaugeReaches(pod.url, 'pod_plugin_runs_running', 0);
    samples = (await scrape(pod.url)).samples;
    assert.equal(launches('stopped'), 1, 'the deleted run was stopped');
    assert.equal(launches('exited'), 2);
  });
});

describe('/healthz and /readyz', () => {
  test('both answer 200 on a Pod that can work', async () => {
    const pod = await startPod();
    try {
      const health = await toReply(await fetch(`${pod.url}/healthz`));
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { alive: true });
      const ready = await toReply(await fetch(`${pod.url}/readyz`));
      assert.equal(ready.status, 200, ready.text);
      assert.deepEqual(ready.body, { ready: true, checks: { dataDir: 'ok', runner: 'ok' } });
    } finally {
      await pod.close();
    }
  });

  test('readyz is 503 while the data folder cannot be written, and 200 again once it can', async () => {
    // Tests run as root, which ignores file modes: the data folder is replaced by a plain file
    // instead (a lost mount), so the probe's write really fails.
    const pod = await startPod();
    const moved = `${pod.dataDir}.away`;
    try {
      renameSync(pod.dataDir, moved);
      writeFileSync(pod.dataDir, 'not a folder');
      const ready = await toReply(await fetch(`${pod.url}/readyz`));
      assert.equal(ready.status, 503, ready.text);
      assert.equal(ready.body.ready, false);
      assert.equal(ready.body.checks.runner, 'ok');
      assert.match(ready.body.checks.dataDir, /data folder \(--data-dir\) is not writable \(ENOTDIR\)/);
      assert.match(ready.body.message, /^dataDir: /);
      assert.equal((await fetch(`${pod.url}/healthz`)).status, 200, 'the process still serves');
    } finally {
      rmSync(pod.dataDir, { force: true });
      renameSync(moved, pod.dataDir);
    }
    try {
      assert.equal((await fetch(`${pod.url}/readyz`)).status, 200);
      assert.deepEqual(
        readdirSync(pod.dataDir).filter((name) => name.startsWith('.ready-probe')),
        [],
        'no probe file is left behind',
      );
    } finally {
      await pod.close();
    }
  });

  test('readyz pings a docker engine that answers', async (t) => {
    const skip = await dockerTestSkip();
    if (skip) return t.skip(skip);
    const pod = await startPod({ plugins: { ...defaultConfig().plugins, runner: 'docker', network: 'host' } });
    try {
      const ready = await toReply(await fetch(`${pod.url}/readyz`));
      assert.equal(ready.status, 200, ready.text);
    } finally {
      await pod.close();
    }
  });

  test('readyz is 503 when the docker engine does not answer', async () => {
    const socketDir = mkdtempSync(join(tmpdir(), 'pod-no-docker-'));
    mkdirSync(join(socketDir, 'empty'));
    const pod = await startPod({
      plugins: {
        ...defaultConfig().plugins,
        runner: 'docker',
        network: 'host',
        dockerSocket: join(socketDir, 'docker.sock'),
      },
    });
    try {
      const ready = await toReply(await fetch(`${pod.url}/readyz`));
      assert.equal(ready.status, 503, ready.text);
      assert.equal(ready.body.checks.dataDir, 'ok');
      assert.match(ready.body.checks.runner, /the docker plugin runner does not answer .*--docker-socket/);
    } finally {
      await pod.close();
      rmSync(socketDir, { recursive: true, force: true });
    }
  });
});

describe('--metrics-token', () => {
  const token = randomKey();
  let pod: RunningPod;
  before(async () => (pod = await startPod({ metricsToken: token })));
  after(async () => pod.close());

  test('/metrics needs the Bearer token; /healthz and /readyz stay open', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`, `Bearer ${token}x`]) {
      const res = await toReply(await fetch(`${pod.url}/metrics`, { headers: authorization ? { authorization } : {} }));
      assert.equal(res.status, 401, `${authorization}: ${res.text}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.match(res.body.message, /--metrics-token/);
      assert.ok(!res.text.includes(token), 'the answer never shows the token');
    }
    const { samples } = await scrape(pod.url, token);
    assert.ok(samples.length > 0);
    assert.equal((await fetch(`${pod.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${pod.url}/readyz`)).status, 200);
  });

  test('a web page cannot read metrics, even from a loopback origin with the token', async () => {
    const res = await fetch(`${pod.url}/metrics`, {
      headers: { origin: 'http://localhost:5173', authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 403);
    assert.doesNotMatch(await res.text(), /pod_http_request/);
  });

  test('a short token is refused at start-up; a Pod off loopback without one is warned about', () => {
    const config = { ...defaultConfig(), host: '0.0.0.0', insecure: true };
    assert.ok(configProblems({ ...config, metricsToken: 'short' }).some((p) => p.includes('--metrics-token')));
    assert.deepEqual(configProblems({ ...config, metricsToken: token }), []);
    assert.ok(configWarnings(config).some((w) => w.includes('--metrics-token')));
    assert.ok(!configWarnings({ ...config, metricsToken: token }).some((w) => w.includes('--metrics-token')));
    assert.ok(!configWarnings(defaultConfig()).some((w) => w.includes('--metrics-token')), 'loopback: no warning');
  });
});

describe('pod --metrics-token', () => {
  test('POD_METRICS_TOKEN guards /metrics of the CLI; a short token stops it at start-up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-metrics-cli-'));
    const token = randomKey();
    process.env.POD_METRICS_TOKEN = token;
    try {
      const cli = await startCli(dataDir);
      try {
        assert.equal((await fetch(`${cli.url}/metrics`)).status, 401);
        assert.ok((await scrape(cli.url, token)).samples.length > 0);
      } finally {
        cli.child.kill();
      }
      await assert.rejects(startCli(dataDir, ['--metrics-token', 'short']), /--metrics-token must be at least 16/);
    } finally {
      delete process.env.POD_METRICS_TOKEN;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
