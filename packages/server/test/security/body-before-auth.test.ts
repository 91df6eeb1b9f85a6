// M7: a request's body is not read before the owner in its path is checked, a JSON body must arrive
// within a deadline, and the default JSON body limit is 16 MiB.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, ownerHash } from '../../src/config.js';
import { Owner, randomKey, rawPost, sha256hex, sleep, usePod } from '../helpers.js';
import { openSlowSocket, postHead } from './slow-socket.js';

const MiB = 1024 * 1024;
const allowed = randomKey();

describe('M7: bodies before authorization', () => {
  const pod = usePod({
    owners: new Set([ownerHash(allowed)]),
    limits: { ...defaultConfig().limits, bodyTimeoutMs: 1_500 },
  });

  test('a 15 MiB body for an owner not on the allow-list is answered 403 before it is sent', async () => {
    const socket = await openSlowSocket(pod().url);
    socket.send(postHead(`/v4/${randomKey()}/search`, 15 * MiB));
    socket.send('{"auth":{"type":"ClientAuth","databaseKey":"00"},"payload":[');
    const { status, text } = await socket.answer(1_000).finally(() => socket.destroy());
    assert.equal(status, 403, `expected 403 within 1 s with the body unsent, got: ${text.slice(0, 200) || 'nothing'}`);
    assert.match(text, /not allowed on this Pod/);
  });

  test('a malformed owner key is answered 400 before the body is read', async () => {
    for (const owner of ['not-hex', 'a'.repeat(5000), '0'.repeat(66)]) {
      const socket = await openSlowSocket(pod().url);
      socket.send(postHead(`/v3/${owner}/bulk`, 15 * MiB));
      const { status } = await socket.answer(1_000).finally(() => socket.destroy());
      assert.equal(status, 400, `owner ${owner.slice(0, 20)}…: ${status}`);
    }
  });

  test('a body trickled one byte at a time is cut with 408 at the deadline, and the connection closed', async () => {
    const socket = await openSlowSocket(pod().url);
    socket.send(postHead(`/v4/${allowed}/search`, 1_000));
    socket.send('{');
    const trickle = setInterval(() => socket.send(' '), 200);
    try {
      const { status, closed, afterMs, text } = await socket.answer(6_000);
      assert.equal(status, 408, `got ${text.slice(0, 200) || 'nothing'} after ${afterMs} ms`);
      assert.ok(closed, 'the Pod closes the connection');
      assert.ok(afterMs < 4_000, `cut after ${afterMs} ms`);
      assert.match(text, /--body-timeout/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  test('an upload is not held to the JSON body deadline: a slow upload of an allowed owner completes', async () => {
    const o = new Owner(pod().url, allowed);
    const bytes = Buffer.alloc(64 * 1024, 7);
    const sha = sha256hex(bytes);
    await o.create({ type: 'File', sha256: sha });
    const socket = await openSlowSocket(pod().url);
    socket.send(
      postHead(`/v4/${allowed}/upload_file/${o.key}/${sha}`, bytes.length).replace(
        'Content-Type: application/json\r\n',
        '',
      ),
    );
    for (let part = 0; part < 8; part++) {
      socket.send(bytes.subarray(part * 8192, (part + 1) * 8192));
      await sleep(300); // 2.4 s in all: beyond the 1.5 s body deadline
    }
    const { status, text } = await socket.answer(5_000).finally(() => socket.destroy());
    assert.equal(status, 200, text.slice(0, 300));
    assert.deepEqual((await o.getFile(sha)).bytes, bytes);
  });
});

describe('M7: the default JSON body limit', () => {
  const pod = usePod();

  test('is 16 MiB: a 9 MiB body is served, a 17 MiB one gets 413 naming the limit', async () => {
    assert.equal(defaultConfig().jsonBodyLimit, 16 * MiB);
    const o = new Owner(pod().url);
    const body = (size: number) => JSON.stringify({ auth: o.auth, payload: { type: 'x'.repeat(size) } });
    const served = await rawPost(`${o.url}/v4/${o.owner}/search`, body(9 * MiB), {
      'content-type': 'application/json',
    });
    assert.equal(served.status, 200, served.text.slice(0, 200));
    const refused = await rawPost(`${o.url}/v4/${o.owner}/search`, body(17 * MiB), {
      'content-type': 'application/json',
    });
    assert.equal(refused.status, 413);
    assert.match(refused.body.message, /16777216 bytes/);
  });
});
