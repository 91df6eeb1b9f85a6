/**
 * The GraphQL compiler on a real encrypted store, without HTTP: both read modes (legacy, then account
 * mode once the store registers an account: spec 2023 §1.2), one SQL statement per list whatever the number of
 * items, the answer budget, and a separate reader connection whose long reads pause.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openEncrypted, type Db } from '../src/storage/database.js';
import { AnswerBudget } from '../src/storage/answer.js';
import { parseQuery } from '../src/storage/graphql/query.js';
import { OwnerStore } from '../src/storage/store.js';
import { PodError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pod-graphql-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function newStore(name: string, separateReader = false): { store: OwnerStore; db: Db } {
  const key = randomBytes(32);
  const db = openEncrypted(join(dir, `${name}.db`), key, true);
  const reader = separateReader ? openEncrypted(join(dir, `${name}.db`), key, false) : db;
  const store = new OwnerStore(db, () => {}, reader);
  store.write(() => {
    for (const [propertyName, valueType] of [
      ['name', 'Text'],
      ['rank', 'Integer'],
    ])
      store.createItem({ type: 'ItemPropertySchema', itemType: 'Thing', propertyName, valueType });
  });
  return { store, db: reader };
}

/** The answer in the store's read mode, which `hideDeleted` asks for (a mode only goes legacy → account). */
async function answer(store: OwnerStore, text: string, hideDeleted: boolean, maxBytes = 64 << 20) {
  if (hideDeleted) store.registerAccount();
  assert.equal(store.hidesDeleted, hideDeleted);
  const query = parseQuery(text, (name) => store.schema.get(name));
  const chunks = await store.graphqlAnswer(query, undefined, new AnswerBudget(maxBytes));
  return JSON.parse(chunks.join('')) as { data: any[]; total?: number };
}

describe('graphql compiler', () => {
  test('account mode: deleted roots and other ends are left out; legacy lists them; deleted: true in both', async () => {
    const { store } = newStore('modes');
    const ids = store.write(() => {
      const alive = store.createItem({ type: 'Person', name: 'alive' });
      const gone = store.createItem({ type: 'Person', name: 'gone' });
      const live = store.createItem({ type: 'Account', name: 'live' });
      const dead = store.createItem({ type: 'Account', name: 'dead' });
      for (const account of [live, dead]) store.createEdge({ _source: account, _target: alive, _name: 'owner' });
      store.createEdge({ _source: live, _target: gone, _name: 'owner' });
      return { alive, gone, live, dead };
    });
    store.write(() => {
      store.deleteItem(ids.gone);
      store.deleteItem(ids.dead);
    });
    const query = '{ Person(filter: {name: {ne: "x"}}) { name ~owner { name owner { name } } } total }';
    const legacy = await answer(store, query, false);
    assert.deepEqual(
      legacy.data.map((p) => [p.name, p.deleted]),
      [
        ['alive', false],
        ['gone', true],
      ],
    );
    assert.equal(legacy.total, 2);
    assert.deepEqual(
      legacy.data[0]['~owner'].map((a: any) => a.name),
      ['live', 'dead'],
    );
    assert.deepEqual(
      legacy.data[0]['~owner'][0].owner.map((p: any) => p.name),
      ['alive', 'gone'],
    );
    const account = await answer(store, query, true);
    assert.deepEqual(
      account.data.map((p) => p.name),
      ['alive'],
    );
    assert.equal(account.total, 1);
    assert.deepEqual(
      account.data[0]['~owner'].map((a: any) => a.name),
      ['live'],
    );
    assert.deepEqual(
      account.data[0]['~owner'][0].owner.map((p: any) => p.name),
      ['alive'],
    );
    // a filter on `deleted` still works in both modes (a sync client fetching tombstones)
    assert.deepEqual(
      (await answer(store, '{ Person(filter: {deleted: true}) { name } }', true)).data.map((p) => p.name),
      ['gone'],
    );
  });

  test('one SQL statement per list of the query, whatever the number of items', async () => {
    const { store, db } = newStore('statements');
    const populate = (people: number) =>
      store.write(() => {
        for (let i = 0; i < people; i++) {
          const person = store.createItem({ type: 'Person', name: `p${i}`, rank: i });
          for (let k = 0; k < 3; k++) {
            const account = store.createItem({ type: 'Account', name: `a${i}-${k}` });
            store.createEdge({ _source: account, _target: person, _name: 'owner' });
          }
        }
      });
    // Every statement run on the reader, whether just prepared or kept from an earlier query.
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((source: string) => {
      const statement = prepare(source);
      for (const method of ['iterate', 'all', 'get', 'run'] as const) {
        const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
        Object.assign(statement, {
          [method]: (...args: unknown[]) => {
            prepared.push(source);
            return original(...args);
          },
        });
      }
      return statement;
    }) as typeof db.prepare;
    const query = '{ Person(order_desc: rank) { name ~owner(limit: 2) { name owner { rank } } } }';
    populate(5);
    prepared.length = 0;
    const small = await answer(store, query, false);
    const statementsForFew = prepared.length;
    populate(400);
    prepared.length = 0;
    const large = await answer(store, query, false);
    assert.equal(small.data.length, 5);
    assert.equal(large.data.length, 405);
    assert.equal(large.data[0].name, 'p399');
    assert.deepEqual(
      large.data[0]['~owner'].map((a: any) => a.name),
      ['a399-0', 'a399-1'],
    );
    assert.equal(large.data[0]['~owner'][1].owner[0].rank, 399);
    assert.equal(statementsForFew, 3, 'roots, ~owner, owner');
    assert.equal(prepared.length, 3, `statements: ${prepared.join('\n')}`);
  });

  test('the answer budget refuses an answer that outgrows it, saying how to ask for less', async () => {
    const { store } = newStore('budget');
    store.write(() => {
      for (let i = 0; i < 200; i++) store.createItem({ type: 'Thing', name: 'x'.repeat(100) });
    });
    await assert.rejects(answer(store, '{ Thing { name } }', false, 10_000), (error: unknown) => {
      assert.ok(error instanceof PodError);
      assert.equal(error.kind, 'invalid');
      assert.match(error.message, /larger than 10000 bytes/);
      return true;
    });
    assert.equal((await answer(store, '{ Thing(limit: 10) { name } }', false, 10_000)).data.length, 10);
  });

  test('on a separate reader a long read yields to the event loop', async () => {
    const { store } = newStore('slices', true);
    store.write(() => {
      for (let i = 0; i < 20_000; i++) store.createItem({ type: 'Thing', name: `thing ${i}`, rank: i });
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const { data } = await answer(store, '{ Thing(order_desc: rank) { name rank } }', false);
      assert.equal(data.length, 20_000);
      assert.equal(data[0].rank, 19_999);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'other work ran while the query was read');
  });
});
