/**
 * Conflict rules: a local change made on a version of an item the Pod has since replaced is
 * settled by the engine's policy before it is pushed again.
 */
import { localPatch, type Replica } from './replica.js';
import type { Patch, PendingChange, PodItem } from './store.js';

/**
 * What to do with a local change when the Pod's item changed since the version it was made on:
 * `local-wins` pushes it onto the newer version, `remote-wins` drops it, `newest-wins` keeps the
 * one with the later dateModified (the Pod's on a tie), `report` asks `onConflict`.
 */
export type ConflictPolicy = 'local-wins' | 'remote-wins' | 'newest-wins' | 'report';

export interface Conflict {
  /** The local change: its base is the version it was made on (null: made as a new item). */
  local: PendingChange;
  /** The Pod's item, changed since that version (or, for a new item, already there). */
  remote: PodItem;
}

/** `local`: push the change onto the remote version; `remote`: drop it; a patch: push that instead. */
export type Resolution = 'local' | 'remote' | { patch: Patch };

export type OnConflict = (conflict: Conflict) => Resolution | Promise<Resolution>;

export class ConflictRules {
  private readonly decide: OnConflict;

  constructor(
    private readonly replica: Replica,
    policy: ConflictPolicy,
    onConflict: OnConflict | undefined,
  ) {
    this.decide = decider(policy, onConflict);
  }

  /** Settles every pending change whose item changed on the Pod since the change's base. */
  async resolve(): Promise<void> {
    const { store } = this.replica;
    for (const local of await this.replica.exclusive(() => store.pendingChanges())) {
      const remote = await store.item(local.id);
      if (!remote || remote.dateServerModified === local.base) continue;
      const resolution = await this.decide({ local, remote });
      const settled = await this.replica.exclusive(async () => {
        const now = await store.pending(local.id);
        const current = await store.item(local.id);
        // Changed again meanwhile: the next push finds out and asks again.
        if (!now || now.base !== local.base || current?.dateServerModified !== remote.dateServerModified) return false;
        if (resolution === 'remote') await store.write({ settled: [local.id] });
        else {
          const patch = resolution === 'local' ? now.patch : localPatch(resolution.patch);
          await store.write({ pending: [{ ...now, patch, base: remote.dateServerModified }] });
        }
        return true;
      });
      if (!settled) continue;
      this.replica.emit('conflict', { local, remote, resolution });
      if (resolution !== 'local') this.replica.emit('change', { ids: [local.id], origin: 'remote' });
    }
  }
}

function decider(policy: ConflictPolicy, onConflict: OnConflict | undefined): OnConflict {
  switch (policy) {
    case 'local-wins':
      return () => 'local';
    case 'remote-wins':
      return () => 'remote';
    case 'newest-wins':
      return ({ local, remote }) => (local.dateModified > remote.dateModified ? 'local' : 'remote');
    case 'report':
      if (!onConflict) throw new TypeError('the "report" conflict policy needs onConflict');
      return onConflict;
  }
}
