/** Spec §3 `send_email`: without SMTP configured the pod logs and answers 200 {}. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ownerHash } from '../src/config.js';
import { Owner, startPod, type RunningPod } from './helpers.js';
import { smtpSink, type SmtpSink } from './smtp-sink.js';

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

describe('send_email through a configured SMTP relay', () => {
  let pod: RunningPod;
  let smtp: SmtpSink;
  let o: Owner;
  before(async () => {
    smtp = await smtpSink();
    o = new Owner('');
    // A relay serves listed owners only (see test/security/email-relay.test.ts).
    pod = await startPod({
      owners: new Set([ownerHash(o.owner)]),
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'pod@example.com' },
    });
    o = new Owner(pod.url, o.owner, o.key);
    await o.create({ type: 'Note' });
  });
  after(async () => {
    await pod?.close();
    await smtp?.close();
  });

  test('the mail reaches the relay with its recipient, subject and body', async () => {
    assert.deepEqual(
      await o.ok('send_email', {
        to: 'alice@example.com',
        subject: 'Pod test subject',
        body: 'Hello from the pod test.',
      }),
      {},
    );
    // it answers once the relay has taken the mail
    assert.equal(smtp.mails.length, 1);
    const [mail] = smtp.mails;
    assert.match(mail!.from, /pod@example\.com/);
    assert.deepEqual(
      mail!.to.map((t) => /<([^>]+)>/.exec(t)?.[1]),
      ['alice@example.com'],
    );
    assert.match(mail!.data, /^Subject: Pod test subject$/im);
    assert.match(mail!.data, /Hello from the pod test\./);
    assert.match(mail!.data, /^To: .*alice@example\.com/im);
  });
});
