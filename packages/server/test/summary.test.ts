/** `summary`: what an owner's Pod holds by type, and the one call that tells "no such Pod" from "wrong key". */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { Owner, clientAuth, randomKey, usePod } from './helpers.js';

describe('summary', () => {
  const pod = usePod();

  test('counts items not deleted, by type', async () => {
    const owner = new Owner(pod().url);
    await owner.declare(['title', 'Text']);
    for (const title of ['a', 'b', 'c']) await owner.create({ type: 'Note', title });
    const gone = await owner.create({ type: 'Person', title: 'p' });
    await owner.create({ type: 'Person', title: 'q' });
    await owner.ok('delete_item', gone);
    const summary = await owner.ok('summary', {});
    assert.equal(summary.types.Note, 3);
    assert.equal(summary.types.Person, 1);
    const total = Object.values(summary.types as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(summary.items, total);
  });

  test('an owner with no data: 403, and no database is created', async () => {
    const stranger = new Owner(pod().url);
    const refused = await stranger.fails('summary', {}, 403);
    assert.match(refused.body.message, /no database/);
    assert.equal(existsSync(join(pod().dataDir, ownerHash(stranger.owner))), false);
  });

  test('a wrong database key: 401', async () => {
    const owner = new Owner(pod().url);
    await owner.create({ type: 'Note' });
    await owner.fails('summary', {}, 401, clientAuth(randomKey()));
  });
});
