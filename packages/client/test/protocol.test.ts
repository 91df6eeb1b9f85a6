/**
 * The protocol's declarations hold on both sides. At build time (tsc builds this file): the
 * client's answers carry the types of @pod/protocol's table, so a changed answer shape breaks the
 * client's code, and the server's branded JSON fits only the answer it is declared for (each
 * `@ts-expect-error` line fails the build if it ever compiles). At run time, against a real Pod:
 * what the Pod sends has the declared shapes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ErrorBody,
  PodVersion,
  ReceivedItem,
  toJson,
  type Answer,
  type Json,
  type ChangeEventData,
} from '@pod/protocol';
import { Item, Person, PodClient, defineItem, type BulkResult } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer' }) {}

// ---- compile-time checks: never run, only built ---------------------------------------------

/** The client's answer types are the protocol's. */
export async function answersAreTyped(client: PodClient): Promise<void> {
  const id: string = await client.call('create_item', { type: 'Dog' });
  // @ts-expect-error create_item answers the new id, a string
  const count: number = await client.call('create_item', { type: 'Dog' });
  const [item] = await client.call('get_item', id);
  const stamp: number | undefined = item?.dateServerModified;
  // @ts-expect-error dateServerModified is a number
  const text: string | undefined = item?.dateServerModified;
  const bulk = await client.call('bulk', { search: [{ type: 'Dog' }] });
  const firstOfFirst: ReceivedItem | undefined = bulk.search[0]?.[0];
  // @ts-expect-error a bulk's search answers a list per query, not items
  const flat: ReceivedItem[] = bulk.search;
  // @ts-expect-error get_file answers bytes: it is not a JSON call
  await client.call('get_file', { sha256: id });
  // @ts-expect-error an unknown endpoint
  await client.call('get_items', id);
  void [count, stamp, text, firstOfFirst, flat];
}

/** A changed answer shape (ids as numbers) no longer fits where the client uses the answer. */
export function changedShapeBreaksClient(
  changed: Omit<Answer<'bulk'>, 'createItems'> & { createItems: number[] },
): BulkResult {
  const same: Answer<'bulk'> = { createItems: ['a'], createEdges: [], search: [] };
  void same;
  // @ts-expect-error the client's BulkResult holds ids as strings
  return { ...changed, search: [] };
}

/** The server's handlers answer `Json<Answer<E>>`: JSON of another shape, or unbranded text, does not fit. */
export function serverAnswersAreBranded(): void {
  const fits: Json<Answer<'create_item'>> = toJson('9c97feace45561c1cc9c0eec302bfd07');
  // @ts-expect-error create_item answers a string id, not a number
  const number: Json<Answer<'create_item'>> = toJson(42);
  // @ts-expect-error plain text is not an answer until the store brands it
  const text: Json<Answer<'create_item'>> = '"an id"';
  // @ts-expect-error the items of `changes` are items, not ids
  const ids: Json<ChangeEventData<'items'>> = toJson(['a', 'b']);
  void [fits, number, text, ids];
}

// ---- run time: what the Pod sends has the declared shapes ---------------------------------------

let pod: TestPod;
let client: PodClient;
before(async () => {
  pod = await startPod();
  client = new PodClient({ url: pod.url });
  await client.addToSchema(Dog, Person);
});
after(() => pod.close());

describe('the wire has the shapes @pod/protocol declares', () => {
  it('items from get_item, search with [[edges]] and bulk are ReceivedItems', async () => {
    const owner = await client.create(new Person({ firstName: 'Ann' }));
    const dog = await client.create(new Dog({ name: 'Rex', age: 3 }));
    await client.createEdge(owner, 'dog', dog);
    const [got] = await client.call('get_item', dog.id);
    const [withEdges] = await client.call('search', { id: owner.id, '[[edges]]': {} });
    const bulk = await client.call('bulk', { search: [{ type: 'Dog' }] });
    for (const received of [got, withEdges, ...bulk.search.flat()]) {
      const checked = ReceivedItem.safeParse(received);
      assert.ok(checked.success, checked.error?.message);
    }
    const edge = withEdges?.['[[edges]]']?.[0];
    assert.equal(edge?._edge, 'dog');
    assert.equal(edge?._item.id, dog.id);
    assert.equal(Item.fromJSON(got!, Dog).name, 'Rex');
  });

  it('an item of another type is refused by Item.fromJSON, not mistyped', async () => {
    const [person] = await client.call('search', { type: 'Person', _limit: 1 });
    assert.throws(() => Item.fromJSON(person!, Dog), /is a Person, not a Dog/);
  });

  it('version answers PodVersion; an error answers ErrorBody with the status name', async () => {
    assert.ok(PodVersion.safeParse(await client.version()).success);
    const response = await fetch(`${pod.url}/v4/${client.ownerKey}/get_item`, { method: 'POST', body: '{' });
    assert.equal(response.status, 400);
    const body = ErrorBody.parse(await response.json());
    assert.equal(body.error, 'Bad Request');
    assert.match(body.message, /not valid JSON/);
  });

  it('an items event of the change feed carries Items with the cursor after them', async () => {
    const feed = client.changes(0, { pageSize: 10 });
    await feed.next(); // open
    const { value: page } = await feed.next();
    await feed.return(undefined);
    assert.ok(page && page.items.length > 0);
    for (const item of page.items) assert.ok(ReceivedItem.safeParse(item).success);
    assert.equal(page.cursor, page.items.at(-1)!.dateServerModified + 1);
  });
});
