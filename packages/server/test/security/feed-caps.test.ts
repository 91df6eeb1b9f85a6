// L9: live-feed subscriptions are capped per owner and in total (429 with what to do), and a closed
// subscription makes room again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config.js';
import { Owner, sleep, usePod } from '../helpers.js';
import { openFeed, type OpenFeed } from './feed-stream.js';

describe('L9: live-feed caps', () => {
  const pod = usePod({ limits: { ...defaultConfig().limits, maxFeedsPerOwner: 2, maxFeeds: 3 } });
  const open: OpenFeed[] = [];
  const subscribe = async (o: Owner) => {
    const feed = await openFeed(o);
    open.push(feed);
    return feed;
  };

  test('one owner cannot hold more than its share, nor all owners more than the total', async () => {
    try {
      const a = new Owner(pod().url);
      const b = new Owner(pod().url);
      const c = new Owner(pod().url);
      assert.equal((await subscribe(a)).status, 200);
      assert.equal((await subscribe(a)).status, 200);
      const third = await subscribe(a);
      assert.equal(third.status, 429, third.text);
      assert.match(third.text, /--max-feeds-per-owner/);
      assert.equal((await subscribe(b)).status, 200);
      const overTotal = await subscribe(c);
      assert.equal(overTotal.status, 429, overTotal.text);
      assert.match(overTotal.text, /--max-feeds\b/);
      // closing a subscription frees its place
      open[0]!.close();
      let again: OpenFeed | undefined;
      for (let attempt = 0; attempt < 40 && again?.status !== 200; attempt++) {
        await sleep(50);
        again = await subscribe(c);
      }
      assert.equal(again?.status, 200, again?.text);
    } finally {
      for (const feed of open) feed.close();
    }
  });
});
