/**
 * The browser side of the client's browser tests and bench, bundled by bundle.ts: the shared
 * LocalStore suite against IndexedDbStore, and a sync engine over IndexedDB that the Node side
 * drives step by step through `page.evaluate(() => window.podTest...)`.
 */
import { PodClient, SyncEngine } from '@pod/client';
import { IndexedDbStore } from '@pod/client/browser';
import { Note, type OwnerKeys } from '../../bench/notes.js';
import { localStoreSuite } from '../local-store-suite.js';
import { indexedDbSuite } from './indexeddb-suite.js';
import { type CaseResult, collect, runCases } from './runner.js';

let engine: SyncEngine | undefined;
let store: IndexedDbStore | undefined;
/** Ids the live feed brought, and who waits for which. */
const arrived = new Set<string>();
const waiting = new Map<string, () => void>();

const podTest = {
  /** The shared suite named `name` (the Node side collects the same cases under it), each case on a new database. */
  async runLocalStoreSuite(name: string): Promise<CaseResult[]> {
    let stores = 0;
    const open = () => IndexedDbStore.open(`suite-${++stores}`);
    return runCases(collect((harness) => localStoreSuite(name, open, harness)));
  },

  /** What IndexedDbStore adds (indexeddb-suite.ts): pages, compaction, upgrading layout 1. */
  runIndexedDbSuite(): Promise<CaseResult[]> {
    return runCases(collect(indexedDbSuite));
  },

  /** Opens an engine over the IndexedDB store `name` and pulls; the number of items pulled and the time it took. */
  async openAndPull(keys: OwnerKeys, name: string, pullPageSize?: number): Promise<{ pulled: number; ms: number }> {
    store = await IndexedDbStore.open(name);
    engine = await SyncEngine.open({ client: new PodClient(keys), store, schema: [Note], pullPageSize });
    engine.on('change', ({ ids, origin }) => {
      if (origin !== 'remote') return;
      for (const id of ids) {
        arrived.add(id);
        waiting.get(id)?.();
      }
    });
    const started = performance.now();
    const pulled = await engine.pull();
    return { pulled, ms: performance.now() - started };
  },

  /** Opens the store `name` as after a reload: how long opening took (ms) and the items it holds. */
  async reopen(name: string): Promise<{ ms: number; items: number }> {
    const started = performance.now();
    store = await IndexedDbStore.open(name);
    const ms = performance.now() - started;
    return { ms, items: store.items().length };
  },

  /** `count` writes of one item each, as the live feed makes them (a newer version and the cursor): ms each. */
  async singleItemWrites(count: number): Promise<number[]> {
    const held = store ?? raise('no store is open');
    let cursor = await held.cursor();
    const times: number[] = [];
    for (const item of held.itemsOfType('Note').slice(0, count)) {
      const started = performance.now();
      await held.write({ items: [{ ...item, title: 'changed', dateServerModified: ++cursor }], cursor });
      times.push(performance.now() - started);
    }
    return times;
  },

  /** Starts the live feed; resolves once it is open. */
  async goLive(): Promise<void> {
    const live = requireEngine();
    const open = new Promise<void>((resolve) => live.on('feed', ({ status }) => status === 'open' && resolve()));
    live.start();
    await open;
  },

  /** Resolves once the live feed has brought the item `id`. */
  waitForRemote(id: string): Promise<void> {
    if (arrived.has(id)) return Promise.resolve();
    return new Promise((resolve) => waiting.set(id, resolve));
  },

  async title(id: string): Promise<string | undefined> {
    return (await requireEngine().get(id, Note))?.title ?? undefined;
  },

  /** Edits the item's title locally and pushes; resolves once the Pod acknowledged it. */
  async editTitle(id: string, title: string): Promise<number> {
    const live = requireEngine();
    await live.patch(id, { title });
    await live.push();
    return live.pendingCount();
  },

  /** What the store holds: the number of Notes and the pull cursor. */
  async held(): Promise<{ notes: number; cursor: number }> {
    const held = store ?? raise('no store is open');
    return { notes: (await held.itemsOfType('Note')).length, cursor: await held.cursor() };
  },

  /** Deletes the store `name`, as signing out would: at once, even while this page holds it open. */
  deleteStore(name: string): Promise<void> {
    return IndexedDbStore.delete(name);
  },

  async stop(): Promise<void> {
    await engine?.stop();
    await store?.close();
    engine = store = undefined;
  },
};

function raise(message: string): never {
  throw new Error(message);
}
function requireEngine(): SyncEngine {
  return engine ?? raise('call openAndPull first');
}

declare global {
  interface Window {
    podTest: typeof podTest;
  }
}
window.podTest = podTest;
