/**
 * The data source of the open Pod, one per session; and the hook the views read through. The rule: items
 * (data views, the lists of files and photos) are read and written through the local replica
 * (`ReplicaSource`, which itself goes to the Pod until it has caught up, or while another tab keeps it);
 * what only the Pod can do (file bytes, thumbnails, plugin runs, owner prompts) uses the session's client.
 */
import { PodError } from '@pod/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from '../state.js';
import { ReplicaSource } from './replica-source.js';
import type { DataItem, DataSource } from './source.js';

let current: { client: unknown; source: ReplicaSource } | undefined;

/** The replica of the signed-in owner (a new one, and the old one closed, when the session changes). */
export function replica(): ReplicaSource {
  const open = session.value;
  if (!open) throw new Error('no Pod is open');
  if (current?.client !== open.client) {
    void current?.source.close();
    current = { client: open.client, source: new ReplicaSource(open.client, open.keys.ownerKey) };
  }
  return current.source;
}

export const dataSource = (): DataSource => replica();

/** Signing out and deleting this browser's copy of the owner's data. */
export async function forgetReplica(): Promise<void> {
  const source = current?.source;
  current = undefined;
  await source?.forget();
}

session.subscribe((open) => {
  if (!open && current) {
    void current.source.close();
    current = undefined;
  }
});

/** What went wrong, in words the owner can act on. */
export function explain(error: unknown): string {
  if (error instanceof PodError) {
    if (error.status === 0) return 'The Pod could not be reached. Check your connection and try again.';
    return `The Pod refused: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export interface Loaded<T> {
  value?: T;
  error?: string;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with the data source and loads again when `deps` change, or when the live feed brings a change
 * that `relevant` says concerns this view (a load already running is followed by one more, not stacked).
 */
export function useData<T>(
  load: (source: DataSource, signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  relevant?: (changed: DataItem[]) => boolean,
): Loaded<T> {
  const [state, setState] = useState<{ value?: T; error?: string; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  const relevantRef = useRef(relevant);
  relevantRef.current = relevant;
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    load(dataSource(), controller.signal).then(
      (value) => !controller.signal.aborted && setState({ value, loading: false }),
      (error) =>
        !controller.signal.aborted && setState((previous) => ({ ...previous, error: explain(error), loading: false })),
    );
    return () => controller.abort();
  }, [...deps, generation]);
  useEffect(
    () =>
      dataSource().subscribe((changed) => {
        if (relevantRef.current?.(changed)) setGeneration((n) => n + 1);
      }),
    [],
  );
  return { ...state, reload: () => setGeneration((n) => n + 1) };
}
