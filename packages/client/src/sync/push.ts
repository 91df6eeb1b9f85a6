/**
 * Client to Pod: local changes, recorded with the version they were made on, go in batches
 * through `bulk`, changed properties only, each update stating that version
 * (`_expectedDateServerModified`). A 409 means someone else changed an item: pull, settle every
 * conflicting change by the rules, push again. The batch in flight is kept in the store with its
 * batchId until answered, so a retry after a lost answer, or after a restart, is applied once.
 */
import type { Answer, Payload } from '@pod/protocol';
import { PodError } from '../errors.js';
import { randomHex } from '../hex.js';
import type { ConflictRules } from './conflicts.js';
import type { Pull } from './pull.js';
import { sameFields, type Replica } from './replica.js';
import { Rerun } from './rerun.js';
import type { Outbox, PendingChange, PodItem } from './store.js';

/** Rounds of pull-resolve-push one push makes before it gives up (a writer racing it every time). */
const MAX_CONFLICT_ROUNDS = 20;

export class Push {
  /** A call while a push runs gets one more push after it. */
  private readonly pushes = new Rerun((batchSize?: number) => this.batches(batchSize));

  constructor(
    private readonly replica: Replica,
    private readonly pull: Pull,
    private readonly conflicts: ConflictRules,
    private readonly batchSize: number,
  ) {}

  /** Pushes until no change is left; resolves to the number of changes the Pod applied. */
  run(batchSize?: number): Promise<number> {
    return this.pushes.run(batchSize);
  }

  idle(): Promise<unknown> {
    return this.pushes.idle();
  }

  private async batches(batchSize = this.batchSize): Promise<number> {
    let pushed = 0;
    let conflictRounds = 0;
    /** After a batch was refused as a whole, its changes go one by one to find the culprit. */
    let alone = 0;
    for (;;) {
      const outbox = this.replica.outbox ?? (await this.fillOutbox(alone > 0 ? 1 : batchSize));
      if (!outbox) return pushed;
      let answer: Answer<'bulk'>;
      try {
        answer = await this.replica.client.call('bulk', bulkPayload(outbox));
      } catch (error) {
        // No answer, or a fault of the Pod: the batch stays, and goes again with its batchId.
        if (!(error instanceof PodError) || error.status === 0 || error.status >= 500) throw error;
        await this.unpack(outbox);
        if (error.status === 409 && ++conflictRounds <= MAX_CONFLICT_ROUNDS) {
          await this.pull.run();
          await this.conflicts.resolve();
        } else if (error.status === 409) {
          throw error;
        } else if (outbox.changes.length > 1) {
          alone = outbox.changes.length;
        } else {
          // A batch of one was refused: its change is the culprit.
          for (const change of outbox.changes) await this.reject(change.id, error);
        }
        continue;
      }
      await this.settle(outbox, answer.search[0] as PodItem[]);
      pushed += outbox.changes.length;
      if (alone > 0) alone--;
    }
  }

  private fillOutbox(limit: number): Promise<Outbox | undefined> {
    const { replica } = this;
    return replica.exclusive(async () => {
      const changes = await replica.store.pendingChanges(limit);
      if (changes.length === 0) return undefined;
      const outbox = { batchId: randomHex(16), changes };
      await replica.store.write({ settled: changes.map((change) => change.id), outbox });
      replica.outbox = outbox;
      return outbox;
    });
  }

  /** Puts a refused batch back among the pending changes, merged with what was changed meanwhile. */
  private unpack(outbox: Outbox): Promise<void> {
    const { replica } = this;
    return replica.exclusive(async () => {
      const merged: PendingChange[] = [];
      for (const sent of outbox.changes) {
        const later = await replica.store.pending(sent.id);
        merged.push(
          later ? { ...sent, patch: { ...sent.patch, ...later.patch }, dateModified: later.dateModified } : sent,
        );
      }
      await replica.store.write({ outbox: null, pending: merged });
      replica.outbox = undefined;
    });
  }

  /**
   * The batch is applied: `written` is every item its transaction wrote (the bulk's own search
   * for the newest items returns exactly those). Changes made meanwhile on top of a sent one,
   * or on an item the batch only touched (an edge's source), are now based on that version.
   */
  private async settle(outbox: Outbox, written: PodItem[]): Promise<void> {
    const { replica } = this;
    const { store } = replica;
    const sent = new Map(outbox.changes.map((change) => [change.id, change]));
    await replica.exclusive(async () => {
      const rebased: PendingChange[] = [];
      for (const item of written) {
        const pending = await store.pending(item.id);
        if (!pending) continue;
        const change = sent.get(item.id);
        const before = change ? undefined : await store.item(item.id);
        const basedOnIt = change
          ? pending.base === change.base
          : before !== undefined && pending.base === before.dateServerModified && sameFields(before, item);
        if (basedOnIt) rebased.push({ ...pending, base: item.dateServerModified });
      }
      await store.write({ items: written, pending: rebased, outbox: null });
      replica.outbox = undefined;
    });
    replica.emit('pushed', { changes: outbox.changes, dateServerModified: written[0]?.dateServerModified ?? 0 });
    replica.emit('change', { ids: written.map((item) => item.id), origin: 'remote' });
  }

  private async reject(id: string, error: PodError): Promise<void> {
    const { replica } = this;
    const change = await replica.exclusive(async () => {
      const refused = await replica.store.pending(id);
      await replica.store.write({ settled: [id] });
      if (!refused) throw new Error(`change ${id} was refused by the Pod but is no longer pending`);
      return refused;
    });
    replica.emit('rejected', { change, error });
    replica.emit('change', { ids: [id], origin: 'remote' });
  }
}

/**
 * A batch as one bulk: new items, updates stating their base version, new edges, and a search
 * for the newest items — every item this bulk's transaction writes, as it wrote them.
 */
function bulkPayload({ batchId, changes }: Outbox): Payload<'bulk'> {
  const createItems: Payload<'bulk'>['createItems'] = [];
  const updateItems: NonNullable<Payload<'bulk'>['updateItems']> = [];
  const createEdges: NonNullable<Payload<'bulk'>['createEdges']> = [];
  for (const change of changes) {
    const fields = { ...change.patch, id: change.id, dateModified: change.dateModified };
    if (change.base !== null) updateItems.push({ ...fields, _expectedDateServerModified: change.base });
    else if (change.edge)
      createEdges.push({
        ...fields,
        _source: change.edge.source,
        _target: change.edge.target,
        _name: change.edge.name,
      });
    else createItems.push({ ...fields, type: change.type });
  }
  // What the transaction wrote, deletions included (on an owner in account mode too).
  const written = { _sortOrder: 'Desc', _limit: 1, _includeDeleted: true } as const;
  return { batchId, createItems, updateItems, createEdges, search: [written] };
}
