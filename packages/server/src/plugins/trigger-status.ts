/**
 * `trigger/status` (2023 §6.3): a trigger plugin reports how its work on the items went. The Pod
 * logs it (ids and the plugin's status text; never a credential) and keeps the last outcome on the
 * Trigger item (`podTriggerStatus`, `podTriggerItemIds`), where its owner and clients see it.
 */
import type { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { TriggerStatus } from '@pod/protocol';
import { PodError, notFound } from '../errors.js';
import type { Owner } from '../storage/owners.js';
import type { Grant } from './permissions.js';

export type TriggerReport = z.output<typeof TriggerStatus>;

/** Longer status texts are cut in the log and on the item. */
const MAX_RECORDED_STATUS = 1_000;

/**
 * Records a report; 404 when `triggerId` names no Trigger item (or one the plugin cannot see). A
 * plugin reports only on the Triggers of its own run (their `pluginRunId`). Call in a turn of the
 * owner's main connection.
 */
export function recordTriggerStatus(
  owner: Owner,
  report: TriggerReport,
  grant: Grant | undefined,
  log: FastifyBaseLogger,
) {
  const { store } = owner;
  const stored = store.storedItem(report.triggerId);
  const trigger =
    stored && !stored.deleted && stored.type === 'Trigger' && (!grant || grant.visible(stored) !== null)
      ? store.item(report.triggerId)
      : undefined;
  if (!trigger) throw notFound(`no Trigger item ${JSON.stringify(report.triggerId)}`);
  if (grant && trigger.pluginRunId !== grant.run)
    throw new PodError(
      'forbidden',
      `plugin permission: a plugin reports only on Triggers of its own run (pluginRunId ${JSON.stringify(grant.run)})`,
    );
  const status = report.status.slice(0, MAX_RECORDED_STATUS);
  const ok = status === 'OK';
  log[ok ? 'info' : 'warn'](
    { owner: owner.hash, triggerId: trigger.id, itemIds: report.itemIds, runId: grant?.run, status },
    ok ? 'trigger succeeded' : 'trigger failed',
  );
  store.write(() =>
    store.updateItem({
      id: trigger.id,
      podTriggerStatus: status,
      podTriggerItemIds: JSON.stringify(report.itemIds),
      // the Pod's record, not a change by the Trigger's writers
      dateModified: trigger.dateModified,
    }),
  );
}
