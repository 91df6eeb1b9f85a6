/** The one backoff schedule behind the client's three retry loops. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../src/backoff.js';

const bounds = { firstMs: 100, maxMs: 2_000 };

describe('backoffDelay', () => {
  it('doubles from firstMs and stops at maxMs (jitter at its top)', () => {
    const top = () => 1 - Number.EPSILON;
    const waits = [0, 1, 2, 3, 4, 5, 20, 2_000].map((failures) => Math.round(backoffDelay(bounds, failures, top)));
    assert.deepEqual(waits, [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000]);
  });

  it('jitters each wait between half and all of it', () => {
    assert.equal(
      backoffDelay(bounds, 3, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(bounds, 3, () => 0.5),
      600,
    );
    const waits = Array.from({ length: 1_000 }, () => backoffDelay(bounds, 3));
    assert.ok(
      waits.every((wait) => wait >= 400 && wait < 800),
      'within [400, 800)',
    );
    assert.ok(new Set(waits).size > 900, 'spread, not one value');
  });

  it('takes each caller its own bounds', () => {
    const noJitter = () => 1 - Number.EPSILON;
    assert.equal(Math.round(backoffDelay({ firstMs: 5, maxMs: 10_000 }, 2, noJitter)), 20);
    assert.equal(Math.round(backoffDelay({ firstMs: 100, maxMs: 10_000 }, 10, noJitter)), 10_000);
    assert.equal(Math.round(backoffDelay({ firstMs: 1_000, maxMs: 500 }, 0, noJitter)), 500);
  });
});
