/** Item classes, the wire form, reading back, and the pieces that need no Pod. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  EmailMessage,
  Item,
  ItemClasses,
  Person,
  PodClient,
  builtinItemClasses,
  defineItem,
  imageInfo,
  type ReceivedItem,
} from '@pod/client';
import { splitBulk, type Entry } from '../src/bulk.js';
import { changes } from '../src/items.js';
import { randomPng } from '../examples/tutorial.js';

class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer', weight: 'Real', good: 'Bool', born: 'DateTime' }) {
  bark() {
    return `${this.name} says woof`;
  }
}
const classes = new ItemClasses([...builtinItemClasses, Dog]);

const received = (fields: Record<string, unknown>): ReceivedItem => ({
  id: 'abcdef123456',
  type: 'Dog',
  dateCreated: 1,
  dateModified: 2,
  dateServerModified: 3,
  deleted: false,
  ...fields,
});

describe('item classes', () => {
  it('construct with typed properties, an id of their own, and methods', () => {
    const dog = new Dog({ name: 'max', age: 2, good: true });
    assert.equal(dog.name, 'max');
    assert.equal(dog.age, 2);
    assert.equal(dog.bark(), 'max says woof');
    assert.match(dog.id, /^[0-9a-f]{32}$/);
    assert.notEqual(new Dog().id, dog.id);
    assert.equal(dog.type, 'Dog');
    assert.equal(String(dog), `Dog (#${dog.id})`);
    // Type checking at construction (these lines must not compile):
    // @ts-expect-error age is an Integer
    new Dog({ age: 'two' });
    // @ts-expect-error no such property
    new Dog({ nmae: 'max' });
  });

  it('serialize to the wire form: properties and base fields, nothing absent, no edges', () => {
    const email = new EmailMessage({ id: 'email-1', subject: 'hi', content: undefined, dateSent: 5 });
    email.sender.push(new Person({ firstName: 'Alice' }));
    assert.deepEqual(JSON.parse(JSON.stringify(email)), {
      id: 'email-1',
      type: 'EmailMessage',
      subject: 'hi',
      dateSent: 5,
    });
  });

  it('read back into their class; unknown fields are ignored, unknown types keep everything', () => {
    const dog = classes.decode(received({ name: 'max', age: 2, other: 'x' }));
    assert.ok(dog instanceof Dog);
    assert.deepEqual(
      { ...dog },
      {
        type: 'Dog',
        id: 'abcdef123456',
        dateCreated: 1,
        dateModified: 2,
        dateServerModified: 3,
        deleted: false,
        name: 'max',
        age: 2,
      },
    );
    const thing = classes.decode(received({ type: 'Unregistered', colour: 'red', size: 3 }));
    assert.equal(thing.constructor, Item);
    assert.deepEqual(thing.toJSON(), {
      id: 'abcdef123456',
      type: 'Unregistered',
      dateCreated: 1,
      dateModified: 2,
      dateServerModified: 3,
      deleted: false,
      colour: 'red',
      size: 3,
    });
  });

  it('read edges into typed edge fields', () => {
    const person = received({ id: 'person-1', type: 'Person', firstName: 'Alice' });
    const email = classes.decode(
      received({
        type: 'EmailMessage',
        subject: 'hi',
        '[[edges]]': [
          { ...received({ type: 'Edge' }), _edge: 'sender', _item: person },
          { ...received({ type: 'Edge' }), _edge: 'label', _item: received({ type: 'Label' }) },
        ],
      }),
    );
    assert.ok(email instanceof EmailMessage);
    assert.ok(email.sender[0] instanceof Person);
    assert.equal(email.sender[0].firstName, 'Alice');
    assert.deepEqual(email.attachment, []);
    assert.equal('label' in email, false, 'an edge the class does not declare is left out');
  });

  it('track changes: changed fields, erased ones as null, nothing when unchanged', () => {
    const dog: Dog = Item.fromJSON(received({ name: 'max', age: 2, weight: 3.5 }), Dog);
    assert.equal(changes(dog), undefined);
    dog.age = 3;
    dog.name = undefined;
    dog.weight = null;
    assert.deepEqual(changes(dog)!.patch, { id: 'abcdef123456', age: 3, name: null, weight: null });
  });

  it('read back into the class asked for, typed without a cast; an item of another type is refused', () => {
    const dog: Dog = Item.fromJSON(received({ name: 'max' }), Dog);
    assert.equal(dog.bark(), 'max says woof');
    assert.equal(Item.fromJSON(received({ name: 'max' })).constructor, Item, 'no class asked: a plain Item');
    assert.throws(() => Item.fromJSON(received({ type: 'Cat' }), Dog), /item "abcdef123456" is a Cat, not a Dog/);
    assert.throws(() => classes.decode(received({ type: 'Cat' }), Dog), TypeError);
  });

  it('read the targets of declared edges into their class only: a target of another type is left out', () => {
    const email = Item.fromJSON(
      received({
        type: 'EmailMessage',
        '[[edges]]': [
          { ...received({ type: 'Edge' }), _edge: 'sender', _item: received({ id: 'p', type: 'Person' }) },
          { ...received({ type: 'Edge' }), _edge: 'sender', _item: received({ id: 'd', type: 'Dog' }) },
        ],
      }),
      EmailMessage,
    );
    assert.deepEqual(
      email.sender.map((person) => [person.constructor, person.id]),
      [[Person, 'p']],
    );
  });

  it('keep a registry per owner: the same type read into different classes', () => {
    class OtherDog extends defineItem('Dog', { name: 'Text' }) {}
    const other = new ItemClasses([OtherDog]);
    assert.ok(other.decode(received({ name: 'max' })) instanceof OtherDog);
    assert.ok(classes.decode(received({ name: 'max' })) instanceof Dog);
    assert.equal(new ItemClasses().decode(received({ name: 'max' })).constructor, Item);
    assert.equal(other.add(Dog).get('Dog'), Dog, 'a class replaces the one its type had');
    assert.deepEqual([...new ItemClasses([Person, Dog])], [Person, Dog]);
  });

  it('refuse a name declared as both property and edge', () => {
    assert.throws(
      () => defineItem('Bad', { owner: 'Text' }, { owner: () => Person }),
      /both as a property and as an edge/,
    );
  });
});

describe('client set-up', () => {
  it('generates 64-hex keys from a CSPRNG and refuses malformed ones', () => {
    const key = PodClient.generateKey();
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.notEqual(PodClient.generateKey(), key);
    const client = new PodClient();
    assert.equal(client.url, 'http://localhost:3030');
    assert.match(client.ownerKey, /^[0-9a-f]{64}$/);
    assert.match(client.databaseKey!, /^[0-9a-f]{64}$/);
    assert.throws(() => new PodClient({ databaseKey: 'key' }), TypeError);
    assert.throws(() => new PodClient({ ownerKey: 'key' }), TypeError);
    assert.equal(new PodClient({ pluginAuth: { run: 'x' } }).databaseKey, undefined);
  });
});

describe('images and bulk cutting', () => {
  it('reads width and height from PNG and JPEG headers', () => {
    assert.deepEqual(imageInfo(randomPng(64, 48)), { mimeType: 'image/png', width: 64, height: 48 });
    // SOI, an APP0 segment of 16 bytes, then SOF0 with height 480 and width 640.
    const jpeg = new Uint8Array([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0,
      16,
      ...new Array(14).fill(0),
      0xff,
      0xc0,
      0,
      17,
      8,
      0x01,
      0xe0,
      0x02,
      0x80,
      3,
    ]);
    assert.deepEqual(imageInfo(jpeg), { mimeType: 'image/jpeg', width: 640, height: 480 });
    assert.equal(imageInfo(new TextEncoder().encode('not an image at all')), undefined);
  });

  it('sends a bulk that fits as one request, and cuts a larger one in order, each part within the limit', () => {
    const entries: Entry[] = [
      ...Array.from({ length: 300 }, (_, i) => ({
        section: 'createItems' as const,
        value: { type: 'Dog', name: `dog ${i}` },
      })),
      ...Array.from({ length: 50 }, (_, i) => ({ section: 'deleteItems' as const, value: `id-${i}` })),
    ];
    let batch = 0;
    const batchId = () => `batch-${batch++}`;
    assert.equal(splitBulk(entries, 1_000_000, batchId).length, 1);
    const parts = splitBulk(entries, 2_000, batchId);
    assert.ok(parts.length > 5);
    for (const part of parts) assert.ok(part.json.length <= 2_000, `a part of ${part.json.length} characters`);
    assert.deepEqual(
      parts.flatMap((part) => part.entries),
      entries,
    );
    const ids = parts.map((part) => JSON.parse(part.json).batchId);
    assert.equal(new Set(ids).size, parts.length, 'every request has a batchId of its own');
  });
});

describe('the core runs in browsers', () => {
  it('imports no Node module and uses no Node global outside node.js', () => {
    const dir = new URL('../src/', import.meta.url);
    const core = readdirSync(dir).filter((name) => name.endsWith('.js') && name !== 'node.js');
    assert.ok(core.includes('client.js'));
    for (const name of core) {
      const code = readFileSync(new URL(name, dir), 'utf8');
      assert.doesNotMatch(code, /from ['"]node:|require\(|\bBuffer\b|\bprocess\./, name);
    }
  });
});
