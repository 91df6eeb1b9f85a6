/**
 * Full-text search: ITEMS messages (subject + body drawn from a seeded vocabulary of 4,000 words
 * with a Zipf distribution, as in real text), a two-word `_text` query with `_limit` 50 over HTTP,
 * beside an equality search of the same size and page. Query words are drawn uniformly from the
 * vocabulary (what people search for is rarely "the"); two words drawn as often as they occur in
 * the text (mostly the most frequent ones, matching most messages) are the worst case, measured
 * apart. And the write cost of the index: bulk
 * create of those Text-heavy messages beside items with little text. Part of `npm run bench`;
 * alone: `node packages/server/dist/bench/fulltext.js` (BENCH_ITEMS to change the size).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchProgress, quiet, type Progress } from '../src/bench-progress.js';
import { startPodProcess } from '../src/pod-process.js';
import { seededRandom } from '../src/testing.js';
import { Client, percentile } from './fairness.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const VOCABULARY = 4_000;
const QUERIES = 500;
const BATCH = 1_000;

export interface FullTextFigures {
  text: { p50: number; p99: number; meanMatches: number };
  /** Two words drawn by their frequency in the text. */
  frequentWords: { p50: number; p99: number; meanMatches: number };
  equality: { p50: number; p99: number };
  /** Bulk create over HTTP, items/s: the messages, and as many items with little text. */
  writes: { messages: number; plain: number };
}

/** An owner over keep-alive HTTP (fairness.ts's `Client`) that fills itself in bulks. */
class Owner extends Client {
  /** Creates `count` items made by `make` in bulks of BATCH; answers items/s. */
  async fill(count: number, make: (i: number) => object): Promise<number> {
    const started = performance.now();
    for (let start = 0; start < count; start += BATCH)
      await this.ok('bulk', {
        createItems: Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => make(start + k)),
      });
    return count / ((performance.now() - started) / 1000);
  }
}

/** Seeded pseudo-words of 3–9 letters, with a Zipf sampler over them (rank r drawn ∝ 1/r) and a uniform one. */
function vocabulary(random: ReturnType<typeof seededRandom>) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const words = new Set<string>();
  while (words.size < VOCABULARY)
    words.add(Array.from({ length: 3 + random.int(7) }, () => letters[random.int(26)]).join(''));
  const list = [...words];
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= list.length; rank++) {
    total += 1 / rank;
    cumulative.push(total);
  }
  const any = () => list[random.int(list.length)]!;
  const frequent = () => {
    const target = random.next() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return list[low]!;
  };
  return { any, frequent };
}

const schema = (itemType: string, properties: [string, string][]) => ({
  createItems: properties.map(([propertyName, valueType]) => ({
    type: 'ItemPropertySchema',
    itemType,
    propertyName,
    valueType,
  })),
});

export async function benchFullText(stage: Progress = quiet): Promise<FullTextFigures> {
  const random = seededRandom(12);
  const word = vocabulary(random);
  const words = (count: number) => Array.from({ length: count }, word.frequent).join(' ');
  const message = (i: number) => ({
    type: 'Message',
    subject: words(3 + random.int(6)),
    body: words(20 + random.int(41)),
    thread: `thread-${i % 1_000}`,
  });
  const plain = (i: number) => ({ type: 'Note', tag: `tag-${i % 1_000}`, count: i, done: i % 2 === 0 });

  const dir = mkdtempSync(join(tmpdir(), 'pod-fulltext-'));
  const pod = await startPodProcess(dir);
  try {
    const owner = new Owner(pod.url);
    await owner.ok(
      'bulk',
      schema('Message', [
        ['subject', 'Text'],
        ['body', 'Text'],
        ['thread', 'Text'],
      ]),
    );
    stage(`bulk create: ${ITEMS.toLocaleString('en-US')} messages (subject + body, ~45 words) in bulks of ${BATCH}`);
    const messagesRate = await owner.fill(ITEMS, message);
    stage(`bulk create: ${ITEMS.toLocaleString('en-US')} items with little text, another owner`);
    const other = new Owner(pod.url);
    await other.ok(
      'bulk',
      schema('Note', [
        ['tag', 'Text'],
        ['count', 'Integer'],
        ['done', 'Bool'],
      ]),
    );
    const plainRate = await other.fill(ITEMS, plain);

    stage(`${QUERIES} two-word full-text searches and ${QUERIES} equality searches, _limit 50`);
    const textSearch = async (query: string) => {
      const started = performance.now();
      const found = JSON.parse((await owner.ok('search', { _text: query, _limit: 50 })).toString('utf8')) as unknown[];
      return { ms: performance.now() - started, found: found.length };
    };
    const text: number[] = [];
    const equality: number[] = [];
    let matches = 0;
    for (let i = 0; i < QUERIES; i++) {
      const { ms, found } = await textSearch(`${word.any()} ${word.any()}`);
      text.push(ms);
      matches += found;
      const started = performance.now();
      await owner.ok('search', { type: 'Message', thread: `thread-${(i * 7919) % 1_000}`, _limit: 50 });
      equality.push(performance.now() - started);
    }
    const frequent: number[] = [];
    let frequentMatches = 0;
    for (let i = 0; i < QUERIES / 5; i++) {
      const { ms, found } = await textSearch(`${word.frequent()} ${word.frequent()}`);
      frequent.push(ms);
      frequentMatches += found;
    }
    const figures = (sorted: number[]) => ({ p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
    return {
      text: { ...figures(text.sort((a, b) => a - b)), meanMatches: matches / QUERIES },
      frequentWords: { ...figures(frequent.sort((a, b) => a - b)), meanMatches: frequentMatches / (QUERIES / 5) },
      equality: figures(equality.sort((a, b) => a - b)),
      writes: { messages: messagesRate, plain: plainRate },
    };
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows `npm run bench` prints: figure, the Pod's value, unit, reference, its label, goal, met. */
export function fullTextRows(f: FullTextFigures): [string, number, string, number, string, string, boolean][] {
  const equality = 'equality search, same size';
  return [
    [
      'full-text search, two words, _limit 50, p50',
      f.text.p50,
      'ms',
      f.equality.p50,
      equality,
      '≤ 5 ms',
      f.text.p50 <= 5,
    ],
    ['full-text search, two words, _limit 50, p99', f.text.p99, 'ms', f.equality.p99, equality, '', true],
    ['full-text search, two frequent words, p50', f.frequentWords.p50, 'ms', f.equality.p50, equality, '', true],
    [
      'bulk create, messages (full-text indexed)',
      f.writes.messages,
      'items/s',
      f.writes.plain,
      'little text',
      '',
      true,
    ],
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await benchFullText(benchProgress('full-text bench', 3));
  console.log(
    `two-word _text search, _limit 50: p50 ${f.text.p50.toFixed(2)} ms, p99 ${f.text.p99.toFixed(2)} ms ` +
      `(${f.text.meanMatches.toFixed(1)} items per answer; goal p50 ≤ 5 ms)`,
  );
  console.log(
    `… two frequent words:              p50 ${f.frequentWords.p50.toFixed(2)} ms, p99 ${f.frequentWords.p99.toFixed(2)} ms ` +
      `(${f.frequentWords.meanMatches.toFixed(1)} items per answer)`,
  );
  console.log(
    `equality search, _limit 50:       p50 ${f.equality.p50.toFixed(2)} ms, p99 ${f.equality.p99.toFixed(2)} ms`,
  );
  console.log(
    `bulk create: messages ${Math.round(f.writes.messages).toLocaleString('en-US')} items/s, ` +
      `items with little text ${Math.round(f.writes.plain).toLocaleString('en-US')} items/s`,
  );
}
