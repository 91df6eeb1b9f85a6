// Spec 2023 §2.2: a plugin declares schema through /v5 only as far as its grant lets it declare
// ItemPropertySchema and ItemEdgeSchema items: properties and edges of types it writes. A refused
// entry applies nothing of the call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import { declare, type Owner, type Reply, timeout, toReply } from '../helpers.js';

const v5 = async (caller: Owner, payload: unknown): Promise<Reply> =>
  toReply(
    await fetch(`${caller.url}/v5/${caller.owner}/schema`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: caller.auth, payload }),
      signal: timeout(),
    }),
  );

const meta = { name: 'dogPlugin', url: 'example.com', version: '0.1' };
const dog = (edges: Record<string, { source: string; target: string }[]> = {}) => ({
  nodes: { Dog: { properties: { id: 'Text', age: 'Integer', breed: 'Text' } } },
  edges,
  meta,
});

describe('/v5 schema from a plugin', () => {
  let lab: PluginPod;
  let owner: Owner;
  let none: PluginCaller;
  let dogWriter: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url);
    await owner.registerAccount();
    none = await lab.runAs(owner, 'evil-image', {});
    dogWriter = await lab.runAs(owner, 'other-image', { write: { Dog: ['age', 'breed'] } });
  });
  after(async () => lab?.close());

  const nothingDeclared = async () => {
    await owner.fails('create_item', { type: 'Dog', age: 1 }, 400);
    await owner.fails('create_item', { type: 'Dog', breed: 'x' }, 400);
    assert.deepEqual(await owner.search({ type: 'ItemEdgeSchema' }), []);
  };

  test('a plugin that writes no Dog cannot declare Dog properties or edges: 403, nothing applied', async () => {
    const r = await v5(none, dog());
    assert.equal(r.status, 403, r.text);
    assert.match(
      r.body.message,
      /^nodes\.Dog\.properties\.age: plugin permission: this plugin may declare only properties it writes/,
    );
    const edgeOnly = await v5(none, { nodes: {}, edges: { owner: [{ source: 'Dog', target: 'Person' }] }, meta });
    assert.equal(edgeOnly.status, 403, edgeOnly.text);
    assert.match(
      edgeOnly.body.message,
      /^edges\.owner\[0\]: plugin permission: this plugin may declare only edges of types it writes/,
    );
    await nothingDeclared();
  });

  test('an edge from a type it does not write fails the whole call, its allowed properties included', async () => {
    const r = await v5(
      dogWriter,
      dog({ owner: [{ source: 'Dog', target: 'Person' }], knows: [{ source: 'Person', target: 'Dog' }] }),
    );
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.message, /^edges\.knows\[0\]/);
    await nothingDeclared();
  });

  test('nor can it pin a central default it does not write (confirming one is a declaration)', async () => {
    const r = await v5(none, { nodes: { Person: { properties: { email: 'Text' } } }, meta });
    assert.equal(r.status, 403, r.text);
    await none.fails('create_item', declare('score', 'Real', 'SuggestedMerge'), 403);
    // still a default: the owner may override it while no item holds a value
    await owner.create(declare('email', 'Integer', 'Person'));
  });

  test('a property it does not write → 403', async () => {
    const payload = dog();
    Object.assign(payload.nodes.Dog.properties, { secretNote: 'Text' });
    assert.equal((await v5(dogWriter, payload)).status, 403);
    await nothingDeclared();
  });

  test('ItemEdgeSchema items from a plugin: exactly the four fields, for types it writes', async () => {
    const edge = { type: 'ItemEdgeSchema', edgeName: 'owner', sourceType: 'Dog', targetType: 'Person' };
    const extra = await dogWriter.fails('create_item', { ...edge, id: 'chosen-id-1' }, 403);
    assert.match(extra.body.message, /exactly type, edgeName, sourceType, targetType/);
    await none.fails('create_item', edge, 403);
    await dogWriter.fails('bulk', { createItems: [{ ...edge, sourceType: 'Person' }] }, 403);
    await nothingDeclared();
  });

  test("a plugin of an owner without an account gets the owner's 404, and declares nothing", async () => {
    const legacy = await ownerWith(lab.url);
    const plugin = await lab.runAs(legacy, 'priv-image', { write: { Dog: '*' } });
    const r = await v5(plugin, dog());
    assert.equal(r.status, 404, r.text);
    assert.match(r.body.message, /no account registered for this owner/);
    await legacy.fails('create_item', { type: 'Dog', age: 1 }, 400);
  });

  test('within its grant it declares; the owner then uses the schema; the plugin reads its schema items', async () => {
    const r = await v5(dogWriter, dog({ owner: [{ source: 'Dog', target: 'Person' }] }));
    assert.equal(r.status, 200, r.text);
    await owner.create({ type: 'Dog', age: 3, breed: 'pug' });
    const edges = await dogWriter.search({ type: 'ItemEdgeSchema' });
    assert.deepEqual(
      edges.map((e) => [e.edgeName, e.sourceType, e.targetType]),
      [['owner', 'Dog', 'Person']],
    );
    // repeating the schema as it stands changes nothing, and is fine for any plugin
    assert.equal((await v5(none, dog({ owner: [{ source: 'Dog', target: 'Person' }] }))).status, 200);
  });
});
