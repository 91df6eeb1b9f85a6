/**
 * Where a bulk's time goes between the store and the wire (issue 13: the Pod against its in-process
 * ceiling). Four owners of one Pod in this process, filled with the scale bench's bulks one bulk each
 * in turn, so that load falls on all alike: the ceiling (`store.write` with `createItem` and
 * `createEdge`, as bench/scale.ts's), the store's own bulk call (`bulkJson`, what the route runs), the
 * route in-process (`app.inject`: body parse, validation, grant, the call), and real HTTP on loopback.
 * Run it under `node --cpu-prof` to see what the route adds.
 *
 *   node packages/server/dist/bench/bulk-path.js [--items N]
 */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { join } from 'node:path';
import { defaultConfig } from '../src/config.js';
import { AnswerBudget } from '../src/storage/answer.js';
import { OwnerPool } from '../src/storage/owners.js';
import { startTestPod } from '../src/testing.js';
import { Client } from './fairness.js';
import { BULK_SIZE, makeBulk, schema } from './workload.js';

/** A bulk readied in the path's own input form (a request body for the routes), and the call that sends it. */
type Fill = (bulk: ReturnType<typeof makeBulk>) => () => Promise<unknown>;

async function main() {
  const { items } = new Command()
    .option('--items <n>', 'items per path', (v) => Number(v), 50_000)
    .parse()
    .opts<{ items: number }>();
  const pod = await startTestPod();
  // The store's two paths: owners of a pool of their own beside the Pod's, as the Pod opens them.
  const owners = new OwnerPool({ ...defaultConfig(), dataDir: join(pod.dataDir, 'direct') });
  const storeOf = () => {
    const { store } = owners.authenticate(randomBytes(32).toString('hex'), randomBytes(32).toString('hex'));
    store.write(() => {
      for (const item of schema) store.createItem(item);
    });
    return store;
  };
  const ceiling = storeOf();
  const store = storeOf();
  const injected = new Client(pod.url);
  await injected.ok('bulk', { createItems: schema });
  const http = new Client(pod.url);
  await http.ok('bulk', { createItems: schema });
  const budget = new AnswerBudget(Number.MAX_SAFE_INTEGER);
  const paths: Record<string, Fill> = {
    ceiling:
      ({ createItems, createEdges }) =>
      async () =>
        ceiling.write(() => {
          for (const item of createItems) ceiling.createItem(item);
          for (const edge of createEdges) ceiling.createEdge(edge);
        }),
    bulkJson: (bulk) => () => store.bulkJson(bulk, undefined, budget),
    inject: (payload) => {
      const body = injected.body(payload);
      return async () => {
        const answer = await pod.app.inject({ method: 'POST', url: `/v4/${injected.owner}/bulk`, body });
        if (answer.statusCode !== 200) throw new Error(answer.body.slice(0, 300));
      };
    },
    http: (payload) => {
      const body = http.body(payload);
      return () => http.ok('bulk', payload, body);
    },
  };
  const ms = new Map<string, number>();
  for (let first = 0; first < items; first += BULK_SIZE)
    for (const [name, fill] of Object.entries(paths)) {
      const send = fill(makeBulk(first));
      const began = performance.now();
      await send();
      await new Promise(setImmediate);
      ms.set(name, (ms.get(name) ?? 0) + performance.now() - began);
    }
  const rate = (name: string) => items / ((ms.get(name) ?? 0) / 1000);
  console.log(`${items.toLocaleString('en-US')} items per path in bulks of ${BULK_SIZE}, paths in turn`);
  for (const name of Object.keys(paths))
    console.log(
      `${name.padEnd(9)} ${Math.round(rate(name)).toString().padStart(7)} items/s  ` +
        `${((rate(name) / rate('ceiling')) * 100).toFixed(0)}% of the ceiling`,
    );
  await owners.closeAll();
  await pod.close();
}

await main();
