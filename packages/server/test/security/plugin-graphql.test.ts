// M1 through GraphQL: a plugin sees only what its grant shows, at every level of a query. Hidden
// items are absent from every list (and never counted by offset, limit or total), hidden properties
// are null, and filtering or ordering on a property it cannot read is refused, as in search.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPod, ownerWith, type PluginCaller } from './plugin-harness.js';
import type { Owner } from '../helpers.js';

describe('M1: plugin GraphQL queries stay within the grant', () => {
  let lab: PluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  before(async () => {
    lab = await PluginPod.start();
    owner = await ownerWith(lab.url, 'name', 'ssn', 'service', 'secretNote', ['age', 'Integer']);
    await owner.ok('bulk', {
      createItems: [
        { type: 'Person', id: 'person-alice', name: 'Alice', ssn: 'SSN-1111', age: 30 },
        { type: 'Person', id: 'person-bob', name: 'Bob', ssn: 'SSN-2222', age: 40 },
        { type: 'Account', id: 'account-tw', service: 'twitter' },
        { type: 'Account', id: 'account-wa', service: 'whatsapp' },
        { type: 'Account', id: 'account-tw2', service: 'twitter' },
        { type: 'Note', id: 'note-secret1', secretNote: 'SECRET-NOTE' },
      ],
      createEdges: [
        { _source: 'account-tw', _target: 'person-alice', _name: 'owner' },
        { _source: 'account-wa', _target: 'person-alice', _name: 'owner' },
        { _source: 'account-tw2', _target: 'person-alice', _name: 'owner' },
        { _source: 'note-secret1', _target: 'person-alice', _name: 'about' },
        { _source: 'person-alice', _target: 'note-secret1', _name: 'wrote' },
      ],
    });
    plugin = await lab.runAs(owner, 'evil-image', {
      read: { Person: ['name'], Account: { properties: ['service'], where: { service: 'twitter' } } },
    });
  });
  after(async () => lab?.close());

  const gql = async (query: string) => (await plugin.ok('graphql', query)) as { data: any[]; total?: number };

  test('hidden items are absent at every level, hidden properties null, nothing hidden counted', async () => {
    const { data } = await gql(
      '{ Person(order_asc: name) { name ssn ~owner { service } ~about { secretNote } wrote { id } } }',
    );
    assert.deepEqual(
      data.map((p) => [p.id, p.name, p.ssn]),
      [
        ['person-alice', 'Alice', null],
        ['person-bob', 'Bob', null],
      ],
    );
    const [alice] = data;
    assert.deepEqual(
      alice['~owner'].map((a: any) => a.id),
      ['account-tw', 'account-tw2'],
      'only the accounts its where shows',
    );
    assert.deepEqual(alice['~about'], [], 'a Note it does not read is absent');
    assert.deepEqual(alice.wrote, []);
    assert.ok(!JSON.stringify(data).includes('SSN-') && !JSON.stringify(data).includes('SECRET'));
    // offset and limit count visible items only, per parent and at the roots
    const cut = await gql('{ Person(filter: {id: "person-alice"}) { ~owner(offset: 1, limit: 1) { id } } }');
    assert.deepEqual(
      cut.data[0]['~owner'].map((a: any) => a.id),
      ['account-tw2'],
    );
    const accounts = await gql('{ Account(limit: 1) { service } total }');
    assert.deepEqual(
      accounts.data.map((a) => a.id),
      ['account-tw'],
    );
    assert.equal(accounts.total, 2, 'the whatsapp account is not counted');
  });

  test('a filter or ordering on a property it cannot read is refused (403), at the root and in edges', async () => {
    for (const query of [
      '{ Person(filter: {ssn: "SSN-1111"}) { name } }',
      '{ Person(filter: {ssn: {gt: "SSN-1"}}) { name } }',
      '{ Person(filter: {or: [{name: "x"}, {age: {gt: 35}}]}) { name } }',
      '{ Person(filter: {eq: {ssn: "SSN-1111"}}) { name } }',
      '{ Person(order_asc: ssn) { name } }',
      '{ Person { ~about(filter: {secretNote: {ne: null}}) { id } } }',
      '{ Person { ~owner(order_desc: age) { id } } }',
    ]) {
      const refused = await plugin.fails('graphql', query, 403);
      assert.match(refused.body.message, /cannot read property "\w+" of "\w+", so it cannot search on it/, query);
    }
    const refused = await plugin.fails('graphql', '{ Note { id } }', 403);
    assert.match(refused.body.message, /did not declare that it reads items of type "Note"/);
  });

  test('filters and orderings on what it reads, and on base fields, still work', async () => {
    assert.deepEqual(
      (await gql('{ Person(filter: {name: "Bob"}) { name } }')).data.map((p) => p.id),
      ['person-bob'],
    );
    assert.deepEqual(
      (await gql('{ Person(filter: {id: "person-alice"}) { ~owner(filter: {type: "Account"}) { id } } }')).data[0][
        '~owner'
      ].length,
      2,
    );
  });
  test('_text matches only through properties the grant reads, at the root and on edges', async () => {
    // Alice's ssn is hidden: full text must not find her by it, nor the hidden note through an edge
    assert.deepEqual(
      (await gql('{ Person(filter: {_text: "alice"}) { id } }')).data.map((p) => p.id),
      ['person-alice'],
    );
    assert.deepEqual((await gql('{ Person(filter: {_text: "SSN-1111"}) { id } }')).data, []);
    const { data } = await gql('{ Person { id ~owner(filter: {_text: "whatsapp"}) { id } } }');
    assert.deepEqual(
      data.flatMap((p) => p['~owner']),
      [],
    );
    await plugin.fails('graphql', '{ Person(filter: {ssn: {_text: "1111"}}) { id } }', 403);
  });
});
