/**
 * GraphQL beside the hand-written `search` calls that read the same items, on 100,000 items
 * (10,000 Accounts, 45,000 Messages and the 45,000 Edge items of their `sender` edges), over HTTP:
 * a two-level query (1,000 roots with one edge expanded) and a filtered reverse-edge query, p50/p99.
 * Part of `npm run bench`; alone: `node packages/server/dist/bench/graphql.js` (BENCH_ITEMS to change the size).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchProgress, quiet, type Progress } from '../src/bench-progress.js';
import { startPodProcess } from '../src/pod-process.js';
import { Client, percentile } from './fairness.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const ACCOUNTS = Math.max(10, Math.round(ITEMS / 10));
/** Each Message comes with the Edge item of its `sender` edge: two items. */
const MESSAGES = Math.round((ITEMS - ACCOUNTS) / 2);
const ROOTS = 1_000;
const RUNS = { twoLevel: 200, reverse: 1_000 };

/** A figure as `report` in run.ts takes it: name, Pod value, unit, reference, its label, goal, met. */
export type Figure = [string, number, string, number, string, string, boolean];

const id = (prefix: string, i: number) => `${prefix}${i.toString(16).padStart(32 - prefix.length, '0')}`;

/**
 * p50 and p99 of each call, the calls taking turns run by run: both sides then meet the same
 * conditions (an equality index still being built on first use, the page cache warming up).
 */
async function latencies<K extends string>(
  runs: number,
  calls: Record<K, (run: number) => Promise<unknown>>,
): Promise<Record<K, { p50: number; p99: number }>> {
  const names = Object.keys(calls) as K[];
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let run = 0; run < runs; run++)
    for (const name of names) {
      const start = performance.now();
      await calls[name](run);
      times.get(name)?.push(performance.now() - start);
    }
  const summary = (sorted: number[]) => ({ p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
  return Object.fromEntries(
    names.map((name) => [name, summary((times.get(name) ?? []).sort((a, b) => a - b))]),
  ) as Record<K, { p50: number; p99: number }>;
}

export async function benchGraphql(stage: Progress = quiet): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-bench-graphql-'));
  const pod = await startPodProcess(join(dir, 'pod'));
  try {
    const client = new Client(pod.url);
    stage(`graphql: ${ITEMS.toLocaleString('en-US')} items (accounts, messages, sender edges)`);
    await client.ok('bulk', {
      createItems: ['handle', 'service', 'subject'].map((propertyName) => ({
        type: 'ItemPropertySchema',
        itemType: 'Message',
        propertyName,
        valueType: 'Text',
      })),
    });
    for (let start = 0; start < ACCOUNTS; start += ROOTS)
      await client.ok('bulk', {
        createItems: Array.from({ length: Math.min(ROOTS, ACCOUNTS - start) }, (_, k) => ({
          type: 'Account',
          id: id('ac', start + k),
          handle: `account-${start + k}`,
          service: start + k < ACCOUNTS / 2 ? 'whatsapp' : 'telegram',
        })),
      });
    // One bulk per 1,000 messages: they share a dateServerModified, so `_limit: 1000` is exactly one bulk.
    for (let start = 0; start < MESSAGES; start += ROOTS) {
      const count = Math.min(ROOTS, MESSAGES - start);
      await client.ok('bulk', {
        createItems: Array.from({ length: count }, (_, k) => ({
          type: 'Message',
          id: id('me', start + k),
          subject: `message ${start + k}`,
          service: Math.floor((start + k) / ACCOUNTS) % 2 ? 'whatsapp' : 'telegram',
        })),
        createEdges: Array.from({ length: count }, (_, k) => ({
          _source: id('me', start + k),
          _target: id('ac', (start + k) % ACCOUNTS),
          _name: 'sender',
        })),
      });
    }

    stage(`graphql: two-level query, ${ROOTS} roots with their sender, ${RUNS.twoLevel} runs each way`);
    const twoLevel = `{ Message(limit: ${ROOTS}) { subject sender { handle } } }`;
    const check = (body: Buffer, roots: number, edges: string, perRoot: number) => {
      const answer = JSON.parse(body.toString('utf8'));
      const items: Record<string, unknown[]>[] = Array.isArray(answer) ? answer : answer.data;
      if (items.length !== roots || items.some((item) => item[edges]?.length !== perRoot))
        throw new Error(`unexpected answer: ${items.length} roots, first ${JSON.stringify(items[0]).slice(0, 300)}`);
    };
    check(await client.ok('graphql', twoLevel), ROOTS, 'sender', 1);
    check(await client.ok('search', { type: 'Message', _limit: ROOTS, '[[edges]]': {} }), ROOTS, '[[edges]]', 1);
    const { graphql: graphqlTwo, search: searchTwo } = await latencies(RUNS.twoLevel, {
      graphql: () => client.ok('graphql', twoLevel),
      search: () => client.ok('search', { type: 'Message', _limit: ROOTS, '[[edges]]': {} }),
    });

    stage(`graphql: filtered reverse-edge query, ${RUNS.reverse} runs each way`);
    const handle = (run: number) => `account-${(run * 7919) % ACCOUNTS}`;
    const reverse = (run: number) =>
      `{ Account(filter: {handle: {eq: "${handle(run)}"}}) ` +
      '{ handle ~sender(filter: {service: {eq: "whatsapp"}}) { subject } } }';
    const perAccount = Math.floor(MESSAGES / ACCOUNTS / 2);
    const first = JSON.parse((await client.ok('graphql', reverse(0))).toString('utf8'));
    if (first.data.length !== 1 || first.data[0]['~sender'].length < perAccount)
      throw new Error(`unexpected answer: ${JSON.stringify(first).slice(0, 300)}`);
    const { graphql: graphqlReverse, search: searchReverse } = await latencies(RUNS.reverse, {
      graphql: (run) => client.ok('graphql', reverse(run)),
      search: (run) => client.ok('search', { type: 'Account', handle: handle(run), '~[[edges]]': {} }),
    });

    const twoLabel = 'search, [[edges]]';
    const reverseLabel = 'search, ~[[edges]]';
    const within = (pod: number, reference: number) => pod <= 2 * reference;
    return [
      [
        `graphql ${ROOTS} roots + edge, p50`,
        graphqlTwo.p50,
        'ms',
        searchTwo.p50,
        twoLabel,
        '≤ 2× search',
        within(graphqlTwo.p50, searchTwo.p50),
      ],
      [
        `graphql ${ROOTS} roots + edge, p99`,
        graphqlTwo.p99,
        'ms',
        searchTwo.p99,
        twoLabel,
        '≤ 2× search',
        within(graphqlTwo.p99, searchTwo.p99),
      ],
      [
        'graphql filtered ~edge, p50',
        graphqlReverse.p50,
        'ms',
        searchReverse.p50,
        reverseLabel,
        '≤ 2× search',
        within(graphqlReverse.p50, searchReverse.p50),
      ],
      [
        'graphql filtered ~edge, p99',
        graphqlReverse.p99,
        'ms',
        searchReverse.p99,
        reverseLabel,
        '≤ 2× search',
        within(graphqlReverse.p99, searchReverse.p99),
      ],
    ];
  } finally {
    await pod.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [figure, pod, unit, reference, label] of await benchGraphql(benchProgress('graphql bench', 3)))
    console.log(`${figure.padEnd(34)} ${pod.toFixed(2)} ${unit}   (${label}: ${reference.toFixed(2)} ${unit})`);
}
