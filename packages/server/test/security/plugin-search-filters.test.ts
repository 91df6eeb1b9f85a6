// M1: a search filter reveals the values it matches, so a plugin may filter only on properties it
// can read — by type, without type, and inside bulk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('M1: plugin search filters on hidden properties', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn', ['isAdmin', 'Bool'], 'title', 'secretNote');
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice', ssn: 'SSN-1111', isAdmin: true },
        { type: 'Person', id: 'person-bob', name: 'Bob', ssn: 'SSN-2222', isAdmin: false },
        { type: 'Note', id: 'note-secret1', title: 't', secretNote: 'SECRET-NOTE' },
      ],
    });
    plugin = await lab.runAs(owner, 'evil-image', { read: { Person: ['name'] } });
  });
  after(async () => lab?.close());

  test('a filter on a property the plugin cannot read is refused (403), by type or without', async () => {
    for (const query of [
      { type: 'Person', isAdmin: true },
      { type: 'Person', ssn: 'SSN-1111' },
      { type: 'Person', id: 'person-alice', ssn: 'SSN-1111' },
      { secretNote: 'SECRET-NOTE' },
      { isAdmin: true },
    ]) {
      const refused = await plugin.fails('search', query, 403);
      assert.match(refused.body.message, /cannot read property "\w+" of "\w+", so it cannot search on it/);
      await plugin.fails('bulk', { search: [{ type: 'Person' }, query] }, 403);
    }
  });

  test('filters on what it reads, and on base fields, still work', async () => {
    assert.deepEqual(
      (await plugin.search({ type: 'Person', name: 'Bob' })).map((p) => p.id),
      ['person-bob'],
    );
    assert.deepEqual(
      (await plugin.search({ name: 'Alice' })).map((p) => p.id),
      ['person-alice'],
      'readable in every type it reads',
    );
    const [answer] = (await plugin.ok('bulk', { search: [{ type: 'Person', deleted: false }] })).search;
    assert.equal(answer.length, 2);
    assert.ok(answer.every((person: Record<string, unknown>) => !('ssn' in person)));
  });
});
