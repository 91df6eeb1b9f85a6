// M8: the number of open owner databases is capped: the least recently used idle owner is closed to
// make room (its data intact), and when every open owner is in use a newcomer gets 503, never a 500.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { defaultConfig } from '../../src/config.js';
import { Owner, usePod } from '../helpers.js';
import { openFeed, type OpenFeed } from './feed-stream.js';

const openFds = () => readdirSync('/proc/self/fd').length;

describe('M8: open owner databases', () => {
  const pod = usePod({ limits: { ...defaultConfig().limits, maxOpenOwners: 3 } });

  test('creating many owners does not grow the open files beyond the cap; a closed owner reopens intact', async () => {
    const first = new Owner(pod().url);
    const id = await first.create({ type: 'Note' });
    const before = openFds();
    for (let i = 0; i < 30; i++) await new Owner(pod().url).ok('search', { _limit: 1 });
    const grown = openFds() - before;
    assert.ok(grown <= 3 * 6 + 4, `30 new owners opened ${grown} more files`);
    assert.equal((await first.get(id)).id, id);
  });

  test('when every open owner is in use, a newcomer gets 503 naming the limit', async () => {
    const feeds: OpenFeed[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const feed = await openFeed(new Owner(pod().url));
        assert.equal(feed.status, 200, feed.text);
        feeds.push(feed);
      }
      const newcomer = await new Owner(pod().url).fails('search', {}, 503);
      assert.match(newcomer.body.message, /--max-open-owners/);
    } finally {
      for (const feed of feeds) feed.close();
    }
  });
});
