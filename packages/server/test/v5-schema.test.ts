/** Spec 2023 §2.2–2.4: POST /v5/<owner>/schema, ItemEdgeSchema items, advisory edge declarations. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { openEncrypted } from '../src/storage/database.js';
import { OwnerStore } from '../src/storage/store.js';
import { declare, Owner, timeout, toReply, usePod } from './helpers.js';

const BASE = { id: 'Text', dateCreated: 'DateTime', dateModified: 'DateTime', dateServerModified: 'DateTime' };
/** The spec's example payload, with the edges every type inherits. */
const dogSchema = (metaName = 'testCustomItem', version = '0.1') => ({
  nodes: {
    Dog: {
      properties: {
        ...BASE,
        externalId: 'Text',
        name: 'Text',
        age: 'Integer',
        bites: 'Bool',
        weight: 'Real',
        dateOfBirth: 'DateTime',
      },
    },
  },
  edges: {
    owner: [{ source: 'Dog', target: 'Person' }],
    referencedBy: [
      { source: 'Dog', target: 'Message' },
      { source: 'Dog', target: 'Photo' },
    ],
    label: [{ source: 'Dog', target: 'CategoricalPrediction' }],
    language: [{ source: 'Dog', target: 'Language' }],
    translation: [{ source: 'Dog', target: 'Translation' }],
  },
  meta: { name: metaName, url: 'example.com', version },
});

const v5 = async (o: Owner, payload: unknown, auth: unknown = o.auth) =>
  toReply(
    await fetch(`${o.url}/v5/${o.owner}/schema`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth, payload }),
      signal: timeout(),
    }),
  );

/** What the store recorded beside the items: edge declarations and meta. */
function recorded(dataDir: string, o: Owner) {
  const db = openEncrypted(join(dataDir, ownerHash(o.owner), 'pod.db'), Buffer.from(o.key, 'hex'), false);
  try {
    return new OwnerStore(db).schemaDeclarations();
  } finally {
    db.close();
  }
}

const schemaItems = async (o: Owner) => ({
  properties: await o.search({ type: 'ItemPropertySchema' }),
  edges: await o.search({ type: 'ItemEdgeSchema' }),
});

describe('POST /v5/<owner>/schema', () => {
  const pod = usePod();
  const registered = async () => {
    const o = new Owner(pod().url);
    await o.registerAccount();
    return o;
  };

  test('an owner without a registered account → 404, and no database is created', async () => {
    const o = new Owner(pod().url);
    const r = await v5(o, dogSchema());
    assert.equal(r.status, 404, r.text);
    assert.match(r.body.message, /no account registered for this owner \(POST \/v4\/account\)/);
    assert.equal(existsSync(join(pod().dataDir, ownerHash(o.owner))), false, 'nothing created');
    // a legacy database (created by a v4 call) has no account either
    await o.create({ type: 'Person', firstName: 'Ann' });
    assert.equal((await v5(o, dogSchema())).status, 404);
    assert.deepEqual(await o.search({ type: 'ItemPropertySchema' }), []);
  });

  test('the route is /v5 only: /v4/<owner>/schema is an unknown endpoint', async () => {
    const o = await registered();
    const r = await o.fails('schema', dogSchema(), 404);
    assert.match(r.body.message, /unknown endpoint/);
  });

  test('declares properties and edges: 200 {}, then usable; schema items list them once', async () => {
    const o = await registered();
    const r = await v5(o, dogSchema());
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {});
    const id = await o.create({ type: 'Dog', name: 'Rex', age: 3, bites: false, weight: 12, dateOfBirth: 5 });
    assert.deepEqual(
      { ...(await o.get(id)), id: 0, dateCreated: 0, dateModified: 0, dateServerModified: 0 },
      {
        id: 0,
        type: 'Dog',
        dateCreated: 0,
        dateModified: 0,
        dateServerModified: 0,
        deleted: false,
        name: 'Rex',
        age: 3,
        bites: false,
        weight: 12,
        dateOfBirth: 5,
      },
    );
    await o.fails('create_item', { type: 'Dog', age: 'old' }, 400);
    const items = await schemaItems(o);
    // base fields are ignored: no item for them
    assert.deepEqual(items.properties.map((i) => i.propertyName).sort(), [
      'age',
      'bites',
      'dateOfBirth',
      'externalId',
      'name',
      'weight',
    ]);
    assert.ok(items.properties.every((i) => i.itemType === 'Dog'));
    assert.equal(items.edges.length, 6);
    assert.ok(
      items.edges.some((e) => e.edgeName === 'referencedBy' && e.sourceType === 'Dog' && e.targetType === 'Photo'),
    );
    const { edges, meta } = recorded(pod().dataDir, o);
    assert.equal(edges.length, 6);
    assert.deepEqual(
      meta.map(({ dateRecorded, ...rest }) => rest),
      [{ name: 'testCustomItem', url: 'example.com', version: '0.1' }],
    );
  });

  test('idempotent: the same payload again, and under another meta name, changes nothing', async () => {
    const o = await registered();
    assert.equal((await v5(o, dogSchema())).status, 200);
    const before = await schemaItems(o);
    assert.equal((await v5(o, dogSchema())).status, 200);
    assert.equal((await v5(o, dogSchema('testBulkCreate'))).status, 200);
    assert.deepEqual(await schemaItems(o), before, 're-sent declarations create no items');
    const meta = recorded(pod().dataDir, o).meta.map((m) => m.name);
    assert.deepEqual(meta, ['testBulkCreate', 'testCustomItem']);
  });

  test('two versions of one meta name: 0.2 adds a field, 0.1 again is accepted and removes nothing', async () => {
    const o = await registered();
    assert.equal((await v5(o, dogSchema('dogs', '0.1'))).status, 200);
    const grown = dogSchema('dogs', '0.2');
    Object.assign(grown.nodes.Dog.properties, { color: 'Text', legs: 'Integer' });
    assert.equal((await v5(o, grown)).status, 200);
    assert.equal((await v5(o, dogSchema('dogs', '0.1'))).status, 200);
    const id = await o.create({ type: 'Dog', legs: 4, color: 'brown', age: 2 });
    assert.equal((await o.get(id)).legs, 4);
    const [meta] = recorded(pod().dataDir, o).meta;
    assert.equal(meta?.version, '0.1', 'the latest sent is recorded');
  });

  test('a payload naming central types: central defaults confirmed, overridden or in conflict', async () => {
    const o = await registered();
    const payload = {
      nodes: { Relationship: { properties: { ...BASE, value: 'Integer', label: 'Text' } } },
      meta: { name: 'old', url: '', version: '1' },
    };
    assert.equal((await v5(o, payload)).status, 200, 'value Integer overrides the unused default');
    await o.create({ type: 'Relationship', value: 2 });
    const again = { ...payload, nodes: { Translation: { properties: { value: 'Text' } } } };
    const r = await v5(o, again);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /^nodes\.Translation\.properties\.value: schema conflict/);
  });

  /** Every error row of §2.2's table, each naming the offending entry. */
  const ERRORS: [string, (p: ReturnType<typeof dogSchema>) => unknown, RegExp][] = [
    ['nodes missing', ({ nodes, ...rest }) => rest, /payload\.nodes/],
    ['nodes not an object', (p) => ({ ...p, nodes: [] }), /payload\.nodes: must be an object/],
    ['meta missing', ({ meta, ...rest }) => rest, /payload\.meta/],
    ['meta not an object', (p) => ({ ...p, meta: 'x' }), /payload\.meta/],
    [
      'a value type outside the five',
      (p) => ({ ...p, nodes: { Dog: { properties: { age: 'Int' } } } }),
      /payload\.nodes\.Dog\.properties\.age: a value type must be one of/,
    ],
    [
      'a property name failing the syntax rule',
      (p) => ({ ...p, nodes: { Dog: { properties: { '1age': 'Text' } } } }),
      /payload\.nodes\.Dog\.properties\.1age: a property name must match/,
    ],
    [
      'an edge name failing the syntax rule',
      (p) => ({ ...p, edges: { 'own-er': [{ source: 'Dog', target: 'Person' }] } }),
      /payload\.edges\.own-er: an edge name must match/,
    ],
    [
      'a type name failing the rule (node)',
      (p) => ({ ...p, nodes: { 'Dog!': { properties: {} } } }),
      /payload\.nodes\.Dog!: a type name must match/,
    ],
    [
      'a type name failing the rule (edge target)',
      (p) => ({ ...p, edges: { owner: [{ source: 'Dog', target: '_Person' }] } }),
      /payload\.edges\.owner\.0\.target: a type name must match/,
    ],
    [
      'a bad meta.name',
      (p) => ({ ...p, meta: { ...p.meta, name: 'test add' } }),
      /payload\.meta\.name: meta\.name must be letters and digits/,
    ],
    [
      'a base field with another type',
      (p) => ({ ...p, nodes: { Dog: { properties: { ...BASE, id: 'Integer', age: 'Integer' } } } }),
      /nodes\.Dog\.properties\.id: "id" is a base field of type Text/,
    ],
    [
      'a type conflict with a fixed built-in',
      (p) => ({ ...p, nodes: { Dog: { properties: { age: 'Integer', itemType: 'Integer' } } } }),
      /nodes\.Dog\.properties\.itemType: schema conflict/,
    ],
  ];
  for (const [what, make, message] of ERRORS)
    test(`400, nothing applied: ${what}`, async () => {
      const o = await registered();
      const r = await v5(o, make(dogSchema()));
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.message, message);
      assert.deepEqual(await schemaItems(o), { properties: [], edges: [] });
      await o.fails('create_item', { type: 'Dog', age: 1 }, 400);
      assert.deepEqual(recorded(pod().dataDir, o), { edges: [], meta: [] });
    });

  test('atomic: a conflict in the last entry applies none of the earlier ones', async () => {
    const o = await registered();
    await o.create(declare('color', 'Integer'));
    const payload = dogSchema();
    Object.assign(payload.nodes, { Cat: { properties: { whiskers: 'Integer', color: 'Text' } } });
    const r = await v5(o, payload);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /^nodes\.Cat\.properties\.color: schema conflict/);
    await o.fails('create_item', { type: 'Dog', age: 1 }, 400);
    await o.fails('create_item', { type: 'Cat', whiskers: 1 }, 400);
    const items = await schemaItems(o);
    assert.equal(items.properties.length, 1, 'only the earlier declaration');
    assert.deepEqual(items.edges, []);
  });

  test('meta names of letters and digits are all accepted (testAddToSchema style), and underscores too', async () => {
    const o = await registered();
    for (const name of ['testAddToSchema', 'a', 'X9', 'test_add_to_schema'])
      assert.equal((await v5(o, dogSchema(name))).status, 200, name);
  });

  test('401 for a wrong key of a registered owner; nothing applied', async () => {
    const o = await registered();
    await o.create({ type: 'Person' }); // opens it
    const wrong = o.withKey('00'.repeat(32));
    assert.equal((await v5(wrong, dogSchema())).status, 401);
    assert.deepEqual(await schemaItems(o), { properties: [], edges: [] });
  });
});

describe('ItemEdgeSchema items (§2.3) and advisory edges (§2.4)', () => {
  const pod = usePod();

  test('create_item and bulk record an edge declaration; the fields are built-in Text', async () => {
    const o = new Owner(pod().url);
    const id = await o.create({
      type: 'ItemEdgeSchema',
      edgeName: 'owner',
      sourceType: 'Account',
      targetType: 'Person',
    });
    assert.equal((await o.get(id)).edgeName, 'owner');
    await o.ok('bulk', {
      createItems: [
        { type: 'ItemEdgeSchema', edgeName: 'owner', sourceType: 'Account', targetType: 'Person' },
        { type: 'ItemEdgeSchema', edgeName: 'sender', sourceType: 'Message', targetType: 'Account' },
      ],
    });
    assert.deepEqual(recorded(pod().dataDir, o).edges, [
      { name: 'owner', source: 'Account', target: 'Person' },
      { name: 'sender', source: 'Message', target: 'Account' },
    ]);
    await o.fails('update_item', { id, edgeName: 'renamed' }, 400);
  });

  test('a missing or empty field → 400, nothing recorded', async () => {
    const o = new Owner(pod().url);
    const full = { type: 'ItemEdgeSchema', edgeName: 'owner', sourceType: 'Account', targetType: 'Person' };
    for (const field of ['edgeName', 'sourceType', 'targetType']) {
      const { [field]: _, ...missing } = full as Record<string, string>;
      const r = await o.fails('create_item', missing, 400);
      assert.match(r.body.message, new RegExp(`"${field}"`));
      await o.fails('create_item', { ...full, [field]: '' }, 400);
      await o.fails('bulk', { createItems: [{ ...full, [field]: '' }] }, 400);
    }
    assert.deepEqual(await o.search({ type: 'ItemEdgeSchema' }), []);
  });

  test('creating an edge needs no declaration', async () => {
    const o = new Owner(pod().url);
    const dog = await o.create({ type: 'Dog' });
    const person = await o.create({ type: 'Person' });
    await o.ok('create_edge', { _source: dog, _target: person, _name: 'label' });
  });
});
