/** 2023 API §3.1: `_offset` in `search` and `bulk.search`: strict skip and limit, no tie rule; without it the 2021 rule. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { accountOwner } from './account.js';
import { Owner, usePod } from './helpers.js';

const ids = (items: { id: string }[]) => items.map((item) => item.id);

describe('_offset', () => {
  const pod = usePod();
  let o: Owner;
  let all: string[];
  before(async () => {
    o = new Owner(pod().url);
    await o.declare(['seq', 'Integer'], ['kind', 'Text']);
    // 100 items of one bulk share one dateServerModified; two more come later
    await o.ok('bulk', {
      createItems: Array.from({ length: 100 }, (_, seq) => ({ type: 'Row', seq, kind: seq % 2 ? 'odd' : 'even' })),
    });
    await o.create({ type: 'Row', seq: 100, kind: 'even' });
    await o.create({ type: 'Row', seq: 101, kind: 'odd' });
    all = ids(await o.search({ type: 'Row' }));
    assert.equal(all.length, 102);
  });

  /** The 2023 client's pattern: a probe with `_limit`, then offsets 0, L, 2L… until a page is empty. */
  async function pageAll(query: Record<string, unknown>, limit: number, via: 'search' | 'bulk' = 'search') {
    const get = async (payload: Record<string, unknown>) =>
      via === 'search' ? await o.search(payload) : (await o.ok('bulk', { search: [payload] })).search[0];
    const probe = await get({ ...query, _limit: limit });
    if (probe.length === 0) return { pages: [], items: [] };
    const pages: number[] = [];
    const items: string[] = [];
    for (let offset = 0; ; offset += limit) {
      const page = ids(await get({ ...query, _limit: limit, _offset: offset }));
      if (page.length === 0) break;
      assert.ok(page.length <= limit, `a page holds at most _limit items (offset ${offset}: ${page.length})`);
      pages.push(page.length);
      items.push(...page);
    }
    return { pages, items };
  }

  test('paging 100 items of one bulk with _limit and _offset gives the unpaged result, in order', async () => {
    const tied = await o.search({ type: 'Row', _limit: 10 });
    assert.equal(tied.length, 100, 'without _offset the tie rule returns the whole bulk');
    const { pages, items } = await pageAll({ type: 'Row' }, 10);
    assert.deepEqual(pages, [...Array(10).fill(10), 2]);
    assert.deepEqual(items, all);
    for (const via of ['search', 'bulk'] as const)
      assert.deepEqual((await pageAll({ type: 'Row' }, 7, via)).items, all, `pages of 7 through ${via}`);
  });

  test('filters apply first; Desc reverses the order; an offset past the end is empty', async () => {
    const odd = ids(await o.search({ type: 'Row', kind: 'odd' }));
    assert.equal(odd.length, 51);
    assert.deepEqual((await pageAll({ type: 'Row', kind: 'odd' }, 8)).items, odd);
    const desc = ids(await o.search({ type: 'Row', _sortOrder: 'Desc' }));
    assert.deepEqual(desc, [...all].reverse());
    assert.deepEqual((await pageAll({ type: 'Row', _sortOrder: 'Desc' }, 9)).items, desc);
    assert.deepEqual(await o.search({ type: 'Row', _limit: 5, _offset: 102 }), []);
    assert.deepEqual(await o.search({ type: 'Row', _limit: 0, _offset: 0 }), []);
  });

  test('_offset without _limit: everything after the offset; _offset 0 with _limit is strict', async () => {
    assert.deepEqual(ids(await o.search({ type: 'Row', _offset: 95 })), all.slice(95));
    assert.deepEqual(ids(await o.search({ type: 'Row', _offset: 0, _limit: 3 })), all.slice(0, 3));
  });

  test('without _offset, _limit keeps the 2021 tie rule for dateServerModified>= paging', async () => {
    const [first] = await o.search({ type: 'Row', _limit: 1 });
    const page = await o.search({ type: 'Row', 'dateServerModified>=': first.dateServerModified, _limit: 1 });
    assert.equal(page.length, 100);
  });

  test('anything but an integer >= 0 is 400, in search and in each bulk search, and nothing is written', async () => {
    for (const bad of [-1, 1.5, '10', null, true]) {
      const r = await o.fails('search', { type: 'Row', _offset: bad }, 400);
      assert.match(r.body.message, /_offset/);
      const b = await o.fails('bulk', { createItems: [{ type: 'Row', seq: 999 }], search: [{ _offset: bad }] }, 400);
      assert.match(b.body.message, /_offset/);
    }
    assert.deepEqual(await o.search({ seq: 999 }), [], 'the bulk was refused whole');
  });

  test('in account mode the read rule applies before the offset', async () => {
    const a = await accountOwner(pod().url);
    await a.declare(['seq', 'Integer']);
    const created = (
      await a.ok('bulk', { createItems: Array.from({ length: 20 }, (_, seq) => ({ type: 'Row', seq })) })
    ).createItems as string[];
    await a.ok('bulk', { deleteItems: created.filter((_, index) => index % 4 === 0) });
    const live = created.filter((_, index) => index % 4 !== 0);
    const pages: string[] = [];
    for (let offset = 0; ; offset += 4) {
      const page = ids(await a.search({ type: 'Row', _limit: 4, _offset: offset }));
      if (page.length === 0) break;
      pages.push(...page);
    }
    assert.deepEqual(pages, live);
  });
});
