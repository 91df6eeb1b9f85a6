/**
 * M10 of the first security review: every committed PluginRun launched at once (one bulk of 15
 * started 15 processes), and the container limits apply to each run alone. Now runs beyond the
 * caps wait (`podLaunchStatus: queued`), an owner's queue is bounded, and a waiting run that is
 * aborted or deleted never starts. Real plugin processes note when they start and end.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { defaultConfig, type PodConfig } from '../../src/config.js';
import { ProcessRunner } from '../../src/plugins/process-runner.js';
import { Owner, sleep, startPod } from '../helpers.js';

const PLUGIN = fileURLToPath(new URL('../../../test/fixtures/slow-plugin.mjs', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'pod-run-flood-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A Pod whose process runner starts the slow plugin (`slow`, taking `ms`), noting into `log`. */
async function podWithSlowPlugin(ms: number, limits: Partial<PodConfig['plugins']> = {}) {
  const log = join(scratch, `runs-${Math.random().toString(16).slice(2)}.log`);
  const runner = new ProcessRunner({
    commands: { slow: [process.execPath, PLUGIN, log, String(ms)] },
    timeoutSeconds: 60,
    stopGraceSeconds: 1,
  });
  const pod = await startPod({ plugins: { ...defaultConfig().plugins, ...limits } }, { runner });
  return { pod, log };
}

/** The most runs going at once, in all and per owner, from the plugins' own notes. */
function concurrency(log: string) {
  let all = 0;
  let most = 0;
  const byOwner = new Map<string, number>();
  let mostOfOne = 0;
  const started: string[] = [];
  for (const line of existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) {
    const [what, owner = '', run = ''] = line.split(' ');
    const step = what === 'start' ? 1 : -1;
    if (what === 'start') started.push(run);
    all += step;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + step);
    most = Math.max(most, all);
    mostOfOne = Math.max(mostOfOne, byOwner.get(owner)!);
  }
  return { most, mostOfOne, started };
}

const runs = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => ({
    type: 'PluginRun',
    id: `${prefix}-${String(index).padStart(3, '0')}`,
    containerImage: 'slow',
  }));

async function statuses(owner: Owner, ids: string[]): Promise<string[]> {
  return Promise.all(
    ids.map(
      async (id) => ((await owner.ok('get_item', id)) as { podLaunchStatus?: string }[])[0]?.podLaunchStatus ?? 'none',
    ),
  );
}

/** Polls until every run has one of `final`; asserts `check` on every poll. */
async function untilAll(owner: Owner, ids: string[], final: string[], check: (seen: string[]) => void = () => {}) {
  for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
    const seen = await statuses(owner, ids);
    check(seen);
    if (seen.every((status) => final.includes(status))) return seen;
    assert.ok(Date.now() < deadline, `runs still going after 60 s: ${seen.join(', ')}`);
  }
}

test('a bulk of 15 PluginRuns starts at most the per-owner cap at once; the rest wait (queued), and all run', async () => {
  const { pod, log } = await podWithSlowPlugin(300);
  try {
    const owner = new Owner(pod.url);
    const flood = runs(15, 'flood');
    await owner.ok('bulk', { createItems: flood });
    const ids = flood.map((run) => run.id);
    let sawQueued = 0;
    await untilAll(owner, ids, ['exited'], (seen) => {
      assert.ok(seen.filter((status) => status === 'started').length <= 2, `started at once: ${seen.join(', ')}`);
      sawQueued = Math.max(sawQueued, seen.filter((status) => status === 'queued').length);
    });
    assert.ok(sawQueued >= 10, `runs beyond the cap are recorded queued (at most ${sawQueued} seen at once)`);
    const { mostOfOne, started } = concurrency(log);
    assert.equal(mostOfOne, 2, 'the plugins themselves saw at most 2 runs of the owner at once');
    assert.deepEqual(started.sort(), ids, 'every run ran, once');
  } finally {
    await pod.close();
  }
});

test('runs of several owners share the global cap', async () => {
  const { pod, log } = await podWithSlowPlugin(300, { maxRuns: 3, maxRunsPerOwner: 2 });
  try {
    const owners = [new Owner(pod.url), new Owner(pod.url), new Owner(pod.url)];
    const created = await Promise.all(
      owners.map(async (owner, index) => {
        const batch = runs(3, `owner${index}`);
        await owner.ok('bulk', { createItems: batch });
        return batch.map((run) => run.id);
      }),
    );
    await Promise.all(owners.map((owner, index) => untilAll(owner, created[index]!, ['exited'])));
    const { most, mostOfOne, started } = concurrency(log);
    assert.equal(started.length, 9);
    assert.ok(most <= 3, `${most} runs went at once; the cap is 3`);
    assert.ok(mostOfOne <= 2, `${mostOfOne} runs of one owner went at once; the cap is 2`);
  } finally {
    await pod.close();
  }
});

test('a waiting run that is aborted or deleted never starts', async () => {
  const { pod, log } = await podWithSlowPlugin(1500, { maxRunsPerOwner: 1 });
  try {
    const owner = new Owner(pod.url);
    const batch = runs(4, 'wait');
    await owner.ok('bulk', { createItems: batch });
    const [first, aborted, deleted, last] = batch.map((run) => run.id) as [string, string, string, string];
    await untilAll(owner, [aborted, deleted], ['queued']);
    await owner.ok('abort_plugin_run', aborted);
    await owner.ok('delete_item', deleted);
    await untilAll(owner, [first, last], ['exited']);
    assert.deepEqual(concurrency(log).started.sort(), [first, last]);
    const [abortedRun] = await owner.ok('get_item', aborted);
    assert.equal(abortedRun.status, 'aborted');
    assert.equal(abortedRun.podLaunchStatus, 'notLaunched');
  } finally {
    await pod.close();
  }
});

test("an owner's queue is bounded: runs beyond it are refused, saying why", async () => {
  const { pod, log } = await podWithSlowPlugin(500, { maxRunsPerOwner: 2, maxQueuedPerOwner: 3 });
  try {
    const owner = new Owner(pod.url);
    const batch = runs(8, 'bound');
    await owner.ok('bulk', { createItems: batch });
    const seen = await untilAll(
      owner,
      batch.map((run) => run.id),
      ['exited', 'refused'],
    );
    assert.deepEqual(
      [seen.filter((status) => status === 'exited').length, seen.filter((status) => status === 'refused').length],
      [5, 3],
    );
    const refused = await owner.ok('get_item', batch[7]!.id);
    assert.match(refused[0].podLaunchMessage, /--plugin-max-queued-per-owner/);
    assert.equal(concurrency(log).started.length, 5);
  } finally {
    await pod.close();
  }
});
