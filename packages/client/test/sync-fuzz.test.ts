/**
 * Model-based fuzz test of the sync engine. Several engines (in memory and in encrypted SQLite
 * files, with different conflict policies) and plugins (writing directly through PodClient) write,
 * update, delete, link and sync concurrently against a real Pod behind a TCP proxy that cuts every
 * connection now and then. Every write the Pod acknowledges is recorded with its commit's
 * dateServerModified. At the end:
 * - the Pod equals the acknowledged writes folded in commit order (none lost, none invented);
 * - every update an engine pushed was based on the item's latest version (no blind overwrite);
 * - an engine under `local-wins` got every local change of its own onto the Pod;
 * - every replica equals the Pod, item by item, property by property, edges included.
 * The run is chosen by a seed: `SYNC_FUZZ_SEED=<n>` replays one (a failure prints it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import {
  MemoryStore,
  PodClient,
  PodError,
  SyncEngine,
  defineItem,
  type ConflictPolicy,
  type LocalStore,
  type Patch,
  type PodItem,
} from '@pod/client';
import { SqliteStore } from '@pod/client/node';
import { seededRandom, startPod, type TestPod } from './pod.js';

class Note extends defineItem('Note', { title: 'Text', body: 'Text', stars: 'Integer', done: 'Bool' }) {}

const SEED = Number(process.env.SYNC_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ENGINE_OPS = 900;
const PLUGIN_OPS = 600;

type Random = ReturnType<typeof seededRandom>;

/** A TCP proxy in front of the Pod whose connections can all be cut at once, mid-request or mid-feed. */
async function startProxy(port: number) {
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = connect(port, '127.0.0.1');
    const close = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', close).on('close', close);
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
      return sockets.size;
    },
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

/** An acknowledged write: what the Pod applied to one item in the transaction at `at`. */
interface Write {
  id: string;
  at: number;
  kind: 'create' | 'update' | 'delete' | 'bump';
  fields: Patch;
  /** For a conditional update: the version it required. */
  base?: number;
  by: string;
}

const BASE = new Set(['id', 'type', 'dateCreated', 'dateModified', 'dateServerModified', 'deleted', '[[edges]]']);
const properties = (item: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(item)
      .filter(([name]) => !BASE.has(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  ) as Patch;

function randomPatch(rng: Random, full = false): Patch {
  const patch: Patch = {};
  const values: Record<string, () => Patch[string]> = {
    title: () => rng.pick(['a', 'b', 'c', 'ü', `t${rng.int(1000)}`]),
    body: () => `body ${rng.int(100)}`,
    stars: () => rng.int(6),
    done: () => rng.chance(0.5),
  };
  for (const name of Object.keys(values))
    if (full ? rng.chance(0.7) : rng.chance(0.4)) patch[name] = !full && rng.chance(0.2) ? null : values[name]!();
  if (!full && Object.keys(patch).length === 0) patch.title = values.title!();
  return patch;
}

let pod: TestPod;
let dir: string;
before(async () => {
  pod = await startPod();
  dir = mkdtempSync(join(tmpdir(), 'pod-fuzz-'));
});
after(async () => {
  await pod.close();
  rmSync(dir, { recursive: true, force: true });
});

// The timeout only guards against a hang: one run took 110 s on a 2-core machine shared with other work.
it(`fuzz: concurrent engines and plugins over a flaky network converge, losing nothing (SYNC_FUZZ_SEED=${SEED})`, {
  timeout: 600_000,
}, async () => {
  const started = performance.now();
  const rng = seededRandom(SEED);
  const proxy = await startProxy(Number(new URL(pod.url).port));
  const direct = new PodClient({ url: pod.url });
  const keys = { ownerKey: direct.ownerKey, databaseKey: direct.databaseKey! };
  const client = () => new PodClient({ url: proxy.url, ...keys, timeout: 5_000, retries: 3 });
  await direct.addToSchema(Note);

  const writes: Write[] = [];
  const notes: string[] = []; // ids of Notes anyone created, for others to pick
  let ops = 0;
  let cuts = 0;
  let conflicts = 0;

  // ---- engines ----
  interface Replica {
    name: string;
    policy: ConflictPolicy;
    open(): Promise<LocalStore>;
    store?: LocalStore;
    engine?: SyncEngine;
    /** Under local-wins: the last value this engine gave each property locally, and the last it got onto the Pod. */
    mine: Map<string, Patch>;
    landed: Map<string, Patch>;
    rejected: number;
  }
  const replicas: Replica[] = (
    [
      { name: 'memory/local-wins', policy: 'local-wins', open: async () => new MemoryStore() },
      {
        name: 'sqlite/local-wins',
        policy: 'local-wins',
        open: async () => new SqliteStore(join(dir, 'a.db'), { key: keys.databaseKey }),
      },
      { name: 'sqlite/newest-wins', policy: 'newest-wins', open: async () => new SqliteStore(join(dir, 'b.db')) },
      { name: 'memory/report', policy: 'report', open: async () => new MemoryStore() },
    ] as Pick<Replica, 'name' | 'policy' | 'open'>[]
  ).map((replica) => ({ ...replica, mine: new Map(), landed: new Map(), rejected: 0 }));

  const record = (into: Map<string, Patch>, id: string, patch: Patch) =>
    into.set(id, { ...into.get(id), ...properties(patch) });

  async function open(replica: Replica, reuseStore: boolean) {
    if (!reuseStore) replica.store = await replica.open();
    const engine = await SyncEngine.open({
      client: client(),
      store: replica.store!,
      schema: [Note],
      conflicts: replica.policy,
      onConflict: ({ local, remote }) =>
        local.dateModified % 2
          ? 'local'
          : remote.dateModified % 2
            ? 'remote'
            : { patch: { ...local.patch, body: 'merged' } },
      pullPageSize: 1 + rng.int(50),
      pushBatchSize: 1 + rng.int(40),
      feed: { backoffMs: 20, maxBackoffMs: 200 },
    });
    engine.on('pushed', ({ changes, dateServerModified: at }) => {
      for (const change of changes) {
        const kind = change.base !== null ? 'update' : 'create';
        writes.push({
          id: change.id,
          at,
          kind,
          fields: kind === 'create' ? { ...change.patch, type: change.type } : change.patch,
          base: change.base ?? undefined,
          by: replica.name,
        });
        if (change.edge && change.base === null)
          writes.push({ id: change.edge.source, at, kind: 'bump', fields: {}, by: replica.name });
        record(replica.landed, change.id, change.patch);
      }
    });
    engine.on('conflict', () => conflicts++);
    engine.on('rejected', () => replica.rejected++);
    replica.engine = engine;
  }

  async function engineStep(replica: Replica) {
    const engine = replica.engine!;
    const roll = rng.next();
    const known = async () => {
      const id = notes.length ? rng.pick(notes) : undefined;
      return id && (await engine.view(id)) ? id : undefined;
    };
    if (roll < 0.35) {
      const id = await known();
      if (!id) return;
      const patch = randomPatch(rng);
      await engine.patch(id, patch);
      record(replica.mine, id, patch);
    } else if (roll < 0.5) {
      const note = new Note(randomPatch(rng, true) as never);
      await engine.create(note);
      notes.push(note.id);
      record(replica.mine, note.id, note.toJSON());
    } else if (roll < 0.55) {
      const id = await known();
      if (id) await engine.delete(id);
    } else if (roll < 0.6) {
      const [source, target] = [await known(), await known()];
      if (source && target) await engine.createEdge(source, rng.pick(['next', 'ref']), target);
    } else if (roll < 0.7) {
      await engine.push();
    } else if (roll < 0.8) {
      await engine.pull();
    } else if (roll < 0.9) {
      await engine.syncOnce();
    } else if (roll < 0.94) {
      replica.engine!.interruptFeed();
    } else if (roll < 0.97) {
      // A restart: the engine goes, the store stays (a SQLite file is closed and opened again).
      await engine.stop();
      const reopen = replica.store instanceof SqliteStore;
      if (reopen) await replica.store!.close();
      await open(replica, !reopen);
    } else if (rng.chance(0.5)) {
      engine.start();
    } else {
      await engine.stop();
    }
  }

  // ---- plugins: each write is a bulk with a batchId, repeated until answered, and its own search tells its commit ----
  async function pluginWrite(
    plugin: PodClient,
    name: string,
    bulk: Record<string, unknown>,
    touched: Omit<Write, 'at' | 'by'>[],
  ) {
    const payload = { ...bulk, batchId: crypto.randomUUID(), search: [{ _sortOrder: 'Desc' as const, _limit: 1 }] };
    for (;;) {
      try {
        const answer = await plugin.call('bulk', payload);
        const at = (answer.search[0] as PodItem[])[0]!.dateServerModified;
        for (const write of touched) writes.push({ ...write, at, by: name });
        return true;
      } catch (error) {
        if (error instanceof PodError && error.status === 0) continue;
        if (error instanceof PodError && error.status === 409) return false;
        throw error;
      }
    }
  }

  async function pluginStep(plugin: PodClient, name: string) {
    const roll = rng.next();
    const existing = notes.length ? rng.pick(notes) : undefined;
    const onPod = async (id: string) => {
      for (;;)
        try {
          return (await plugin.call('get_item', id))[0];
        } catch (error) {
          if (!(error instanceof PodError && error.status === 0)) throw error;
        }
    };
    if (roll < 0.3) {
      const items = Array.from({ length: 1 + rng.int(5) }, () => ({
        id: crypto.randomUUID().replaceAll('-', ''),
        type: 'Note',
        ...randomPatch(rng, true),
      }));
      if (
        await pluginWrite(
          plugin,
          name,
          { createItems: items },
          items.map(({ id, ...fields }) => ({ id, kind: 'create', fields })),
        )
      )
        notes.push(...items.map((item) => item.id));
      return;
    }
    if (!existing || !(await onPod(existing))) return;
    if (roll < 0.65) {
      const patch = randomPatch(rng);
      await pluginWrite(plugin, name, { updateItems: [{ id: existing, ...patch }] }, [
        { id: existing, kind: 'update', fields: patch },
      ]);
    } else if (roll < 0.85) {
      const read = (await onPod(existing))!;
      const patch = randomPatch(rng);
      const base = read.dateServerModified;
      await pluginWrite(
        plugin,
        name,
        { updateItems: [{ id: existing, ...patch, _expectedDateServerModified: base }] },
        [{ id: existing, kind: 'update', fields: patch, base }],
      );
    } else if (roll < 0.93) {
      await pluginWrite(plugin, name, { deleteItems: [existing] }, [{ id: existing, kind: 'delete', fields: {} }]);
    } else {
      const target = rng.pick(notes);
      if (!(await onPod(target))) return;
      const id = crypto.randomUUID().replaceAll('-', '');
      await pluginWrite(plugin, name, { createEdges: [{ id, _source: existing, _target: target, _name: 'ref' }] }, [
        { id, kind: 'create', fields: { type: 'Edge' } },
        { id: existing, kind: 'bump', fields: {} },
      ]);
    }
  }

  try {
    for (const replica of replicas) await open(replica, false);
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await new Promise((resolve) => setTimeout(resolve, 30 + rng.int(150)));
        if (cutting && proxy.cut() > 0) cuts++;
      }
    })();
    const pause = () => new Promise((resolve) => setTimeout(resolve, rng.int(3)));
    await Promise.all([
      ...replicas.map(async (replica) => {
        for (let i = 0; i < ENGINE_OPS; i++, ops++) {
          await engineStep(replica).catch((error: unknown) => {
            if (!(error instanceof PodError && (error.status === 0 || error.status === 409))) throw error; // the network, or a racing writer
          });
          await pause();
        }
      }),
      ...['plugin-1', 'plugin-2'].map(async (name) => {
        const plugin = client();
        for (let i = 0; i < PLUGIN_OPS; i++, ops++) {
          await pluginStep(plugin, name);
          await pause();
        }
      }),
    ]);
    cutting = false;
    await cutter;

    // ---- quiet: every engine pushes what it has, then all pull ----
    for (const replica of replicas) await replica.engine!.stop();
    for (let round = 0; ; round++) {
      assert.ok(round < 20, 'the engines settle');
      for (const replica of replicas) await replica.engine!.syncOnce();
      const left = await Promise.all(replicas.map((replica) => replica.engine!.pendingCount()));
      if (left.every((count) => count === 0)) break;
    }
    for (const replica of replicas) await replica.engine!.pull();

    // ---- the Pod equals the acknowledged writes in commit order ----
    const onPod = (await direct.call('search', { '[[edges]]': {} })).filter(
      (item) => item.type !== 'ItemPropertySchema',
    ) as (PodItem & {
      '[[edges]]': { id: string; _edge: string; _item: { id: string } }[];
    })[];
    const model = new Map<string, Record<string, unknown>>();
    const history = new Map<string, number[]>();
    for (const write of [...writes].sort((a, b) => a.at - b.at)) {
      const versions = history.get(write.id) ?? [];
      if (write.base !== undefined && write.kind === 'update')
        assert.equal(
          write.base,
          versions.filter((at) => at < write.at).at(-1), // an edge's bump of its source shares the commit
          `${write.by} wrote ${write.id} at ${write.at} on version ${write.base}, not the latest`,
        );
      history.set(write.id, [...versions, write.at]);
      const state = model.get(write.id);
      if (write.kind === 'create') {
        assert.equal(state, undefined, `${write.id} created twice`);
        // a create leaves out null fields (a property erased before the item was pushed)
        model.set(write.id, {
          deleted: false,
          ...Object.fromEntries(Object.entries(write.fields).filter(([, value]) => value !== null)),
        });
      } else if (write.kind !== 'bump') {
        assert.ok(state, `${write.id} changed before it was created`);
        for (const [name, value] of Object.entries(write.kind === 'delete' ? { deleted: true } : write.fields))
          if (value === null) delete state[name];
          else state[name] = value;
      }
    }
    assert.deepEqual(
      new Set(onPod.map((item) => item.id)),
      new Set(model.keys()),
      'the Pod holds exactly the acknowledged items',
    );
    for (const item of onPod) {
      const expected = model.get(item.id)!;
      const describe = `item ${item.id}, writes ${JSON.stringify(writes.filter((w) => w.id === item.id))}`;
      assert.equal(item.type, expected.type, describe);
      assert.equal(item.deleted, expected.deleted ?? false, describe);
      assert.deepEqual(properties(item), properties(expected), describe);
    }

    // ---- local-wins engines got each of their local changes onto the Pod ----
    for (const replica of replicas.filter((r) => r.policy === 'local-wins'))
      for (const [id, mine] of replica.mine)
        for (const [name, value] of Object.entries(mine))
          assert.equal(
            replica.landed.get(id)?.[name],
            value,
            `${replica.name}: its ${name} of ${id} never reached the Pod`,
          );

    // ---- every replica equals the Pod ----
    const everything = (await direct.call('search', {})) as PodItem[];
    for (const replica of replicas) {
      assert.equal(replica.rejected, 0, `${replica.name}: no change refused`);
      const held = new Map((await replica.engine!.all()).map((item) => [item.id, item]));
      assert.equal(held.size, everything.length, `${replica.name}: as many items as the Pod`);
      for (const item of everything) assert.deepEqual(held.get(item.id), item, `${replica.name}: item ${item.id}`);
      for (const item of onPod)
        for (const edge of item['[[edges]]'])
          assert.deepEqual(
            (await replica.engine!.edges(item.id)).find((e) => e.id === edge.id),
            { id: edge.id, source: item.id, target: edge._item.id, name: edge._edge },
            `${replica.name}: edge ${edge.id}`,
          );
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `sync fuzz seed ${SEED}: ${ops} operations, ${writes.length} acknowledged writes, ${onPod.length} items, ` +
        `${conflicts} conflicts settled, ${cuts} network cuts, ${seconds.toFixed(1)} s`,
    );
  } catch (error) {
    throw new Error(`sync fuzz failed; replay with SYNC_FUZZ_SEED=${SEED}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    for (const replica of replicas) {
      await replica.engine?.stop();
      await replica.store?.close();
    }
    await proxy.close();
  }
});
