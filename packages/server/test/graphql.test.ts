/** Spec 2023 §4: `POST /v4/<owner>/graphql` over real HTTP: answers, filters, edges, cuts, aggregates, errors. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Owner, usePod } from './helpers.js';

const BASE = ['id', 'type', 'dateCreated', 'dateModified', 'dateServerModified', 'deleted'];
const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe('graphql', () => {
  const pod = usePod();
  let o: Owner;
  const gql = async (query: string, owner = o) =>
    (await owner.ok('graphql', query)) as { data: any[]; count?: number; total?: number };
  const refused = async (query: unknown, pattern: RegExp) => {
    const reply = await o.fails('graphql', query, 400);
    assert.match(reply.body.message, pattern);
  };

  // People, their accounts, messages sent from accounts (the spec §4.1 example's shape)
  const person: Record<string, string> = {};
  const account: Record<string, string> = {};
  const message: Record<string, string> = {};
  before(async () => {
    o = new Owner(pod().url);
    await o.declare(
      ['displayName', 'Text'],
      ['service', 'Text'],
      ['handle', 'Text'],
      ['subject', 'Text'],
      ['age', 'Integer'],
      ['score', 'Real'],
      ['starred', 'Bool'],
      ['dateSent', 'DateTime'],
    );
    for (const [name, age] of [
      ['Alice', 30],
      ['Bob', 25],
      ['Carol', 41],
    ] as const)
      person[name] = await o.create({ type: 'Person', displayName: name, age });
    for (const [key, owner, service] of [
      ['alice-wa', 'Alice', 'whatsapp'],
      ['alice-tg', 'Alice', 'telegram'],
      ['bob-wa', 'Bob', 'whatsapp'],
    ] as const) {
      account[key] = await o.create({ type: 'Account', displayName: owner, handle: key, service });
      await o.ok('create_edge', { _source: account[key], _target: person[owner], _name: 'owner' });
    }
    const messages = [
      ['m1', 'alice-wa', 'Hello', 5, true, 1000],
      ['m2', 'bob-wa', 'Hi Alice', 2.5, false, 3000],
      ['m3', 'alice-tg', 'Lunch?', 7, true, 2000],
      ['m4', 'alice-wa', 'Bye', undefined, undefined, undefined],
    ] as const;
    for (const [key, from, subject, score, starred, dateSent] of messages) {
      message[key] = await o.create({ type: 'Message', subject, score, starred, dateSent, service: 'chat' });
      await o.ok('create_edge', { _source: message[key], _target: account[from], _name: 'sender' });
    }
  });

  test('spec §4.1 example: base fields always, selected properties, edges as lists, type at every level', async () => {
    const { data } = await gql('query { Message { subject sender { displayName owner { displayName } } } }');
    assert.deepEqual(ids(data), [message.m1, message.m2, message.m3, message.m4]);
    const [first] = data;
    for (const field of BASE) assert.ok(Object.hasOwn(first, field), `root item has ${field}`);
    assert.equal(first.type, 'Message');
    assert.equal(first.subject, 'Hello');
    assert.ok(!Object.hasOwn(first, 'score'), 'an unselected property is absent');
    assert.ok(!Object.hasOwn(first, 'service'), 'an unselected property is absent');
    assert.equal(first.sender.length, 1);
    const [sender] = first.sender;
    assert.equal(sender.type, 'Account');
    assert.equal(sender.displayName, 'Alice');
    for (const field of BASE) assert.ok(Object.hasOwn(sender, field), `edge item has ${field}`);
    assert.ok(!Object.hasOwn(sender, 'handle'));
    assert.deepEqual(
      sender.owner.map((p: any) => [p.type, p.id, p.displayName]),
      [['Person', person.Alice, 'Alice']],
    );
    // a selected property the item lacks is null; stored Reals keep their wire form
    const text = (await o.call('graphql', 'query { Message { score starred dateSent } }')).text;
    assert.match(text, /"score":5\.0/);
    const m4 = (await gql('query { Message { score starred dateSent } }')).data[3];
    assert.deepEqual([m4.score, m4.starred, m4.dateSent], [null, null, null]);
  });

  test('§4.5: three levels forward, reverse edges with an eq filter and a reverse edge inside', async () => {
    const { data } = await gql(`query {
      Person(filter: {displayName: {eq: "Alice"}}) {
        displayName
        ~owner(filter: {service: {eq: "whatsapp"}}) { handle ~sender { subject sender { owner { displayName } } } }
      }
    }`);
    assert.deepEqual(ids(data), [person.Alice]);
    const [alice] = data;
    assert.deepEqual(
      alice['~owner'].map((a: any) => a.handle),
      ['alice-wa'],
    );
    const sent = alice['~owner'][0]['~sender'];
    assert.deepEqual(
      sent.map((m: any) => m.subject),
      ['Hello', 'Bye'],
    );
    assert.equal(sent[0].sender[0].owner[0].displayName, 'Alice', 'three levels forward inside two reverse ones');
    assert.equal(sent[0].sender[0].owner[0].type, 'Person');
  });

  test('root order equals search order, also after an update moves an item; several roots concatenate', async () => {
    const byGraphql = ids((await gql('query { Person { id } }')).data);
    const bySearch = ids(await o.search({ type: 'Person' }));
    assert.deepEqual(byGraphql, bySearch);
    await o.ok('update_item', { id: person.Alice, age: 31 });
    const moved = ids((await gql('{ Person }')).data);
    assert.deepEqual(moved, ids(await o.search({ type: 'Person' })));
    assert.equal(moved.at(-1), person.Alice, 'the updated item comes last, as in search');
    const both = (await gql('{ Account { handle } Person { displayName } }')).data;
    assert.deepEqual(
      both.map((item) => item.type),
      ['Account', 'Account', 'Account', 'Person', 'Person', 'Person'],
    );
    await o.ok('update_item', { id: person.Alice, age: 30 });
  });

  test('filters: every operator on each value type, the three forms, and/or, null, in', async () => {
    const subjects = async (filter: string) =>
      (await gql(`{ Message(filter: ${filter}) { subject } }`)).data.map((m) => m.subject);
    assert.deepEqual(await subjects('{score: {gt: 5}}'), ['Lunch?']);
    assert.deepEqual(await subjects('{score: {gte: 5}}'), ['Hello', 'Lunch?']);
    assert.deepEqual(await subjects('{score: {lt: 5, gt: 1}}'), ['Hi Alice'], 'operators in one object are ANDed');
    assert.deepEqual(await subjects('{score: {lte: 2.5}}'), ['Hi Alice']);
    assert.deepEqual(await subjects('{score: {eq: 7}}'), ['Lunch?'], 'an integer compares with a Real');
    assert.deepEqual(await subjects('{dateSent: {gte: 2000}}'), ['Hi Alice', 'Lunch?']);
    assert.deepEqual(await subjects('{starred: {eq: true}}'), ['Hello', 'Lunch?']);
    assert.deepEqual(await subjects('{starred: {ne: true}}'), ['Hi Alice', 'Bye'], 'ne keeps items without a value');
    assert.deepEqual(await subjects('{subject: {in: ["Bye", "Hello", "nope"]}}'), ['Hello', 'Bye']);
    assert.deepEqual(await subjects('{subject: {in: []}}'), []);
    assert.deepEqual(await subjects('{subject: {gt: "Hi"}}'), ['Hi Alice', 'Lunch?'], 'Text by code points');
    assert.deepEqual(await subjects('{score: {eq: null}}'), ['Bye'], 'eq null: no value');
    assert.deepEqual(await subjects('{score: {ne: null}}'), ['Hello', 'Hi Alice', 'Lunch?'], 'ne null: has one');
    assert.deepEqual(await subjects('{score: {in: [5, 7]}}'), ['Hello', 'Lunch?']);
    assert.deepEqual(await subjects('{eq: {subject: "Bye", service: "chat"}}'), ['Bye'], 'operator first');
    assert.deepEqual(await subjects('{subject: "Bye"}'), ['Bye'], 'shorthand');
    assert.deepEqual(await subjects('{or: [{subject: "Bye"}, {score: {gt: 6}}]}'), ['Lunch?', 'Bye']);
    assert.deepEqual(await subjects('{and: [{starred: true}, {score: {lt: 6}}]}'), ['Hello']);
    assert.deepEqual(await subjects('{or: [{and: [{starred: true}, {score: {lt: 6}}]}, {dateSent: {eq: null}}]}'), [
      'Hello',
      'Bye',
    ]);
    assert.deepEqual(await subjects('{type: {eq: "Message"}, deleted: false, subject: {ne: "Bye"}}'), [
      'Hello',
      'Hi Alice',
      'Lunch?',
    ]);
    assert.deepEqual(await subjects(`{id: {in: ["${message.m2}"]}}`), ['Hi Alice'], 'base fields filter too');
    assert.deepEqual(await subjects('{or: []}'), [], 'an empty or matches nothing');
  });

  test('Text compares by Unicode code points, and "~" inside a string is an ordinary character', async () => {
    const u = new Owner(pod().url);
    await u.declare(['name', 'Text']);
    for (const name of ['\uffff', '😀', 'é', 'z', 'a~b']) await u.create({ type: 'Glyph', name });
    const names = async (filter: string) =>
      (await gql(`{ Glyph(filter: ${filter}, order_asc: name) { name } }`, u)).data.map((g) => g.name);
    assert.deepEqual(await names('{name: {gt: "\\uffff"}}'), ['😀'], 'U+1F600 sorts after U+FFFF');
    assert.deepEqual(await names('{name: {ne: "nothing"}}'), ['a~b', 'z', 'é', '\uffff', '😀']);
    assert.deepEqual(await names('{name: "a~b"}'), ['a~b']);
  });

  test('ordering, offset and limit on roots and per parent on edges', async () => {
    const handles = (items: any[]) => items.map((a) => a.handle);
    assert.deepEqual(handles((await gql('{ Account(order_asc: handle) { handle } }')).data), [
      'alice-tg',
      'alice-wa',
      'bob-wa',
    ]);
    assert.deepEqual(handles((await gql('{ Account(order_desc: "handle", offset: 1) { handle } }')).data), [
      'alice-wa',
      'alice-tg',
    ]);
    assert.deepEqual(handles((await gql('{ Account(limit: 2 offset: 1) { handle } }')).data), ['alice-tg', 'bob-wa']);
    assert.deepEqual((await gql('{ Account(limit: 0) { handle } }')).data, []);
    // items without the value come last, in both directions; ties keep the default order
    const scores = async (args: string) => (await gql(`{ Message(${args}) { subject } }`)).data.map((m) => m.subject);
    assert.deepEqual(await scores('order_asc: score'), ['Hi Alice', 'Hello', 'Lunch?', 'Bye']);
    assert.deepEqual(await scores('order_desc: score'), ['Lunch?', 'Hello', 'Hi Alice', 'Bye']);
    assert.deepEqual(await scores('order_asc: service'), ['Hello', 'Hi Alice', 'Lunch?', 'Bye'], 'ties: default order');
    // per parent: each account's messages cut on their own
    const { data } = await gql(
      '{ Account(order_asc: handle) { handle ~sender(order_desc: dateSent, limit: 1) { subject } } }',
    );
    assert.deepEqual(
      data.map((a) => [a.handle, a['~sender'].map((m: any) => m.subject)]),
      [
        ['alice-tg', ['Lunch?']],
        ['alice-wa', ['Hello']],
        ['bob-wa', ['Hi Alice']],
      ],
    );
    const offset = await gql('{ Account(filter: {handle: "alice-wa"}) { ~sender(offset: 1) { subject } } }');
    assert.deepEqual(
      offset.data[0]['~sender'].map((m: any) => m.subject),
      ['Bye'],
    );
  });

  test('edges in creation order; a deleted edge item takes its edge away; one item under two parents', async () => {
    const e = new Owner(pod().url);
    await e.declare(['name', 'Text']);
    const hub = await e.create({ type: 'Hub', name: 'hub' });
    const spokes: string[] = [];
    for (const name of ['c', 'a', 'b']) {
      const spoke = await e.create({ type: 'Spoke', name });
      spokes.push(spoke);
      await e.ok('create_edge', { _source: hub, _target: spoke, _name: 'spoke' });
    }
    const second = await e.create({ type: 'Hub', name: 'second' });
    await e.ok('create_edge', { _source: second, _target: spokes[0], _name: 'spoke' });
    const edge = await e.ok('create_edge', { _source: second, _target: spokes[1], _name: 'spoke' });
    // a later update of a target does not move it in the list
    await e.ok('update_item', { id: spokes[0], name: 'c2' });
    let { data } = await gql('{ Hub { name spoke { name ~spoke { name } } } }', e);
    assert.deepEqual(
      data[0].spoke.map((s: any) => s.name),
      ['c2', 'a', 'b'],
    );
    assert.deepEqual(
      data[1].spoke.map((s: any) => s.name),
      ['c2', 'a'],
    );
    assert.deepEqual(
      data[0].spoke[0]['~spoke'].map((h: any) => h.name),
      ['hub', 'second'],
    );
    await e.ok('delete_item', edge);
    ({ data } = await gql('{ Hub { name spoke { name } } }', e));
    assert.deepEqual(
      data[1].spoke.map((s: any) => s.name),
      ['c2'],
      'the deleted edge item takes its edge away',
    );
    assert.deepEqual((await gql('{ Hub { nothing { id } ~nothing { id } } }', e)).data[0].nothing, []);
  });

  test('any depth: a chain of 16 edge levels answers, 17 is refused', async () => {
    const c = new Owner(pod().url);
    const chain: string[] = [];
    for (let i = 0; i <= 17; i++) chain.push(await c.create({ type: 'Link' }));
    for (let i = 0; i < 17; i++) await c.ok('create_edge', { _source: chain[i], _target: chain[i + 1], _name: 'next' });
    const nested = (depth: number) =>
      `{ Link(filter: {id: "${chain[0]}"}) ${'{ next '.repeat(depth)}{ id }${' }'.repeat(depth)} }`;
    let item = (await gql(nested(16), c)).data[0];
    for (let i = 1; i <= 16; i++) {
      item = item.next[0];
      assert.equal(item.id, chain[i]);
      assert.equal(item.type, 'Link');
    }
    const reply = await c.fails('graphql', nested(17), 400);
    assert.match(reply.body.message, /at most 16 levels/);
  });

  test('aggregates: count == 10, total == 103 over 103 Accounts, filtered, limited (skipped client test)', async () => {
    const a = new Owner(pod().url);
    await a.declare(['service', 'Text']);
    await a.ok('bulk', {
      createItems: Array.from({ length: 110 }, (_, i) => ({
        type: 'Account',
        service: i < 103 ? 'whatsapp' : 'other',
      })),
    });
    const answer = await gql(
      'query { Account(filter: {service: {eq: "whatsapp"}}, limit: 10) { service } count total }',
      a,
    );
    assert.equal(answer.data.length, 10);
    assert.equal(answer.count, 10);
    assert.equal(answer.total, 103);
    const plain = await gql('{ Account(limit: 1) }', a);
    assert.ok(!('count' in plain) && !('total' in plain), 'aggregates only when asked for');
    await a.fails('graphql', 'query { count total }', 400);
  });

  test('v3 answers the same; an empty database still rejects an unknown field', async () => {
    const fresh = new Owner(pod().url);
    assert.deepEqual((await fresh.ok('graphql', '{ Person { id } }')).data, [], 'a type with no items: []');
    const reply = await fresh.fails('graphql', 'query { Person { non_existent_value } }', 400);
    assert.match(reply.body.message, /^Property non_existent_value does not exist in schema/);
    assert.deepEqual(ids((await o.as('v3').ok('graphql', '{ Person }')).data), ids((await gql('{ Person }')).data));
  });

  test('errors (§4.4): each a 400 naming the problem, before any data is read', async () => {
    await refused({ query: '{ Person }' }, /payload of graphql is the query text/);
    await refused('{ Person { id ', /Syntax Error: Expected Name, found <EOF> \(at line 1, column 15\)/);
    await refused('query ($x: Int) { Person(limit: $x) }', /variables are not supported/);
    await refused('{ Person(limit: $x) }', /(variables|Syntax Error).*line 1, column 17/);
    await refused(
      '{ Person { displayName age nope } }',
      /^Property nope does not exist in schema \(at line 1, column 28\)/,
    );
    await refused('{ Person(first: 2) }', /unknown argument "first"/);
    await refused('{ Person { displayName(limit: 1) } }', /property "displayName" takes no arguments/);
    await refused('{ Account { ~owner } }', /reverse edge "~owner" needs a selection/);
    await refused('{ Person(filter: {nope: 1}) }', /^Property nope does not exist in schema/);
    await refused('{ Person(filter: {age: {like: 1}}) }', /unknown filter operator "like"/);
    await refused('{ Person(filter: {age: "thirty"}) }', /"age" is Integer; got "thirty"/);
    await refused('{ Person(filter: {age: {gt: null}}) }', /null compares only with eq .* not gt/);
    await refused(
      '{ Message(filter: {starred: {gt: false}}) }',
      /"starred" is Bool: it compares only with eq, ne and in/,
    );
    await refused('{ Person(filter: {age: {in: 3}}) }', /"in" on "age" takes a list/);
    await refused('{ Person(filter: {displayName: Alice}) }', /"Alice" is not a value; quote it/);
    await refused('{ Person(order_asc: age, order_desc: age) }', /order_asc or order_desc, not both/);
    await refused('{ Person(order_asc: nope) }', /^Property nope does not exist in schema/);
    await refused('{ Person(limit: -1) }', /limit must be an integer ≥ 0, got -1/);
    await refused('{ Person(offset: 1.5) }', /offset must be an integer ≥ 0, got 1.5/);
    await refused('{ count }', /selects no item type/);
    await refused('{ Person count(limit: 1) }', /aggregate "count" takes no arguments/);
    await refused('mutation { Person }', /only queries are supported/);
    await refused('{ Person { ...f } } fragment f on Person { id }', /fragments/);
    await refused('{ p: Person }', /aliases are not supported/);
    await refused('{ Person @skip(if: true) }', /directives/);
    await refused('{ Person { ~ owner { id } } }', /"~" may only start a reverse edge's name.*line 1, column 12/);
    await refused('{ Person(~limit: 1) }', /unknown argument "~limit"/);
    // "~" is read as "_" by the parser (same length): positions and quoted tokens stay those of the query
    await refused('{ Person(limit: 1~) }', /expected digit but got: "~" \(at line 1, column 18\)/);
    await refused('{ Account { ~owner { id } ', /Expected Name, found <EOF> \(at line 1, column 27\)/);
    await refused('{ Person { id } } ~', /Unexpected Name "~" \(at line 1, column 19\)/);
    assert.equal((await gql('{ Person # a ~ in a comment\n { id } }')).data.length, 3);
    await refused('{ ~Person { id } }', /top level selects item types/);
    await refused('{ Person { owner { id } owner { displayName } } }', /"owner" is selected twice/);
    // the parser recurses per nesting level: a deep query is a 400, never a stack overflow
    for (const deep of [
      `{ Person ${'{ owner '.repeat(5000)}${'}'.repeat(5001)} }`,
      `{ Person(filter: {or: ${'['.repeat(5000)}${']'.repeat(5000)}}) }`,
      `{ Person(filter: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}) }`,
    ])
      await refused(deep, /nests more than 128 levels/);
    await refused(`{ Person(filter: {and: [${'{age: 1}, '.repeat(8000)}]}) }`, /more than 20000 tokens/);
  });
  test('_text (ours): full-text filter at the root and on an edge, in any Text property or in one', async () => {
    const subjects = (data: any[]) => data.map((m) => m.subject);
    assert.deepEqual(subjects((await gql('{ Message(filter: {_text: "alice"}) { subject } }')).data), ['Hi Alice']);
    // with other filters, in or/and, scoped to one property, case and accents folded
    const hello = '{ Message(filter: {or: [{_text: "héllo"}, {subject: {_text: "LUNCH"}}]}) { subject } }';
    assert.deepEqual(subjects((await gql(hello)).data), ['Hello', 'Lunch?']);
    assert.deepEqual((await gql('{ Message(filter: {service: {_text: "alice"}}) { id } }')).data, []);
    // an edge level: the accounts whose sent messages say "bye"
    const { data } = await gql('{ Account { handle ~sender(filter: {_text: "bye"}) { subject } } }');
    assert.deepEqual(
      data.filter((a) => a['~sender'].length > 0).map((a) => [a.handle, subjects(a['~sender'])]),
      [['alice-wa', ['Bye']]],
    );
    await refused('{ Message(filter: {_text: 5}) { id } }', /"_text" takes a string/);
    await refused('{ Message(filter: {age: {_text: "x"}}) { id } }', /"_text" searches Text properties/);
    await refused('{ Message(filter: {_text: "!!!"}) { id } }', /no word to search for/);
  });
});
