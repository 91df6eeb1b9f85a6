/** Issue 15 part 6 in the client: `changeDatabaseKey` and `deleteOwner`. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { File, PodClient, PodCore, PodError, defineItem } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

class Note extends defineItem('Note', { title: 'Text' }) {}

let pod: TestPod;
before(async () => (pod = await startPod()));
after(() => pod.close());

const statusOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof PodError, `expected a PodError, got ${String(error)}`);
  return error.status;
};

describe('changeDatabaseKey', () => {
  it('the old client gets 401 afterwards; a client with the new key reads items and files', async () => {
    const client = new PodClient({ url: pod.url, classes: [Note] });
    await client.addToSchema(Note, File);
    const note = await client.create(new Note({ title: 'kept' }));
    const bytes = new TextEncoder().encode('kept bytes');
    const file = await client.uploadFile(bytes);
    const newKey = PodCore.generateKey();
    await client.changeDatabaseKey(newKey);
    assert.equal(await statusOf(client.get(note.id)), 401);
    const renewed = new PodClient({ url: pod.url, ownerKey: client.ownerKey, databaseKey: newKey, classes: [Note] });
    assert.equal(((await renewed.get(note.id)) as Note).title, 'kept');
    assert.deepEqual(await renewed.getFile(file), bytes);
  });

  it('refuses the current key and a malformed one (400)', async () => {
    const client = new PodClient({ url: pod.url });
    await client.addToSchema(Note);
    assert.equal(await statusOf(client.changeDatabaseKey(client.databaseKey!)), 400);
    assert.equal(await statusOf(client.changeDatabaseKey('not a key')), 400);
  });
});

describe('deleteOwner', () => {
  it('erases everything; the same keys then see an empty Pod', async () => {
    const client = new PodClient({ url: pod.url, classes: [Note] });
    await client.addToSchema(Note);
    const note = await client.create(new Note({ title: 'gone' }));
    await client.deleteOwner();
    assert.equal(await statusOf(client.get(note.id)), 404);
    assert.deepEqual(await client.search(Note), []);
  });
});
