// Attack: with --owners ANY, anyone who names a new owner may POST an archive to /import, and the
// database key proves itself only once the archive's database has arrived. An endless archive would fill
// the data folder: the Pod cuts it off at --max-import-bytes with a 413 and removes what it staged.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import tar from 'tar-stream';
import { defaultConfig } from '../../src/config.js';
import { randomKey, startPod } from '../helpers.js';

const MiB = 1024 * 1024;

/** The 512-byte tar header of a `size`-byte entry named `name`, as tar-stream writes it. */
async function tarHeader(name: string, size: number): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name, size });
  for await (const chunk of pack) return Buffer.from(chunk as Uint8Array).subarray(0, 512);
  throw new Error('tar-stream wrote no header');
}

/** Sends `head`, then zeros for as long as the Pod reads them; resolves with its answer and the bytes sent. */
function endlessPost(url: string, head: Buffer): Promise<{ status?: number; text: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const zeros = Buffer.alloc(64 * 1024);
    let sent = 0;
    const request = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${randomKey()}` } });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode, text, sent });
      });
    });
    request.on('error', reject);
    const send = () => {
      while (!request.destroyed) {
        sent += zeros.length;
        if (!request.write(zeros)) return void request.once('drain', send);
      }
    };
    request.write(head);
    send();
  });
}

test('an endless archive is cut off at --max-import-bytes with 413, and nothing of it stays on disk', async () => {
  const pod = await startPod({ limits: { ...defaultConfig().limits, maxImportBytes: 4 * MiB } });
  try {
    // a 4 GiB database entry whose bytes never end
    const { status, text, sent } = await endlessPost(
      `${pod.url}/v4/${randomKey()}/import`,
      await tarHeader('pod.db', 4 * 1024 * MiB),
    );
    assert.equal(status, 413, text);
    assert.match(JSON.parse(text).message, /import limit of 4194304 bytes \(--max-import-bytes\)/);
    assert.ok(sent >= 4 * MiB, `cut off after ${sent} bytes, before the limit`);
    assert.deepEqual(
      readdirSync(pod.dataDir).filter((name) => name.startsWith('.import-') || /^[0-9a-f]{64}$/.test(name)),
      [],
      'the staged archive or an owner folder was left behind',
    );
  } finally {
    await pod.close();
  }
});
