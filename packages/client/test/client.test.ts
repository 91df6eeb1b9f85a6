/** Every operation against a real Pod on loopback, and the error, timeout and retry paths. */
import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EmailMessage, Item, Person, PodClient, PodError, defineItem } from '@pod/client';
import { pluginClientFromEnv } from '@pod/client/node';
import { startPod, type TestPod } from './pod.js';

class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer', weight: 'Real' }) {}

let pod: TestPod;
let client: PodClient;
before(async () => {
  pod = await startPod();
  client = new PodClient({ url: pod.url });
  await client.addToSchema(Dog, Person, EmailMessage);
});
after(() => pod.close());

/** Rejects with a PodError of this status; returns it. */
async function podError(promise: Promise<unknown>, status: number): Promise<PodError> {
  const error = await promise.then(
    () => assert.fail(`expected PodError ${status}, the call succeeded`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof PodError, `expected a PodError, got ${String(error)}`);
  assert.equal(error.status, status, error.message);
  return error;
}

describe('items', () => {
  it('create and get: the item comes back as an instance of its class', async () => {
    const dog = await client.create(new Dog({ name: 'max', age: 2, weight: 30 }));
    const read = await client.get(dog.id);
    assert.ok(read instanceof Dog);
    assert.equal(read.id, dog.id);
    assert.deepEqual([read.name, read.age, read.weight, read.deleted], ['max', 2, 30, false]);
    assert.ok(read.dateServerModified! > 0);
  });

  it('update sends only what changed since the item was read', async () => {
    const dog = await client.create(new Dog({ name: 'max', age: 2 }));
    const mine = (await client.get(dog.id)) as Dog;
    // Someone else renames the dog meanwhile; our update of the age must not undo it.
    const theirs = (await client.get(dog.id)) as Dog;
    theirs.name = 'rex';
    await client.update(theirs);
    mine.age = 3;
    await client.update(mine);
    const read = (await client.get(dog.id)) as Dog;
    assert.deepEqual([read.name, read.age], ['rex', 3]);
  });

  it('update erases a property set to undefined or null, and sends nothing when nothing changed', async () => {
    const dog = await client.create(new Dog({ name: 'max', age: 2, weight: 30 }));
    dog.age = undefined;
    dog.weight = null;
    await client.update(dog);
    const read = (await client.get(dog.id)) as Dog;
    assert.deepEqual([read.name, read.age, read.weight], ['max', undefined, undefined]);
    await client.update(read);
    assert.equal(
      (await client.get(dog.id)).dateServerModified,
      read.dateServerModified,
      'an update without changes writes nothing',
    );
  });

  it('delete is soft: the item stays readable, deleted', async () => {
    const dog = await client.create(new Dog({ name: 'gone' }));
    await client.delete(dog);
    assert.equal(dog.deleted, true);
    assert.equal((await client.get(dog.id)).deleted, true);
    await client.delete(dog.id);
  });

  it('edges: created between items and read back as typed objects', async () => {
    const alice = await client.create(new Person({ firstName: 'Alice', lastName: 'X' }));
    const email = await client.create(new EmailMessage({ subject: 'hello' }));
    const edgeId = await client.createEdge(email, 'sender', alice);
    assert.match(edgeId, /^[0-9a-f]{32}$/);
    assert.deepEqual(email.sender, [alice], 'the local edge field follows');
    const read = (await client.get(email.id, { edges: true })) as EmailMessage;
    assert.ok(read instanceof EmailMessage);
    assert.ok(read.sender[0] instanceof Person);
    assert.equal(read.sender[0].firstName, 'Alice');
    const withoutEdges = (await client.get(email.id)) as EmailMessage;
    assert.deepEqual(withoutEdges.sender, [], 'read without edges, the edge fields are empty');
    await podError(client.createEdge(email, 'sender', 'no-such-item'), 404);
  });
});

describe('search', () => {
  it('typed filters return instances; protocol queries work too', async () => {
    await client.create(new Dog({ name: 'searchable', age: 7 }));
    await client.create(new Dog({ name: 'searchable', age: 8 }));
    const dogs = await client.search(Dog, { name: 'searchable', age: 8 });
    assert.equal(dogs.length, 1);
    assert.ok(dogs[0] instanceof Dog);
    assert.equal(dogs[0].age, 8);
    // @ts-expect-error a typed search knows the class's properties (compiled, never called)
    void (() => client.search(Dog, { nmae: 'x' }));
    const items = await client.search({ type: 'Dog', name: 'searchable' });
    assert.equal(items.length, 2);
    assert.ok(items.every((item) => item instanceof Dog));
  });

  it('full-text search (_text) and comparisons, typed from the class', async () => {
    const old = await client.create(
      new Dog({ name: 'Rex the barking hound', age: 12, weight: 30.5, dateCreated: 1_000 }),
    );
    const young = await client.create(new Dog({ name: 'Barking Bella', age: 2, weight: 8, dateCreated: 2_000 }));
    assert.deepEqual(
      (await client.search(Dog, { _text: 'barking' })).map((dog) => dog.id),
      [old.id, young.id],
    );
    const found = await client.search(Dog, { _text: 'bark*', 'age>=': 10, 'weight<': 31 });
    assert.deepEqual(
      found.map((dog) => dog.id),
      [old.id],
    );
    assert.ok(found[0] instanceof Dog);
    assert.equal(found[0].name, 'Rex the barking hound');
    assert.deepEqual(
      (await client.search(Dog, { _text: 'barking', 'dateCreated>=': 2_000, 'name!=': 'x' })).map((d) => d.id),
      [young.id],
    );
    await podError(client.search({ type: 'Dog', _text: '?!' }), 400);
    // @ts-expect-error a comparison's value has the property's type (compiled, never called)
    void (() => client.search(Dog, { 'age>': 'ten' }));
    // @ts-expect-error no comparison on a property the class does not have
    void (() => client.search(Dog, { 'height<': 3 }));
  });

  it('searchLastAdded gives the newest item of a type, or undefined', async () => {
    class Imported extends defineItem('Imported', { serial: 'Integer' }) {}
    await client.addToSchema(Imported);
    assert.equal(await client.searchLastAdded(Imported), undefined);
    await client.bulk({ createItems: [1, 2, 3].map((serial) => new Imported({ serial })) });
    await client.create(new Imported({ serial: 4 }));
    assert.equal((await client.searchLastAdded(Imported))?.serial, 4);
    assert.equal(((await client.searchLastAdded('Imported')) as Imported).serial, 4);
  });
});

describe('bulk', () => {
  it('creates, updates, deletes, edges and searches in one request', async () => {
    const keep = await client.create(new Dog({ name: 'keep', age: 1 }));
    const drop = await client.create(new Dog({ name: 'drop' }));
    const owner = new Person({ firstName: 'Bulk' });
    const puppy = new Dog({ name: 'bulk puppy' });
    keep.age = 2;
    const result = await client.bulk({
      createItems: [owner, puppy],
      updateItems: [keep],
      deleteItems: [drop],
      createEdges: [{ source: puppy, name: 'owner', target: owner }],
      search: [{ type: 'Dog', name: 'bulk puppy' }],
    });
    assert.deepEqual(result.createItems, [owner.id, puppy.id]);
    assert.equal(result.createEdges.length, 1);
    assert.equal(result.search[0]![0]!.id, puppy.id);
    assert.ok(result.search[0]![0] instanceof Dog);
    assert.equal(((await client.get(keep.id)) as Dog).age, 2);
    assert.equal(drop.deleted, true);
    assert.equal((await client.get(drop.id)).deleted, true);
  });

  it('is atomic: a failing entry applies nothing', async () => {
    const good = new Dog({ name: 'never' });
    const error = await podError(client.bulk({ createItems: [good, new Item('Dog', { unknownProperty: 1 })] }), 400);
    assert.match(error.message, /unknownProperty/);
    await podError(client.get(good.id), 404);
  });
});

describe('errors', () => {
  it('an unknown id is a 404', async () => {
    const error = await podError(client.get('no-such-item'), 404);
    assert.match(error.message, /not found/);
    await podError(client.get('no-such-item', { edges: true }), 404);
    const update = await podError(client.update(new Dog({ id: 'no-such-item', name: 'x' })), 404);
    assert.equal(update.error, 'Not Found');
    assert.equal(update.endpoint, 'update_item');
  });

  it('a schema conflict is a 400 with the Pod message', async () => {
    class Conflicting extends defineItem('Conflicting', { age: 'Text' }) {}
    const error = await podError(client.addToSchema(Conflicting), 400);
    assert.match(error.message, /schema conflict: "age" is already declared as Integer/);
    assert.equal(error.error, 'Bad Request');
  });

  it('a wrong database key is a 401', async () => {
    const intruder = new PodClient({ url: pod.url, ownerKey: client.ownerKey });
    const error = await podError(intruder.search(Dog), 401);
    assert.match(error.message, /wrong database key/);
  });

  it('plugin credentials travel as PluginAuth (this Pod issues none yet: 401)', async () => {
    const plugin = pluginClientFromEnv({
      POD_FULL_ADDRESS: pod.url,
      POD_OWNER: client.ownerKey,
      POD_AUTH_JSON: JSON.stringify({ data: { run: 'abc' } }),
    });
    assert.equal(plugin.url, pod.url);
    assert.equal(plugin.databaseKey, undefined);
    await podError(plugin.search(Dog), 401);
    await podError(plugin.uploadFile(new Uint8Array([1])), 401);
    assert.throws(() => pluginClientFromEnv({}), /POD_FULL_ADDRESS/);
  });
});

describe('other endpoints', () => {
  it('version, send_email, and any endpoint through call', async () => {
    assert.equal(typeof (await client.version()).cargo, 'string');
    await client.sendEmail({ to: 'someone@example.com', subject: 'hi', body: 'logged, as the Pod has no SMTP relay' });
    const dog = await client.create(new Dog({ name: 'edgy' }));
    const person = await client.create(new Person({ firstName: 'P' }));
    await client.createEdge(dog, 'owner', person);
    const edges = await client.call('get_edges', { item: dog.id, direction: 'Outgoing', expandItems: true });
    assert.deepEqual(
      edges.map((edge) => [edge.name, edge.item.id]),
      [['owner', person.id]],
    );
  });
});

/** A loopback HTTP server whose handler the test decides; counts requests. */
async function fakePod(handler: (request: IncomingMessage, response: ServerResponse, count: number) => void) {
  let count = 0;
  const server = createServer((request, response) => handler(request, response, ++count));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => count };
}
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('timeouts and retries', () => {
  // a timeout that never fired would hang here: the bound fails that case instead
  const bound = { timeout: 30_000 };
  it('a call without an answer times out with status 0, and an abort stays an AbortError', bound, async () => {
    let searched!: () => void;
    const searchArrived = new Promise<void>((resolve) => (searched = resolve));
    // the first request is the create that times out, the second the search to abort
    const silent = await fakePod((_request, _response, count) => count === 2 && searched());
    try {
      const slow = new PodClient({ url: silent.url, timeout: 200, retries: 0 });
      const error = await podError(slow.create(new Dog()), 0);
      assert.match(error.message, /no answer to create_item within 200 ms/);
      const controller = new AbortController();
      const searching = slow.search(Dog, {}, { signal: controller.signal, timeout: 10_000 });
      await searchArrived;
      controller.abort();
      await assert.rejects(searching, { name: 'AbortError' });
    } finally {
      silent.server.closeAllConnections();
      await close(silent.server);
    }
  });

  it('repeats reads after 503, never writes that may have arrived', async () => {
    // Every other request finds the Pod restarting.
    const flaky = await fakePod((_request, response, count) => {
      const restarting = count % 2 === 1;
      response.writeHead(restarting ? 503 : 200, { 'content-type': 'application/json' });
      response.end(restarting ? '{"error":"Service Unavailable","message":"restarting"}' : '[]');
    });
    try {
      const retrying = new PodClient({ url: flaky.url });
      assert.deepEqual(await retrying.search(Dog), []);
      assert.equal(flaky.count(), 2);
      const error = await podError(new PodClient({ url: flaky.url }).create(new Dog()), 503);
      assert.equal(error.message, 'restarting');
      assert.equal(flaky.count(), 3, 'create_item went out once');
    } finally {
      await close(flaky.server);
    }
  });

  it('repeats a write whose connection was refused: nothing was sent', async () => {
    const placeholder = await fakePod(() => {});
    const { port } = placeholder.server.address() as AddressInfo;
    await close(placeholder.server);
    const refused = new PodClient({ url: `http://127.0.0.1:${port}`, retries: 3 });
    let requests = 0;
    const late = createServer((_request, response) => {
      requests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('"late-but-fine"');
    });
    // the server comes up once the first attempt has been refused, before the client retries
    const original = globalThis.fetch;
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      try {
        return await original(...args);
      } catch (error) {
        if (!late.listening) await new Promise<void>((resolve) => late.listen(port, '127.0.0.1', resolve));
        throw error;
      }
    };
    try {
      await refused.create(new Dog({ id: 'late-but-fine' }));
      assert.equal(requests, 1);
    } finally {
      globalThis.fetch = original;
      await close(late);
    }
  });

  it('repeats a bulk whose answer was lost, and the Pod applies it once; a lost create_item is not repeated', async () => {
    // Forwards to the real Pod, but cuts the connection instead of answering the first request.
    const proxy = await fakePod((request, response, count) => {
      const forward = httpRequest(
        `${pod.url}${request.url}`,
        { method: 'POST', headers: request.headers },
        (answer) => {
          if (count === 1) {
            answer.resume();
            answer.on('end', () => response.socket!.destroy());
            return;
          }
          response.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(response);
        },
      );
      request.pipe(forward);
    });
    try {
      const through = new PodClient({ url: proxy.url, ownerKey: client.ownerKey, databaseKey: client.databaseKey });
      const dogs = [new Dog({ name: 'once' }), new Dog({ name: 'once' })];
      const result = await through.bulk({ createItems: dogs });
      assert.deepEqual(
        result.createItems,
        dogs.map((dog) => dog.id),
      );
      assert.equal(proxy.count(), 2, 'the bulk went out twice');
      assert.equal((await client.search(Dog, { name: 'once' })).length, 2, 'and was applied once');

      const lost = new Dog({ name: 'lost answer' });
      const cut = await fakePod((request, response) => {
        const forward = httpRequest(
          `${pod.url}${request.url}`,
          { method: 'POST', headers: request.headers },
          (answer) => {
            answer.resume();
            answer.on('end', () => response.socket!.destroy());
          },
        );
        request.pipe(forward);
      });
      try {
        const cutOff = new PodClient({ url: cut.url, ownerKey: client.ownerKey, databaseKey: client.databaseKey });
        await podError(cutOff.create(lost), 0);
        assert.equal(cut.count(), 1, 'create_item went out once');
        assert.equal((await client.get(lost.id)).id, lost.id, 'it had arrived');
      } finally {
        await close(cut.server);
      }
    } finally {
      await close(proxy.server);
    }
  });
});

describe('2023 plugin routes, typed from the protocol', () => {
  it('plugin/status answers a status per run; plugin/api of a run not running is a 502, trigger/status of no Trigger a 404', async () => {
    const runId = await client.call('create_item', { type: 'PluginRun', containerImage: '' });
    const { plugins } = await client.call('plugin/status', { plugins: [runId] });
    const status: string | undefined = plugins[runId]?.status;
    assert.equal(status, 'unreachable');
    await podError(client.call('plugin/api', { id: runId }), 502);
    await podError(client.call('plugin/api/call', { id: 'no-such-run', method: 'GET', endpoint: '/v1/x' }), 404);
    await podError(
      client.call('trigger/status', { item_ids: ['a'], trigger_id: 'no-such-trigger', status: 'OK' }),
      404,
    );
  });
});
