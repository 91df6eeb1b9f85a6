/** Spec §3 `send_email`: without SMTP configured the pod logs and answers 200 {}. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Owner, startPod, type RunningPod } from './helpers.js';

describe('send_email', () => {
  let pod: RunningPod;
  before(async () => {
    pod = await startPod();
  });
  after(async () => {
    await pod?.close();
  });

  test('without SMTP configured → 200 {}', async () => {
    const o = new Owner(pod.url);
    const r = await o.call('send_email', { to: 'someone@example.com', subject: 'Hello ✓', body: 'Body with Zoë 😀' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(r.text), {});
    assert.deepEqual(await o.as('v3').ok('send_email', { to: 'x@example.com', subject: '', body: '' }), {});
  });

  test('missing or mistyped fields → 400', async () => {
    const o = new Owner(pod.url);
    await o.fails('send_email', { subject: 's', body: 'b' }, 400);
    await o.fails('send_email', { to: 'a@example.com', body: 'b' }, 400);
    await o.fails('send_email', { to: 'a@example.com', subject: 's' }, 400);
    await o.fails('send_email', { to: 5, subject: 's', body: 'b' }, 400);
    await o.fails('send_email', 'not an object', 400);
  });

  test('a wrong database key → 401', async () => {
    const o = new Owner(pod.url);
    await o.create({ type: 'Note' });
    await o.withKey('1'.repeat(64)).fails('send_email', { to: 'a@example.com', subject: 's', body: 'b' }, 401);
  });
});
