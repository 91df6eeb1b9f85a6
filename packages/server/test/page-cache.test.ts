// The page-cache budget (issue 13): one budget for the whole Pod, divided equally among the owner
// connections open now; an owner closed for idleness or to make room gives its share back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../src/config.js';
import { Owner, startPod, until } from './helpers.js';
import { sampleSum, scrape } from './metrics-text.js';

const BUDGET = 48 * 1024 * 1024;

async function cache(url: string) {
  const { samples } = await scrape(url);
  return {
    connections: sampleSum(samples, 'pod_page_cache_connections'),
    share: sampleSum(samples, 'pod_page_cache_share_bytes'),
  };
}

/** Each connection's share is the budget divided equally, within the 1.25 drift page-cache.ts allows. */
function assertShared({ connections, share }: { connections: number; share: number }, why: string) {
  const equal = Math.floor(BUDGET / connections);
  assert.ok(share <= equal * 1.25 && share * 1.25 >= equal, `${why}: ${share} bytes each, ${connections} open`);
}

test('owners share one page-cache budget, and closed owners give theirs back', async () => {
  const pod = await startPod({
    idleCloseMs: 1_000,
    limits: { ...defaultConfig().limits, maxOpenOwners: 2, pageCacheBytes: BUDGET },
  });
  try {
    assert.deepEqual(await cache(pod.url), { connections: 0, share: BUDGET }, 'nothing open: the budget is whole');
    const a = new Owner(pod.url);
    await a.create({ type: 'Note' });
    await a.call('search', { type: 'Note' }); // may open the owner's reader too
    const alone = await cache(pod.url);
    assert.ok(alone.connections >= 1);
    assertShared(alone, 'one owner may use the whole budget');

    const b = new Owner(pod.url);
    await b.create({ type: 'Note' });
    await b.call('search', { type: 'Note' });
    const both = await cache(pod.url);
    assert.equal(both.connections, alone.connections * 2, 'two owners, the same connections each');
    assertShared(both, 'divided equally: never much more than the budget');

    await new Owner(pod.url).create({ type: 'Note' }); // the cap is 2: the least recent owner (a) closes
    const capped = await cache(pod.url);
    // b's connections and the new owner's writer: a's are closed (else there would be more than both's)
    assert.ok(capped.connections <= alone.connections + 1, `a's connections closed (${capped.connections} open)`);
    assertShared(capped, "a's share given back");

    await until('idle owners closed and their caches freed', async () => {
      const now = await cache(pod.url);
      return now.connections === 0 && now.share === BUDGET ? true : undefined;
    });
  } finally {
    await pod.close();
  }
});
