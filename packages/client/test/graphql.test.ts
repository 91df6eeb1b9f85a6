/** `client.graphql`: the root items as the client's classes, their declared edge fields filled from the query. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Account, Item, Message, Person, PodClient, PodError } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

let pod: TestPod;
let client: PodClient;
before(async () => {
  pod = await startPod();
  client = new PodClient({ url: pod.url });
  await client.addToSchema(Person, Account, Message);
  const alice = await client.create(new Person({ displayName: 'Alice' }));
  const account = await client.create(new Account({ handle: 'alice', service: 'whatsapp' }));
  await client.createEdge(account, 'owner', alice);
  for (const subject of ['Hello', 'Bye']) {
    const message = await client.create(new Message({ subject, service: 'whatsapp' }));
    await client.createEdge(message, 'sender', account);
  }
});
after(() => pod.close());

describe('graphql', () => {
  it('answers instances of the registered classes, edges decoded into the fields their class declares', async () => {
    const { items, count } = await client.graphql(
      'query { Message(order_desc: subject) { subject sender { handle owner { displayName } } } count }',
    );
    assert.equal(count, 2);
    const [first] = items;
    assert.ok(first instanceof Message);
    assert.equal(first.subject, 'Hello');
    assert.equal(first.content, undefined, 'not selected');
    const [sender] = first.sender;
    assert.ok(sender instanceof Account);
    assert.equal(sender.handle, 'alice');
    const [owner] = sender.owner;
    assert.ok(owner instanceof Person);
    assert.equal(owner.displayName, 'Alice');
  });

  it('with a class, typed as it; a reverse edge fills a plain Item field, as written', async () => {
    const { items } = await client.graphql(Person, '{ Person { displayName ~owner { handle } } }');
    const [alice] = items;
    assert.ok(alice instanceof Person);
    assert.equal(alice.displayName, 'Alice'); // typed: Person's fields
    assert.ok(!('~owner' in alice), 'a class keeps only the edges it declares');
    await assert.rejects(client.graphql(Account, '{ Person }'), TypeError);
    // a type without a class: a plain Item carrying every edge under its field as written
    const topic = await client.create(new Item('Topic', { displayName: 'news' }));
    const [message] = await client.search(Message, { subject: 'Bye' });
    assert.ok(message);
    await client.createEdge(message, 'topic', topic);
    const [plain] = (await client.graphql('{ Topic { displayName ~topic { subject } } }')).items;
    assert.ok(plain && !(plain instanceof Person));
    const fields = plain as unknown as Record<string, unknown>;
    assert.equal(fields.displayName, 'news');
    const [sent] = fields['~topic'] as Item[];
    assert.ok(sent instanceof Message, 'the other ends are read into their registered classes');
    assert.equal(sent.subject, 'Bye');
  });

  it('a bad query is a PodError 400 naming the problem', async () => {
    const error = await client.graphql('{ Person { nope } }').catch((e: unknown) => e);
    assert.ok(error instanceof PodError);
    assert.equal(error.status, 400);
    assert.match(error.message, /Property nope does not exist in schema/);
  });
});
