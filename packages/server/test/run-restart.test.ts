/**
 * Plugin runs across a Pod that died: the Pod cannot open an owner's database before the owner's next
 * request, so that is when it settles what it was doing for the owner. A run that was going is recorded
 * `interrupted` (its process went with the Pod) and `error`; a run that waited its turn takes it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Owner, sleep, startCli, stopCli, type CliPod } from './helpers.js';

const PLUGIN = fileURLToPath(new URL('../../test/fixtures/slow-plugin.mjs', import.meta.url));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-run-restart-'));
const pods: CliPod[] = [];
after(async () => {
  for (const pod of pods) await stopCli(pod, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  podLaunchStatus?: string;
  podLaunchMessage?: string;
  status?: string;
}

async function runsOf(owner: Owner, ids: string[]): Promise<Run[]> {
  return Promise.all(ids.map(async (id) => ((await owner.ok('get_item', id)) as Run[])[0] ?? {}));
}

async function until(owner: Owner, ids: string[], wanted: (runs: Run[]) => boolean): Promise<Run[]> {
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    const runs = await runsOf(owner, ids);
    if (wanted(runs)) return runs;
    assert.ok(Date.now() < deadline, `runs not as wanted after 30 s: ${JSON.stringify(runs)}`);
  }
}

test('after a crash, a run that was going is interrupted (error) and a queued one runs when its owner comes back', async () => {
  const log = path.join(dataDir, 'runs.log');
  const plugins = path.join(dataDir, 'plugins');
  fs.mkdirSync(plugins, { recursive: true, mode: 0o700 });
  const command = [process.execPath, PLUGIN, log, '20000'];
  fs.writeFileSync(path.join(plugins, 'slow.json'), JSON.stringify({ command }), { mode: 0o600 });
  const args = ['--plugin-runner', 'process', '--plugin-max-runs-per-owner', '1'];

  const first = await startCli(dataDir, args);
  pods.push(first);
  const owner = new Owner(first.url);
  const ids = ['run-going', 'run-waiting'];
  await owner.ok('bulk', { createItems: ids.map((id) => ({ type: 'PluginRun', id, containerImage: 'slow' })) });
  await until(
    owner,
    ids,
    ([going, waiting]) => going?.podLaunchStatus === 'started' && waiting?.podLaunchStatus === 'queued',
  );
  await stopCli(first, 'SIGKILL');

  const second = await startCli(dataDir, args);
  pods.push(second);
  const back = new Owner(second.url, owner.owner, owner.key);
  const [going, waiting] = await until(
    back,
    ids,
    ([going, waiting]) => going?.podLaunchStatus === 'interrupted' && waiting?.podLaunchStatus === 'started',
  );
  assert.equal(going?.status, 'error', 'the interrupted run has a final status');
  assert.match(going?.podLaunchMessage ?? '', /the Pod stopped while this run was going/);
  assert.equal(waiting?.status, undefined, 'the waiting run is going now, as its plugin says');
  await stopCli(second);
});
