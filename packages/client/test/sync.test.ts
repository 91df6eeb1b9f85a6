/** The sync engine against a real Pod: each behaviour of the synchronization seed, and ours beyond it. */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  MemoryStore,
  PodClient,
  PodError,
  SyncEngine,
  defineItem,
  type LocalStore,
  type SyncEngineOptions,
  type SyncEvents,
} from '@pod/client';
import { benchSync } from '../bench/sync.js';
import { startPod, type TestPod } from './pod.js';

class Note extends defineItem('Note', { title: 'Text', body: 'Text', stars: 'Integer' }) {}

let pod: TestPod;
before(async () => (pod = await startPod()));
after(() => pod.close());

/** A new owner: a plugin-like client writing directly, and engines over the same owner. */
function owner() {
  const direct = new PodClient({ url: pod.url });
  const client = (options: { retries?: number } = {}) =>
    new PodClient({ url: pod.url, ownerKey: direct.ownerKey, databaseKey: direct.databaseKey, ...options });
  const engine = (store: LocalStore = new MemoryStore(), options: Partial<SyncEngineOptions> = {}) =>
    SyncEngine.open({ client: client(), store, schema: [Note], ...options });
  return { direct, client, engine };
}

interface Sent {
  endpoint: string;
  payload: Record<string, unknown>;
}

/** Records every call made through fetch; `intercept` may answer or fail one instead. */
function watchFetch(intercept?: (sent: Sent, forward: () => Promise<Response>) => Promise<Response>) {
  const original = globalThis.fetch;
  const sent: Sent[] = [];
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const endpoint = String(input).split('/').pop()!;
    const payload =
      typeof init?.body === 'string' ? (JSON.parse(init.body) as { payload: Record<string, unknown> }).payload : {};
    const call = { endpoint, payload };
    sent.push(call);
    const forward = () => original(input, init);
    return intercept ? intercept(call, forward) : forward();
  }) as typeof fetch;
  restore = () => (globalThis.fetch = original);
  return sent;
}
let restore = () => {};
afterEach(() => restore());

const isSchemaBulk = (sent: Sent) =>
  sent.endpoint === 'bulk' &&
  (sent.payload.createItems as { type: string }[] | undefined)?.every((item) => item.type === 'ItemPropertySchema') ===
    true;

function nextEvent<K extends keyof SyncEvents>(
  engine: SyncEngine,
  event: K,
  matches: (e: SyncEvents[K]) => boolean = () => true,
) {
  return new Promise<SyncEvents[K]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within 10 s`)), 10_000);
    const off = engine.on(event, (e) => {
      if (!matches(e)) return;
      off();
      clearTimeout(timer);
      resolve(e);
    });
  });
}

describe('plugin sync', () => {
  it('a plugin sends its whole schema first, then ignores properties it never declared', async () => {
    class Memo extends defineItem('Memo', { title: 'Text', stars: 'Integer' }) {}
    class RicherMemo extends defineItem('Memo', { title: 'Text', mood: 'Text' }) {}
    const { direct: other, client } = owner();
    const plugin = client();
    const sent = watchFetch();
    await plugin.addToSchema(Memo);
    await plugin.create(new Memo({ title: 'mine' }));
    assert.ok(isSchemaBulk(sent[0]!), 'the schema is the first request');
    restore();

    await other.addToSchema(RicherMemo); // another client extends the schema later
    await other.create(new RicherMemo({ title: 'theirs', mood: 'odd' }));
    const [read] = await plugin.search(Memo, { title: 'theirs' });
    assert.ok(read instanceof Memo);
    assert.equal((read as unknown as { mood?: string }).mood, undefined, 'unknown property left out, not fatal');
    read.stars = 4;
    const update = watchFetch();
    await plugin.update(read);
    assert.deepEqual(
      update[0]!.payload,
      { id: read.id, stars: 4 },
      'only what changed: the unknown property is not erased',
    );
    const [onPod] = await other.search(RicherMemo, { title: 'theirs' });
    assert.equal(onPod!.mood, 'odd');
  });
});

describe('client-to-Pod schema sync', () => {
  it('sends the bundled schema as the first request on first install and after an upgrade, not on a plain restart', async () => {
    const { engine } = owner();
    const store = new MemoryStore();
    const first = await engine(store);
    await first.create(new Note({ title: 'a' }));
    let sent = watchFetch();
    await first.syncOnce();
    assert.ok(isSchemaBulk(sent[0]!), 'schema first');
    assert.equal(sent.filter(isSchemaBulk).length, 1);
    assert.ok(
      sent.slice(1).some((call) => call.endpoint === 'bulk' && (call.payload.createItems as unknown[]).length === 1),
    );
    restore();

    const restarted = await engine(store);
    sent = watchFetch();
    await restarted.syncOnce();
    assert.equal(sent.filter(isSchemaBulk).length, 0, 'same schema: nothing to send');
    restore();

    class NoteV2 extends defineItem('Note', { title: 'Text', body: 'Text', stars: 'Integer', color: 'Text' }) {}
    const upgraded = await engine(store, { schema: [NoteV2] });
    sent = watchFetch();
    await upgraded.patch((await upgraded.all())[0]!.id, { color: 'red' });
    await upgraded.syncOnce();
    assert.ok(isSchemaBulk(sent[0]!), 'the upgraded schema goes first');
    assert.ok((sent[0]!.payload.createItems as { propertyName: string }[]).some((d) => d.propertyName === 'color'));
    assert.equal((await upgraded.view((await upgraded.all())[0]!.id))!.color, 'red');
  });
});

describe('Pod-to-client sync', () => {
  it('pulls oldest to newest in pages, takes in schema changes as they come, keeps properties it does not know', async () => {
    const { direct, engine } = owner();
    await direct.addToSchema(Note);
    const early = await direct.create(new Note({ title: 'early' }));
    // Another client adds a property later: a schema item, then items using it.
    class Mood extends defineItem('Note', { title: 'Text', mood: 'Text' }) {}
    await direct.addToSchema(Mood);
    await direct.bulk({
      createItems: Array.from({ length: 25 }, (_, i) => new Mood({ title: `n${i}`, mood: 'happy' })),
    });

    const replica = await engine(new MemoryStore(), { pullPageSize: 10 });
    const schemaEvent = nextEvent(replica, 'schema', (e) => e.declared.some(([name]) => name === 'mood'));
    const sent = watchFetch();
    const pulled = await replica.pull();
    assert.equal(pulled, (await direct.search({})).length, 'everything, the schema items included');
    const searches = sent.filter(
      (call) => call.endpoint === 'search' && call.payload['dateServerModified>='] !== undefined,
    );
    assert.ok(searches.length >= 2, 'pages of 10, one with the 25 items of a bulk (they share a dateServerModified)');
    assert.ok(searches.every((call) => call.payload._limit === 10));
    const cursors = searches.map((call) => call.payload['dateServerModified>='] as number);
    assert.deepEqual(
      cursors,
      [...cursors].sort((a, b) => a - b),
      'oldest to newest',
    );
    assert.deepEqual((await schemaEvent).declared, [['mood', 'Text']]);
    assert.equal(replica.schema.get('mood'), 'Text');

    const all = await replica.all();
    const happy = all.find((item) => item.title === 'n3')!;
    assert.equal(happy.mood, 'happy', 'the replica keeps every property');
    const read = await replica.get(happy.id);
    assert.ok(read instanceof Note);
    assert.equal((read as unknown as { mood?: string }).mood, undefined, 'the class has no mood: left out, not fatal');
    assert.equal(((await replica.get(early.id)) as Note).title, 'early');
    assert.equal(await replica.pull(), 0, 'nothing new');
  });

  it('fetches only the schema on the quick path, keeping it in memory', async () => {
    const { direct, engine } = owner();
    class Mood extends defineItem('Note', { mood: 'Text' }) {}
    await direct.addToSchema(Mood);
    await direct.create(new Mood({ mood: 'calm' }));
    const store = new MemoryStore();
    const replica = await engine(store, { schema: [] });
    const sent = watchFetch();
    const schema = await replica.fetchSchema();
    assert.deepEqual(
      sent.map((call) => call.payload),
      [{ type: 'ItemPropertySchema' }],
    );
    assert.equal(schema.get('mood'), 'Text');
    assert.equal(store.cursor(), 0);
    assert.deepEqual(store.items(), []);
  });

  it('resumes an interrupted pull from its cursor: nothing fetched twice, nothing missed', async () => {
    const { direct, engine } = owner();
    await direct.addToSchema(Note);
    for (let i = 0; i < 5; i++)
      await direct.bulk({ createItems: Array.from({ length: 10 }, () => new Note({ title: `b${i}` })) });
    const store = new MemoryStore();
    const first = await engine(store, { pullPageSize: 10 });
    let searches = 0;
    watchFetch((call, forward) => {
      if (call.endpoint === 'search' && ++searches >= 4) return Promise.reject(new TypeError('fetch failed'));
      return forward();
    });
    const client = await first.pull().catch((error: unknown) => error);
    assert.ok(client instanceof PodError && client.status === 0);
    restore();
    const stoppedAt = store.cursor();
    assert.ok(stoppedAt > 0, 'the pages stored before the failure moved the cursor');
    const held = store.items().length;

    const sent = watchFetch();
    const second = await engine(store, { pullPageSize: 10 });
    const more = await second.pull();
    assert.equal(sent.find((call) => call.endpoint === 'search')!.payload['dateServerModified>='], stoppedAt);
    assert.equal(held + more, (await direct.search({})).length, 'each item once');
    assert.equal(store.items().length, (await direct.search({})).length);
  });
});

describe('client-to-Pod sync', () => {
  it('pushes only changed properties, an erased one as null, stating the version it was made on', async () => {
    const { direct, engine } = owner();
    await direct.addToSchema(Note);
    const note = await direct.create(new Note({ title: 't', body: 'b', stars: 3 }));
    const replica = await engine();
    await replica.pull();
    const local = (await replica.get(note.id)) as Note;
    const version = local.dateServerModified;
    local.title = 'new';
    local.body = undefined;
    await replica.update(local);
    const sent = watchFetch();
    assert.equal(await replica.push(), 1);
    const bulk = sent.find((call) => call.endpoint === 'bulk')!.payload;
    const [update] = bulk.updateItems as Record<string, unknown>[];
    assert.deepEqual(Object.keys(update!).sort(), [
      '_expectedDateServerModified',
      'body',
      'dateModified',
      'id',
      'title',
    ]);
    assert.equal(update!.title, 'new');
    assert.equal(update!.body, null);
    assert.equal(update!._expectedDateServerModified, version);
    assert.ok(typeof bulk.batchId === 'string');
    const [onPod] = await direct.search({ id: note.id });
    assert.equal((onPod as Note).title, 'new');
    assert.equal((onPod as Note).body, undefined);
    assert.equal((onPod as Note).stars, 3);
    assert.deepEqual(await replica.view(note.id), (onPod as Note).toJSON(), 'the replica holds what the Pod wrote');
  });

  it('pushes in batches of the size asked for, holding back while the push policy says so', async () => {
    const { engine } = owner();
    const replica = await engine(new MemoryStore(), { pushBatchSize: 2 });
    for (let i = 0; i < 5; i++) await replica.create(new Note({ title: `n${i}` }));
    let sent = watchFetch();
    assert.equal(await replica.push(), 5);
    assert.deepEqual(
      sent
        .filter((call) => call.endpoint === 'bulk' && !isSchemaBulk(call))
        .map((call) => (call.payload.createItems as unknown[]).length),
      [2, 2, 1],
    );
    restore();

    let online = false;
    let heldBack = 0;
    const live = await engine(new MemoryStore(), {
      pushPolicy: () => {
        if (online) return { delayMs: 0, batchSize: 3 };
        heldBack++;
        return false;
      },
    });
    live.start();
    sent = watchFetch();
    heldBack = 0;
    for (let i = 0; i < 4; i++) await live.create(new Note({ title: `m${i}` }));
    // each create asked the policy before it resolved, and a refusal schedules nothing: no need to wait
    assert.equal(heldBack, 4, 'every local change asked the push policy');
    assert.equal(
      sent.filter((call) => call.endpoint === 'bulk' && !isSchemaBulk(call)).length,
      0,
      'metered: held back',
    );
    online = true;
    const pushed = nextEvent(live, 'pushed', (e) => e.changes.length === 2);
    await live.create(new Note({ title: 'last' }));
    await pushed;
    assert.deepEqual(
      sent
        .filter((call) => call.endpoint === 'bulk' && !isSchemaBulk(call))
        .map((call) => (call.payload.createItems as unknown[]).length),
      [3, 2],
    );
    await live.stop();
  });

  it('repeats a push whose answer was lost with the same batchId, after a restart too: applied once', async () => {
    const { direct, client } = owner();
    const store = new MemoryStore();
    const first = await SyncEngine.open({ client: client({ retries: 0 }), store, schema: [Note] });
    await first.ensureSchema();
    const note = await first.create(new Note({ title: 'once' }));
    await first.createEdge(note, 'self', note);
    const sent = watchFetch(async (call, forward) => {
      const answer = await forward();
      if (call.endpoint === 'bulk') throw new TypeError('fetch failed'); // applied, but the answer never came
      return answer;
    });
    const failure = await first.push().catch((error: unknown) => error);
    assert.ok(failure instanceof PodError && failure.status === 0);
    restore();
    const batchId = store.outbox()!.batchId;
    assert.equal(sent.at(-1)!.payload.batchId, batchId);

    const again = watchFetch();
    const restarted = await SyncEngine.open({ client: client(), store, schema: [Note] });
    assert.equal(await restarted.pendingCount(), 2);
    assert.equal(await restarted.push(), 2);
    assert.equal(
      again.find((call) => call.endpoint === 'bulk')!.payload.batchId,
      batchId,
      'the same batch, the same batchId',
    );
    assert.equal((await direct.search({ type: 'Note' })).length, 1, 'applied once');
    assert.equal((await direct.search({ type: 'Edge' })).length, 1);
    assert.equal(await restarted.pendingCount(), 0);
    assert.equal(store.outbox(), undefined);
  });

  it('drops a change the Pod refuses, tells why, and pushes the rest', async () => {
    const { engine } = owner();
    const replica = await engine();
    const rejected = nextEvent(replica, 'rejected');
    await replica.create(new Note({ title: 'fine' }));
    const bad = await replica.create(new Note({ title: 'bad' }));
    await replica.patch(bad.id, { undeclared: 1 });
    await replica.create(new Note({ title: 'fine too' }));
    assert.equal(await replica.push(), 2);
    const { change, error } = await rejected;
    assert.equal(change.id, bad.id);
    assert.equal(error.status, 400);
    assert.equal(await replica.view(bad.id), undefined);
    await replica.pull();
    assert.deepEqual(
      (await replica.all())
        .filter((item) => item.type === 'Note')
        .map((item) => item.title)
        .sort(),
      ['fine', 'fine too'],
    );
  });
});

describe('conflicts', () => {
  /** An item both sides have; the Pod changes it (stars), then the replica changes it (title) unaware. */
  async function conflict(options: Partial<SyncEngineOptions>, remoteFirst = true) {
    const { direct, engine } = owner();
    await direct.addToSchema(Note);
    const note = await direct.create(new Note({ title: 'base', stars: 1 }));
    const replica = await engine(new MemoryStore(), options);
    await replica.pull();
    const remoteWrite = () => direct.call('update_item', { id: note.id, title: 'remote', stars: 2 });
    if (remoteFirst) await remoteWrite();
    await new Promise((resolve) => setTimeout(resolve, 2));
    await replica.patch(note.id, { title: 'local' });
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (!remoteFirst) await remoteWrite();
    const reported = nextEvent(replica, 'conflict');
    await replica.push();
    const event = await reported;
    await replica.pull();
    const [onPod] = await direct.search({ id: note.id });
    assert.deepEqual(await replica.view(note.id), onPod!.toJSON(), 'the replica equals the Pod');
    return { onPod: onPod as Note, event };
  }

  it('local-wins puts the local change on top of the newer version', async () => {
    const { onPod, event } = await conflict({ conflicts: 'local-wins' });
    assert.equal(onPod.title, 'local');
    assert.equal(onPod.stars, 2, 'the remote change to another property stays');
    assert.equal(event.resolution, 'local');
    assert.equal(event.remote.title, 'remote');
  });

  it('remote-wins drops the local change', async () => {
    const { onPod, event } = await conflict({ conflicts: 'remote-wins' });
    assert.equal(onPod.title, 'remote');
    assert.equal(event.resolution, 'remote');
  });

  it('newest-wins keeps the later change by dateModified', async () => {
    assert.equal((await conflict({ conflicts: 'newest-wins' }, true)).onPod.title, 'local');
    assert.equal((await conflict({ conflicts: 'newest-wins' }, false)).onPod.title, 'remote');
  });

  it('report lets the application decide, here by merging', async () => {
    const { onPod, event } = await conflict({
      conflicts: 'report',
      onConflict: async ({ local, remote }) => ({ patch: { title: `${remote.title}+${local.patch.title}` } }),
    });
    assert.equal(onPod.title, 'remote+local');
    assert.deepEqual(event.resolution, { patch: { title: 'remote+local' } });
  });

  it('a change made while its item is being pushed is based on what that push wrote: no false conflict', async () => {
    const { direct, engine } = owner();
    const replica = await engine(new MemoryStore(), { conflicts: 'remote-wins' });
    const note = await replica.create(new Note({ title: 'v1' }));
    await replica.push();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const inFlight = new Promise<void>((resolve) => (held = resolve));
    watchFetch(async (call, forward) => {
      const answer = await forward();
      if (call.endpoint === 'bulk') {
        held();
        await gate;
      }
      return answer;
    });
    await replica.patch(note.id, { title: 'v2' });
    const pushing = replica.push();
    await inFlight;
    await replica.patch(note.id, { stars: 5 }); // while v2 is in flight
    assert.deepEqual([(await replica.view(note.id))!.title, (await replica.view(note.id))!.stars], ['v2', 5]);
    release();
    await pushing;
    let conflicts = 0;
    replica.on('conflict', () => conflicts++);
    await replica.push();
    assert.equal(conflicts, 0);
    const [onPod] = await direct.search({ id: note.id });
    assert.deepEqual([(onPod as Note).title, (onPod as Note).stars], ['v2', 5]);
  });
});

describe('live', () => {
  it('brings changes as they commit, edges with their ends, and misses nothing across a dropped connection', async () => {
    const { engine } = owner();
    const writer = await engine();
    const reader = await engine();
    const seen: string[] = [];
    reader.on('change', (e) => e.origin === 'remote' && seen.push(...e.ids));
    const open = nextEvent(reader, 'feed', (e) => e.status === 'open');
    reader.start();
    await open;

    const first = await writer.create(new Note({ title: 'one' }));
    const arrived = nextEvent(reader, 'change', (e) => e.ids.includes(first.id));
    await writer.push();
    await arrived;
    assert.equal((await reader.view(first.id))!.title, 'one');

    reader.interruptFeed();
    const more = [];
    for (let i = 0; i < 20; i++) more.push(await writer.create(new Note({ title: `m${i}` })));
    const edge = await writer.createEdge(first, 'next', more[0]!);
    await writer.push();
    const last = more.at(-1)!.id;
    await new Promise<void>((resolve) => {
      const check = async () =>
        (await reader.edges(first.id)).length === 1 && (await reader.view(last)) ? resolve() : setTimeout(check, 5);
      void check();
    });
    assert.deepEqual(await reader.edges(first.id), [{ id: edge, source: first.id, target: more[0]!.id, name: 'next' }]);
    for (const note of more) assert.equal((await reader.view(note.id))!.title, note.title);
    await reader.stop();
  });
});

describe('the sync bench', () => {
  it('measures its three figures', async () => {
    const figures = await benchSync(pod.url, { items: 3_000, rounds: 20 });
    assert.ok(
      figures.initialItemsPerSecond > 0 && figures.incrementalP50Ms > 0 && figures.feedLatencyP50Ms > 0,
      JSON.stringify(figures),
    );
  });
});
