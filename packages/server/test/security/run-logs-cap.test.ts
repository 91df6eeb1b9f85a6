// L12: the logs of finished plugin runs are capped per owner: one owner's many runs push out only
// that owner's older logs, never another owner's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config.js';
import { ProcessRunner } from '../../src/plugins/process-runner.js';
import { Owner, startPod, until } from '../helpers.js';

describe('L12: finished-run logs', () => {
  test("owner A's 220 runs do not push out owner B's run log", async () => {
    const runner = new ProcessRunner({
      commands: { 'echo-plugin': ['sh', '-c', 'echo "log of $POD_PLUGINRUN_ID"'] },
      timeoutSeconds: 30,
    });
    // a bulk of 55 runs fits the launch queue (security/run-flood.test.ts tests its bounds)
    const plugins = { ...defaultConfig().plugins, maxRuns: 16, maxRunsPerOwner: 16, maxQueuedPerOwner: 64 };
    const pod = await startPod({ plugins }, { runner });
    try {
      const a = new Owner(pod.url);
      const b = new Owner(pod.url);
      const finished = async (o: Owner, ids: string[]) =>
        until(
          `${ids.length} runs to finish`,
          async () => {
            const runs = await o.search({ type: 'PluginRun' });
            const ended = runs.filter(
              (run: { id: string; podLaunchStatus?: string }) =>
                ids.includes(run.id) && run.podLaunchStatus === 'exited',
            );
            return ended.length === ids.length ? true : undefined;
          },
          60_000,
        );
      const bRun = await b.create({ type: 'PluginRun', containerImage: 'echo-plugin' });
      await finished(b, [bRun]);
      assert.match(await b.ok('plugin_run_logs', bRun), new RegExp(`log of ${bRun}`));
      for (let batch = 0; batch < 4; batch++) {
        const { createItems } = await a.ok('bulk', {
          createItems: Array.from({ length: 55 }, () => ({ type: 'PluginRun', containerImage: 'echo-plugin' })),
        });
        await finished(a, createItems);
      }
      assert.match(await b.ok('plugin_run_logs', bRun), new RegExp(`log of ${bRun}`));
    } finally {
      await pod.close();
    }
  });
});
