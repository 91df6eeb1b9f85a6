/**
 * What the engine's parts (pull, push, conflicts, schema) share: the Pod, the store, the state
 * mirrored from the store, one queue for store work, and the events; and the pure rules of how
 * local changes sit on top of the Pod's versions.
 */
import type { ValueType } from '@pod/protocol';
import type { PodClient } from '../client.js';
import type { PodError } from '../errors.js';
import type { WireForm } from '../items.js';
import type { FeedStatus } from './feed.js';
import type { Conflict, Resolution } from './conflicts.js';
import type { LocalStore, Outbox, Patch, PendingChange, PodItem } from './store.js';

export interface SyncEvents {
  /** Items whose local view changed: by the application (`local`) or from the Pod (`remote`). */
  change: { ids: string[]; origin: 'local' | 'remote' };
  /** A conflict and how it was settled. */
  conflict: Conflict & { resolution: Resolution };
  /** A batch the Pod applied, in one transaction at `dateServerModified`. */
  pushed: { changes: PendingChange[]; dateServerModified: number };
  /** A change the Pod refused (400, 404, 413…): dropped; the item reverts to the Pod's version. */
  rejected: { change: PendingChange; error: PodError };
  /** Properties declared since the engine opened, from pulled schema items or `fetchSchema`. */
  schema: { declared: [name: string, valueType: ValueType][] };
  feed: { status: FeedStatus; error?: unknown };
  /** A failure of work the engine does by itself while live; it retries. */
  error: { error: unknown; during: 'push' | 'feed' };
}

type Listener<K extends keyof SyncEvents> = (event: SyncEvents[K]) => void;
type Listeners = { readonly [K in keyof SyncEvents]: Set<Listener<K>> };

export class Replica {
  /** Where the next pull starts, mirrored from the store. */
  cursor = 0;
  /** The batch in flight, mirrored from the store. */
  outbox?: Outbox;
  private readonly listeners: Listeners = {
    change: new Set(),
    conflict: new Set(),
    pushed: new Set(),
    rejected: new Set(),
    schema: new Set(),
    feed: new Set(),
    error: new Set(),
  };
  /** Store reads and writes that must not interleave (an async store would let them). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly client: PodClient,
    readonly store: LocalStore,
  ) {}

  exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The change in the batch in flight for this item, if any. */
  inFlight(id: string): PendingChange | undefined {
    return this.outbox?.changes.find((change) => change.id === id);
  }

  on<K extends keyof SyncEvents>(event: K, listener: Listener<K>): () => void {
    const set: Set<Listener<K>> = this.listeners[event];
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof SyncEvents>(event: K, payload: SyncEvents[K]): void {
    const set: Set<Listener<K>> = this.listeners[event];
    for (const listener of set) listener(payload);
  }
}

/** Base fields a local change does not set: the Pod owns them, or they never change. */
const NOT_CHANGED_LOCALLY = new Set(['id', 'type', 'dateServerModified', 'dateModified', 'dateCreated']);

/** The Pod's version with local changes on top, in order. */
export function compose(remote: PodItem | undefined, ...local: (PendingChange | undefined)[]): WireForm | undefined {
  let view: WireForm | undefined = remote && { ...remote };
  for (const change of local) {
    if (!change) continue;
    view ??= { id: change.id, type: change.type, deleted: false };
    for (const [name, value] of Object.entries(change.patch))
      if (value === null) delete view[name];
      else view[name] = value;
    view.dateModified = change.dateModified;
  }
  return view;
}

/** The fields of a local change: no base field the Pod sets or that never changes. */
export function localPatch(fields: Readonly<Patch>): Patch {
  const patch: Patch = {};
  for (const [name, value] of Object.entries(fields))
    if (!NOT_CHANGED_LOCALLY.has(name) && value !== undefined) patch[name] = value;
  return patch;
}

/** Whether two versions of an item differ only in their dateServerModified. */
export function sameFields(a: PodItem, b: PodItem): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const name of names) if (name !== 'dateServerModified' && a[name] !== b[name]) return false;
  return true;
}
