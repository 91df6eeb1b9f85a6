/** What the app tells the owner about the local copy: as a signal every view's status region reads. */
import type { Patch } from '@pod/client';
import { signal } from '@preact/signals';
import type { DataItem } from './source.js';

/**
 * - `opening`: finding out whether this tab keeps the local copy;
 * - `copying`: the first pull, views read the Pod meanwhile;
 * - `live`: the replica follows the Pod (`upToDate` once the feed has caught up);
 * - `offline`: the network is gone; changes wait here;
 * - `elsewhere`: another tab of this owner keeps the local copy, this one reads and writes the Pod;
 * - `unavailable`: this browser gives no IndexedDB (a private window, say): the Pod over HTTP only.
 */
export type SyncPhase = 'opening' | 'copying' | 'live' | 'offline' | 'elsewhere' | 'unavailable';

/** A local change that met a newer version on the Pod: kept aside until the owner chooses. */
export interface OpenConflict {
  id: string;
  type: string;
  /** The owner's changed properties (`null` erased one). */
  mine: Patch;
  /** The Pod's version it met. */
  theirs: DataItem;
  /** When it was found (ms). */
  found: number;
}

export interface SyncState {
  phase: SyncPhase;
  upToDate: boolean;
  /** Items received by the first pull, and about how many there are. */
  received: number;
  expected: number;
  /** Local changes the Pod has not acknowledged yet. */
  waiting: number;
  /** A push that failed or a change the Pod refused, in words; stays until the next push goes through. */
  problem?: string;
  conflicts: OpenConflict[];
}

export const initialSyncState = (): SyncState => ({
  phase: 'opening',
  upToDate: false,
  received: 0,
  expected: 0,
  waiting: 0,
  conflicts: [],
});

export const syncState = signal<SyncState>(initialSyncState());

export function updateSync(changes: Partial<SyncState>): void {
  syncState.value = { ...syncState.value, ...changes };
}
