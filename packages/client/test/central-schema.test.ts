/**
 * The client's item classes against the central schema (spec 2023 §2.1), and `declareSchema`
 * (`POST /v5/<owner>/schema`, §2.2) against a real Pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUILT_IN_PROPERTIES, CENTRAL_PROPERTIES } from '@pod/protocol';
import { Person, PodClient, PodError, builtinItemClasses, defineItem, schemaPayload } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

/** What the built-in classes carry beyond the central schema: the Pod's own records and the client's additions. */
const NOT_CENTRAL = [
  'Account.password',
  'File.mimeType',
  'File.size',
  'PluginRun.podLaunchStatus',
  'PluginRun.podLaunchMessage',
];

class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer', weight: 'Real' }, { owner: () => Person }) {}

describe('built-in item classes and the central schema', () => {
  it('every property a built-in class declares has its central (or built-in) type; the others are listed here', () => {
    const outside: string[] = [];
    for (const cls of builtinItemClasses)
      for (const [name, valueType] of Object.entries(cls.properties)) {
        const central =
          CENTRAL_PROPERTIES.get(name) ??
          (Object.hasOwn(BUILT_IN_PROPERTIES, name)
            ? BUILT_IN_PROPERTIES[name as keyof typeof BUILT_IN_PROPERTIES]
            : undefined);
        if (central === undefined) outside.push(`${cls.itemType}.${name}`);
        else assert.equal(valueType, central, `${cls.itemType}.${name}`);
      }
    assert.deepEqual(outside.sort(), [...NOT_CENTRAL].sort());
  });

  it('schemaPayload: each class a node, each edge to its target class, the meta as given', () => {
    const meta = { name: 'dogs', url: 'example.com', version: '0.1' };
    assert.deepEqual(schemaPayload(meta, [Dog, Person]), {
      nodes: { Dog: { properties: Dog.properties }, Person: { properties: Person.properties } },
      edges: { owner: [{ source: 'Dog', target: 'Person' }] },
      meta,
    });
  });
});

describe('PodClient.declareSchema', () => {
  let pod: TestPod;
  before(async () => (pod = await startPod()));
  after(() => pod.close());
  const meta = { name: 'testCustomItem', url: 'example.com', version: '0.1' };

  it('fails with 404 for an owner that registered no account', async () => {
    const client = new PodClient({ url: pod.url });
    await assert.rejects(client.declareSchema(meta, [Dog]), (error: unknown) => {
      assert.ok(error instanceof PodError);
      assert.equal(error.status, 404);
      assert.match(error.message, /no account registered/);
      return true;
    });
  });

  it('declares the classes once registered; again is fine; items of the class then round-trip', async () => {
    const client = new PodClient({ url: pod.url });
    await client.registerAccount();
    await client.declareSchema(meta, [Dog]);
    await client.declareSchema({ ...meta, version: '0.2' }, [Dog]);
    const rex = await client.create(new Dog({ name: 'Rex', age: 3, weight: 12.5 }));
    const read = await client.get(rex.id);
    assert.ok(read instanceof Dog);
    assert.deepEqual([read.name, read.age, read.weight], ['Rex', 3, 12.5]);
    const edges = await client.search({ type: 'ItemEdgeSchema' });
    assert.deepEqual(
      edges.map((e) => e.toJSON()).map(({ edgeName, sourceType, targetType }) => [edgeName, sourceType, targetType]),
      [['owner', 'Dog', 'Person']],
    );
  });
});
