/** Durability: every acknowledged write survives a SIGKILL of the pod process. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { Owner, randomKey, startCli, stopCli, until, type CliPod } from './helpers.js';

describe('crash safety', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-crash-'));
  const started: CliPod[] = [];
  after(async () => {
    for (const p of started) await stopCli(p, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('the CLI serves, and every write acknowledged before SIGKILL is present after restart', async (t) => {
    const first = await startCli(dataDir, ['--owners', 'ANY']);
    started.push(first);
    const ownerKey = randomKey();
    const dbKey = randomKey();
    let o = new Owner(first.url, ownerKey, dbKey);
    await o.declare(['seq', 'Integer']);
    const version = await fetch(`${first.url}/version`).then((r) => r.json());
    assert.equal(typeof (version as { cargo: unknown }).cargo, 'string');

    const acknowledged: string[] = [];
    const bulkAcknowledged: string[] = [];
    let maxDsm = 0;
    let stop = false;
    let seq = 0;
    const writer = async (lane: number) => {
      while (!stop) {
        const n = seq++;
        const isBulk = n % 10 === 9;
        let r: Awaited<ReturnType<typeof o.call>>;
        try {
          r = isBulk
            ? await o.call('bulk', { createItems: Array.from({ length: 5 }, () => ({ type: 'Crash', seq: n })) })
            : await o.call('create_item', { id: `crash-${lane}-${n}`, type: 'Crash', seq: n });
        } catch {
          return; // the process died under this request: it was never acknowledged
        }
        assert.equal(r.status, 200, r.text);
        if (isBulk) bulkAcknowledged.push(...(r.body.createItems as string[]));
        else {
          assert.equal(r.body, `crash-${lane}-${n}`);
          acknowledged.push(r.body);
        }
      }
    };
    const lanes = [0, 1, 2, 3].map(writer);
    // killed in the middle of the writing, once 200 writes have been acknowledged however slow the machine
    await until('200 acknowledged writes', () => (acknowledged.length >= 200 ? true : undefined), 60_000);
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(lanes);
    t.diagnostic(
      `${acknowledged.length} create_item and ${bulkAcknowledged.length} bulk-created items acknowledged before SIGKILL`,
    );
    await new Promise<void>((resolve) =>
      first.child.exitCode !== null || first.child.signalCode !== null
        ? resolve()
        : first.child.once('exit', () => resolve()),
    );

    const second = await startCli(dataDir, ['--owners', 'ANY']);
    started.push(second);
    o = new Owner(second.url, ownerKey, dbKey);
    // the first request after the restart comes with a wrong key: refused, nothing damaged
    await o.withKey(randomKey()).fails('search', {}, 401);
    for (const id of [...acknowledged, ...bulkAcknowledged]) {
      const items = await o.ok('get_item', id);
      assert.equal(items.length, 1, `acknowledged item ${id} lost after SIGKILL`);
      assert.equal(items[0].type, 'Crash');
      maxDsm = Math.max(maxDsm, items[0].dateServerModified);
    }
    const all = await o.search({ type: 'Crash' });
    assert.ok(all.length >= acknowledged.length + bulkAcknowledged.length);
    maxDsm = Math.max(maxDsm, ...all.map((i) => i.dateServerModified as number));
    // the schema survived too, and dateServerModified keeps increasing after the restart
    const after = await o.create({ type: 'Crash', seq: -1 });
    assert.ok((await o.get(after)).dateServerModified > maxDsm);
    // a wrong key is still refused
    await o.withKey(randomKey()).fails('search', {}, 401);
    await stopCli(second);
  });

  test("the CLI's --owners allow-list: a listed owner works, any other gets 403", async () => {
    const allowed = randomKey();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-owners-'));
    try {
      const cli = await startCli(dir, ['--owners', `${ownerHash(randomKey())},${ownerHash(allowed)}`]);
      started.push(cli);
      const ok = new Owner(cli.url, allowed);
      assert.match(await ok.create({ type: 'Note' }), /^[0-9a-f]{32}$/);
      await new Owner(cli.url).fails('search', {}, 403);
      await stopCli(cli);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
