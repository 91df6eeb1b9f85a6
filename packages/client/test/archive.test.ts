/** exportArchive / importArchive: moving an owner's whole Pod to another Pod through the client. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { File, PodClient, PodError } from '@pod/client';
import { startPod, type TestPod } from './pod.js';

let from: TestPod;
let to: TestPod;
before(async () => {
  from = await startPod();
  to = await startPod();
});
after(async () => {
  await from.close();
  await to.close();
});

describe('archives', () => {
  it('exports the owner from one Pod and imports it, streamed, into another; a second import is refused', async () => {
    const source = new PodClient({ url: from.url });
    await source.addToSchema(File);
    const bytes = crypto.getRandomValues(new Uint8Array(60_000));
    const file = await source.uploadFile(bytes);
    const keys = { ownerKey: source.ownerKey, databaseKey: source.databaseKey };
    const target = new PodClient({ url: to.url, ...keys });
    const imported = await target.importArchive(await source.exportArchive());
    assert.equal(imported.files, 1);
    assert.deepEqual(await target.getFile(file), bytes);
    assert.equal(((await target.get(file.id)) as File).sha256, file.sha256);
    await assert.rejects(
      target.importArchive(new Uint8Array(await new Response(await source.exportArchive()).arrayBuffer())),
      (error) => error instanceof PodError && error.status === 409,
    );
  });
});
