/**
 * Starts plugins for PluginRun items (StartPlugin in v3) after their transaction commits, so a
 * launch never changes, fails or delays the answer to the request that created the item.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Commit } from '../storage/store.js';
import type { Owner } from '../storage/owners.js';
import type { PluginRunner } from './runner.js';

const TRIGGER_TYPES = new Set(['PluginRun', 'StartPlugin']);

export function pluginTrigger(runner: PluginRunner, log: FastifyBaseLogger) {
  return (owner: Owner, commit: Commit) => {
    for (const created of commit.created) {
      if (!TRIGGER_TYPES.has(created.type)) continue;
      setImmediate(() => void launch(owner, created.id));
    }
  };

  async function launch(owner: Owner, runId: string) {
    try {
      const [run] = JSON.parse(owner.store.getItemJson(runId)) as Record<string, unknown>[];
      if (!run) return;
      const targetId = typeof run.targetItemId === 'string' ? run.targetItemId : runId;
      const [target] = JSON.parse(owner.store.getItemJson(targetId)) as unknown[];
      const report = await runner.start({
        ownerKey: owner.key,
        runId,
        containerImage: String(run.containerImage ?? run.container ?? ''),
        targetItemJson: JSON.stringify(target ?? run),
      });
      owner.store.write(() => owner.store.updateItem({ id: runId, ...report, dateModified: run.dateModified }));
      log.info({ owner: owner.hash, runId, runner: runner.name, launch: report.podLaunchStatus }, 'plugin run triggered');
    } catch (error) {
      log.error({ owner: owner.hash, runId, err: error }, 'plugin launch failed');
    }
  }
}
