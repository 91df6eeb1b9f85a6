/**
 * What the sync engine achieves against a Pod: an initial sync of 100,000 items (5 properties)
 * into an encrypted SQLite replica; an incremental sync with nothing new; and the latency from a
 * write on one client to its arrival at another through the live feed. Run directly, it starts a
 * Pod of its own and prints the figures beside their goals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchProgress, quiet, startPodProcess, type Progress } from '@pod/server/testing';
import { MemoryStore, PodClient, SyncEngine } from '@pod/client';
import { SqliteStore } from '@pod/client/node';
import { Note, seedNotes } from './notes.js';

export interface SyncFigures {
  initialItemsPerSecond: number;
  incrementalP50Ms: number;
  feedLatencyP50Ms: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The three figures against the Pod at `url`; `items` and `rounds` are smaller in the test that keeps this bench working. */
export async function benchSync(
  url: string,
  { items = 100_000, rounds = 200, stage = quiet }: { items?: number; rounds?: number; stage?: Progress } = {},
): Promise<SyncFigures> {
  stage(`seeding the Pod with ${items.toLocaleString('en-US')} items`);
  const keys = await seedNotes(url, items);

  const dir = mkdtempSync(join(tmpdir(), 'pod-sync-bench-'));
  const store = new SqliteStore(join(dir, 'replica.db'), { key: PodClient.generateKey() });
  const reader = await SyncEngine.open({ client: new PodClient(keys), store, schema: [Note], pullPageSize: 2_000 });
  const writer = await SyncEngine.open({ client: new PodClient(keys), store: new MemoryStore(), schema: [Note] });
  try {
    await Promise.all([reader.ensureSchema(), writer.ensureSchema()]);
    stage('initial sync into an encrypted SQLite replica');
    const started = performance.now();
    const pulled = await reader.pull();
    const initialItemsPerSecond = pulled / ((performance.now() - started) / 1000);

    stage(`incremental sync with nothing new, ${rounds} rounds`);
    const incremental: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const start = performance.now();
      await reader.pull();
      incremental.push(performance.now() - start);
    }

    stage(`a write on one client to its arrival at another through the live feed, ${rounds} rounds`);
    const open = new Promise<void>((resolve) => reader.on('feed', ({ status }) => status === 'open' && resolve()));
    reader.start();
    await open;
    const latency: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const note = await writer.create(new Note({ title: `live ${round}`, count: round }));
      const arrived = new Promise<void>((resolve) => {
        const off = reader.on('change', ({ ids, origin }) => {
          if (origin !== 'remote' || !ids.includes(note.id)) return;
          off();
          resolve();
        });
      });
      const start = performance.now();
      await writer.push();
      await arrived;
      latency.push(performance.now() - start);
    }
    return { initialItemsPerSecond, incrementalP50Ms: median(incremental), feedLatencyP50Ms: median(latency) };
  } finally {
    await reader.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = mkdtempSync(join(tmpdir(), 'pod-sync-bench-pod-'));
  const pod = await startPodProcess(dir);
  try {
    const figures = await benchSync(pod.url, { stage: benchProgress('sync bench', 4) });
    console.log(
      `initial sync of 100,000 items into an encrypted SQLite replica: ${Math.round(figures.initialItemsPerSecond).toLocaleString('en-US')} items/s (goal ≥ 30,000)`,
    );
    console.log(
      `incremental sync with nothing new, p50 of 200: ${figures.incrementalP50Ms.toFixed(2)} ms (goal ≤ 2 ms)`,
    );
    console.log(
      `a write on one client to its arrival at another through the live feed, p50 of 200: ${figures.feedLatencyP50Ms.toFixed(2)} ms (goal ≤ 20 ms)`,
    );
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
