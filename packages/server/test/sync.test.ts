// The server's sync features beyond the original Pod: the live change feed, optimistic updates
// and idempotent bulk batches.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Owner, startPod, type RunningPod } from './helpers.js';

interface FeedEvent {
  id: number;
  items: { id: string; dateServerModified: number; [key: string]: unknown }[];
}

/** Reads the SSE answer of `changes` until `stop` says enough; returns the events seen. */
async function readFeed(
  owner: Owner,
  from: number,
  stop: (events: FeedEvent[]) => boolean,
  auth: unknown = owner.auth,
) {
  const events: FeedEvent[] = [];
  const controller = new AbortController();
  const deadline = setTimeout(
    () => controller.abort(new Error(`the feed did not deliver in time; saw ${JSON.stringify(events)}`)),
    20_000,
  );
  const response = await fetch(`${owner.url}/v4/${owner.owner}/changes`, {
    method: 'POST',
    body: JSON.stringify({ auth, payload: { 'dateServerModified>=': from, _limit: 50 } }),
    signal: controller.signal,
  });
  if (response.status !== 200) clearTimeout(deadline);
  if (response.status !== 200) return { status: response.status, events, text: await response.text(), contentType: '' };
  const contentType = response.headers.get('content-type') ?? '';
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data) events.push({ id: Number(id), items: JSON.parse(data) });
    }
  }
  clearTimeout(deadline);
  controller.abort();
  return { status: 200, events, text: '', contentType };
}

const ids = (events: FeedEvent[]) => events.flatMap((event) => event.items.map((item) => item.id));

describe('sync', () => {
  let pod: RunningPod;
  before(async () => (pod = await startPod()));
  after(() => pod.close());

  test('the change feed sends what exists, then each commit as it happens, each item once and in commit order', async () => {
    const o = new Owner(pod.url);
    const first = await o.ok('bulk', { createItems: Array.from({ length: 120 }, () => ({ type: 'Note' })) });
    const expected: string[] = [...first.createItems];
    // 120 + 20 notes and an edge, whose commit also carries writes[0] again (bumped): 142 entries
    const feed = readFeed(o, 0, (events) => ids(events).length >= 142);
    // concurrent writers while the feed is open
    const writes = await Promise.all(Array.from({ length: 20 }, () => o.create({ type: 'Note' })));
    const edge = await o.ok('create_edge', { _source: writes[0], _target: writes[1], _name: 'next' });
    expected.push(...writes, edge);
    const { events, contentType } = await feed;
    assert.match(contentType, /^text\/event-stream/);
    const seen = ids(events);
    // writes[0] is seen twice: once created, once bumped by the edge (a later commit)
    assert.deepEqual(new Set(seen), new Set(expected));
    assert.equal(seen.length, expected.length + 1);
    const stamps = events.flatMap((event) => event.items.map((item) => item.dateServerModified));
    assert.deepEqual(
      stamps,
      [...stamps].sort((a, b) => a - b),
      'commit order',
    );
    for (const event of events)
      assert.equal(event.id, event.items.at(-1)!.dateServerModified + 1, 'event id is the resume cursor');
  });

  test('resuming from an event id misses nothing and repeats nothing', async () => {
    const o = new Owner(pod.url);
    await o.ok('bulk', { createItems: Array.from({ length: 10 }, () => ({ type: 'Note' })) });
    const firstRun = await readFeed(o, 0, (events) => ids(events).length >= 10);
    const cursor = firstRun.events.at(-1)!.id;
    const later = await Promise.all(Array.from({ length: 5 }, () => o.create({ type: 'Note' })));
    const resumed = await readFeed(o, cursor, (events) => ids(events).length >= 5);
    assert.deepEqual(ids(resumed.events).sort(), [...later].sort());
  });

  test('the feed checks the key like every call', async () => {
    const o = new Owner(pod.url);
    await o.create({ type: 'Note' });
    const wrong = await readFeed(o, 0, () => true, { type: 'ClientAuth', databaseKey: 'ab'.repeat(32) });
    assert.equal(wrong.status, 401);
    const malformed = await o.fails('changes', { 'dateServerModified>=': -1 }, 400);
    assert.match(malformed.text, /dateServerModified/);
  });

  test('an update stating a stale version is refused with 409 and changes nothing', async () => {
    const o = new Owner(pod.url);
    await o.declare(['title', 'Text']);
    const id = await o.create({ type: 'Note', title: 'first' });
    const read = await o.get(id);
    await o.ok('update_item', { id, title: 'second', _expectedDateServerModified: read.dateServerModified });
    const stale = await o.fails(
      'update_item',
      { id, title: 'third', _expectedDateServerModified: read.dateServerModified },
      409,
    );
    assert.match(stale.text, /changed since/);
    assert.equal((await o.get(id)).title, 'second');
    // in a bulk, the conflict rolls back the whole batch
    const created = await o.fails(
      'bulk',
      {
        createItems: [{ type: 'Note', id: 'rolled-back-1' }],
        updateItems: [{ id, title: 'x', _expectedDateServerModified: 1 }],
      },
      409,
    );
    assert.ok(created);
    assert.deepEqual(await o.ok('get_item', 'rolled-back-1'), []);
  });

  test('a retried bulk with the same batchId is applied once and answered the same', async () => {
    const o = new Owner(pod.url);
    const batch = { batchId: 'push-42', createItems: [{ type: 'Note' }, { type: 'Note' }] };
    const firstAnswer = await o.ok('bulk', batch);
    const retryAnswer = await o.ok('bulk', batch);
    assert.deepEqual(retryAnswer, firstAnswer);
    assert.equal((await o.search({ type: 'Note' })).length, 2);
    const other = await o.ok('bulk', { ...batch, batchId: 'push-43' });
    assert.notDeepEqual(other.createItems, firstAnswer.createItems);
    // a failed batch is not remembered: its retry is applied
    await o.fails('bulk', { batchId: 'push-44', createItems: [{ type: 'Note', undeclared: 1 }] }, 400);
    await o.ok('bulk', { batchId: 'push-44', createItems: [{ type: 'Note' }] });
    assert.equal((await o.search({ type: 'Note' })).length, 5);
  });
});
