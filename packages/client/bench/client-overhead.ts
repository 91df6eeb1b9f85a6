/**
 * What the client library costs over hand-written HTTP: 10,000 items created in bulks of 1,000
 * through `PodClient.bulk`, and the same payloads POSTed with plain `fetch`, each side into a
 * database of its own. The two alternate batch by batch (and which goes first), so both meet the
 * same Pod in the same state. Run directly, it starts a Pod of its own and prints the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchProgress, startPodProcess } from '@pod/server/testing';
import { PodClient, defineItem } from '@pod/client';

const ITEMS = 10_000;
const BATCH = 1_000;

class Note extends defineItem('Note', { title: 'Text', tag: 'Text', count: 'Integer', score: 'Real', done: 'Bool' }) {}

/** Items created per second through the library and through raw HTTP, against the Pod at `url`. */
export async function benchClientOverhead(url: string): Promise<{ library: number; raw: number }> {
  const library = new PodClient({ url });
  const raw = new PodClient({ url }); // only its keys and the schema set-up: its items go out by hand
  const rawAuth = JSON.stringify({ type: 'ClientAuth', databaseKey: raw.databaseKey });
  await Promise.all([library.addToSchema(Note), raw.addToSchema(Note)]);

  // The same values for both sides, made before the clock starts; one batch more for each side
  // to warm up (JIT, connections, the databases' first pages) untimed.
  const values = Array.from({ length: ITEMS + BATCH }, (_, i) => ({
    id: PodClient.generateKey().slice(0, 32),
    title: `note number ${i} ${PodClient.generateKey().slice(0, 12)}`,
    tag: `tag-${i % 1_000}`,
    count: i,
    score: i / 7,
    done: i % 2 === 0,
  }));

  const timed = async (work: () => Promise<void>) => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };
  const libraryBatch = (batch: typeof values) =>
    timed(async () => {
      await library.bulk({ createItems: batch.map((value) => new Note(value)) });
    });
  const rawBatch = (batch: typeof values) =>
    timed(async () => {
      const payload = { batchId: crypto.randomUUID(), createItems: batch.map((value) => ({ type: 'Note', ...value })) };
      const response = await fetch(`${url}/v4/${raw.ownerKey}/bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"auth":${rawAuth},"payload":${JSON.stringify(payload)}}`,
      });
      const answer = (await response.json()) as { createItems: string[] };
      if (response.status !== 200 || answer.createItems.length !== batch.length)
        throw new Error(`raw bulk: ${response.status}`);
    });

  const warmUp = values.splice(ITEMS);
  await libraryBatch(warmUp);
  await rawBatch(warmUp);

  let libraryMs = 0;
  let rawMs = 0;
  for (let start = 0, round = 0; start < ITEMS; start += BATCH, round++) {
    const batch = values.slice(start, start + BATCH);
    if (round % 2 === 0) {
      libraryMs += await libraryBatch(batch);
      rawMs += await rawBatch(batch);
    } else {
      rawMs += await rawBatch(batch);
      libraryMs += await libraryBatch(batch);
    }
  }
  return { library: ITEMS / (libraryMs / 1000), raw: ITEMS / (rawMs / 1000) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = mkdtempSync(join(tmpdir(), 'pod-client-bench-'));
  const pod = await startPodProcess(dir);
  try {
    // One comparison is ~0.5 s of a shared 2-core machine: three, and their median, say more.
    const rounds = [];
    const stage = benchProgress('client overhead bench', 3);
    for (let round = 0; round < 3; round++) {
      stage(`round ${round + 1}: ${ITEMS.toLocaleString('en-US')} items through the library and through raw fetch`);
      rounds.push(await benchClientOverhead(pod.url));
    }
    const format = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} items/s`;
    const percent = ({ library, raw }: { library: number; raw: number }) => (library / raw) * 100;
    console.log(
      `bulk create of ${ITEMS.toLocaleString('en-US')} items in requests of ${BATCH.toLocaleString('en-US')}, three rounds:`,
    );
    for (const round of rounds)
      console.log(
        `  library ${format(round.library)}, raw fetch ${format(round.raw)}: the library at ${percent(round).toFixed(1)}% of raw`,
      );
    const median = rounds.map(percent).sort((a, b) => a - b)[1]!;
    console.log(`  median: the library at ${median.toFixed(1)}% of raw (goal ≥ 90%)`);
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
