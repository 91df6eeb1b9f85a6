/**
 * Item classes are per client: two clients (and a sync engine, and a plugin) in one process
 * read the same item type into their own classes, against a real Pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Item, MemoryStore, PluginRun, PodClient, SyncEngine, defineItem } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

/** Two applications' views of one type: the same name, different classes. */
class Memo extends defineItem('Memo', { title: 'Text' }) {
  shout() {
    return this.title?.toUpperCase();
  }
}
class RicherMemo extends defineItem('Memo', { title: 'Text', mood: 'Text' }) {}

let pod: TestPod;
before(async () => (pod = await startPod()));
after(() => pod.close());

describe('per-client item classes', () => {
  it('two clients of one owner, with different classes for one type, read its items differently', async () => {
    const first = new PodClient({ url: pod.url, classes: [Memo] });
    const same = { url: pod.url, ownerKey: first.ownerKey, databaseKey: first.databaseKey };
    const second = new PodClient({ ...same, classes: [RicherMemo] });
    const plain = new PodClient(same);
    await second.addToSchema(RicherMemo);
    const memo = await second.create(new RicherMemo({ title: 'hello', mood: 'glad' }));

    const asMemo = await first.get(memo.id);
    assert.ok(asMemo instanceof Memo);
    assert.equal(asMemo.shout(), 'HELLO');
    assert.equal('mood' in asMemo, false, 'Memo does not declare mood');
    const asRicher = await second.get(memo.id);
    assert.ok(asRicher instanceof RicherMemo);
    assert.equal(asRicher.mood, 'glad');
    assert.equal((await plain.get(memo.id)).constructor, Item, 'a client without the class reads a plain Item');
    assert.ok((await plain.get(memo.id)).toJSON().mood === 'glad', 'which keeps every property');
    // A search by class reads into that class whatever the client registered.
    const [searched] = await first.search(RicherMemo, { title: 'hello' });
    assert.ok(searched instanceof RicherMemo);
  });

  it('addToSchema adds to that client only; the built-in classes are every client’s', async () => {
    const first = new PodClient({ url: pod.url });
    const second = new PodClient({ url: pod.url, ownerKey: first.ownerKey, databaseKey: first.databaseKey });
    await first.addToSchema(Memo);
    const memo = await first.create(new Memo({ title: 'hi' }));
    assert.ok((await first.get(memo.id)) instanceof Memo);
    assert.equal((await second.get(memo.id)).constructor, Item);
    const run = await first.create(new PluginRun({ status: 'idle' }));
    assert.ok((await second.get(run.id)) instanceof PluginRun);
  });

  it("a sync engine reads with its own classes and leaves its client's alone", async () => {
    const client = new PodClient({ url: pod.url, classes: [Memo] });
    const engine = await SyncEngine.open({ client, store: new MemoryStore(), schema: [RicherMemo] });
    const memo = await engine.create(new RicherMemo({ title: 'local', mood: 'calm' }));
    assert.ok((await engine.get(memo.id)) instanceof RicherMemo, 'before the push: composed locally');
    await engine.syncOnce();
    assert.ok((await engine.get(memo.id)) instanceof RicherMemo);
    const typed: Memo | undefined = await engine.get(memo.id, Memo);
    assert.equal(typed?.shout(), 'LOCAL', 'or into the class asked for, typed');
    assert.ok((await client.get(memo.id)) instanceof Memo, 'the client still reads its own class');
    assert.equal(client.classes.get('Memo'), Memo);
  });
});
