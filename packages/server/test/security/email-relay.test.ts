/**
 * Review H3/L3: `send_email` must not be an open relay. Owners anyone can invent, an owner created
 * by the request itself, several recipients, and a flood are refused; the relay's password never
 * goes out in clear text to a relay off this machine. Every attack runs against a real SMTP sink.
 * send_email answers only once the relay has taken the mail (or refused it): the answer is the signal
 * that whatever was sent has arrived, so no test waits for mail.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ownerHash, type SmtpConfig } from '../../src/config.js';
import { Owner, cliPath, startPod, type RunningPod } from '../helpers.js';
import { smtpSink, type SmtpSink } from '../smtp-sink.js';

const mail = (to = 'alice@example.org') => ({ to, subject: 'hello', body: 'from the Pod' });

/** A Pod relaying through `sink`, its owners either `ANY` or the one owner returned. */
async function relayingPod(sink: SmtpSink, smtp: Partial<SmtpConfig> = {}, owners: 'ANY' | 'listed' = 'listed') {
  const owner = new Owner('');
  const pod = await startPod({
    owners: owners === 'ANY' ? 'ANY' : new Set([ownerHash(owner.owner)]),
    smtp: { host: sink.host, port: sink.port, secure: false, from: 'pod@example.com', ...smtp },
  });
  const listed = new Owner(pod.url, owner.owner, owner.key);
  await listed.create({ type: 'Note' });
  return { pod, owner: listed };
}

describe('send_email is not an open relay', () => {
  let sink: SmtpSink;
  const pods: RunningPod[] = [];
  before(async () => (sink = await smtpSink()));
  after(async () => {
    for (const pod of pods) await pod.close();
    await sink.close();
  });
  const started = async (...args: Parameters<typeof relayingPod>) => {
    const result = await relayingPod(...args);
    pods.push(result.pod);
    return result;
  };

  test('the CLI refuses to start with --smtp-host and --owners ANY, and names the flag that allows it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-relay-'));
    try {
      const run = spawnSync(
        process.execPath,
        [cliPath(), '--port', '0', '--data-dir', dataDir, '--smtp-host', '127.0.0.1', '--smtp-from', 'pod@example.com'],
        {
          encoding: 'utf8',
          timeout: 15_000,
        },
      );
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /--smtp-allow-any-owner/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('with --owners ANY (and no opt-in), even an existing owner sends nothing', async () => {
    const { owner } = await started(sink, {}, 'ANY');
    const r = await owner.fails('send_email', mail(), 403);
    assert.match(r.body.message, /--smtp-allow-any-owner/);
    assert.equal(sink.mails.length, 0);
  });

  test('an owner invented by the request itself sends nothing, and is not created', async () => {
    const { pod } = await started(sink, { allowAnyOwner: true }, 'ANY');
    const stranger = new Owner(pod.url);
    await stranger.fails('send_email', mail(), 403);
    assert.equal(
      existsSync(join(pod.dataDir, ownerHash(stranger.owner))),
      false,
      'no database was created for the stranger',
    );
    assert.equal(sink.mails.length, 0);
  });

  test('one recipient per call: lists, semicolons and groups are counted after parsing', async () => {
    const { owner } = await started(sink);
    for (const to of [
      'r1@example.org, r2@example.org',
      'r1@example.org; r2@example.org',
      'friends: r1@example.org, r2@example.org;',
      '"a, b" <r1@example.org>, r2@example.org',
    ]) {
      const r = await owner.fails('send_email', mail(to), 400);
      assert.match(r.body.message, /--smtp-max-recipients/, to);
    }
    for (const to of ['', 'not an address', '<>']) await owner.fails('send_email', mail(to), 400);
    assert.equal(sink.mails.length, 0, 'nothing reached the relay');
  });

  test('--smtp-max-recipients allows more, each one counted', async () => {
    const { owner } = await started(sink, { maxRecipients: 3 });
    const before = sink.mails.length;
    await owner.ok('send_email', mail('r1@example.org, "R 2" <r2@example.org>; r3@example.org'));
    await owner.fails('send_email', mail('a@example.org, b@example.org, c@example.org, d@example.org'), 400);
    assert.equal(sink.mails.length, before + 1);
    assert.equal(sink.mails.at(-1)!.to.length, 3);
  });

  test('an owner is rate-limited: 429 with Retry-After once its hourly recipients are spent', async () => {
    const { owner } = await started(sink, { perHour: 2 });
    await owner.ok('send_email', mail());
    await owner.ok('send_email', mail());
    const r = await owner.fails('send_email', mail(), 429);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 1800,
      `Retry-After: ${r.headers.get('retry-after')}`,
    );
    assert.match(r.body.message, /--smtp-rate/);
  });
});

describe('the SMTP password travels only over TLS, except to a relay on loopback', () => {
  const credentials = { user: 'pod', password: 'smtp-password-not-for-the-wire' };

  test('a loopback relay without TLS gets AUTH: the password never crosses a network', async () => {
    const sink = await smtpSink({ auth: true });
    const { pod, owner } = await relayingPod(sink, credentials);
    try {
      await owner.ok('send_email', mail());
      assert.ok(sink.commands.some((line) => line.startsWith('AUTH PLAIN')));
    } finally {
      await pod.close();
      await sink.close();
    }
  });

  // A relay that offers no STARTTLS (or one an attacker stripped it from) must not get the password.
  // Loopback cannot stand for "another machine" (127/8 is loopback), so the sink listens on this
  // machine's own network address, which the Pod treats as any remote relay.
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  test('a relay off loopback without TLS never receives AUTH', {
    skip: address ? false : 'no non-loopback IPv4 address on this machine',
  }, async () => {
    const sink = await smtpSink({ host: address!, auth: true });
    const { pod, owner } = await relayingPod(sink, credentials);
    try {
      const r = await owner.fails('send_email', mail(), 500);
      assert.match(r.body.message, /TLS/);
      assert.match(r.body.message, /--smtp-secure/);
      assert.equal(r.text.includes(credentials.password), false);
      assert.deepEqual(
        sink.commands.filter((line) => /^AUTH/i.test(line)),
        [],
        'no AUTH command reached the relay',
      );
      assert.equal(sink.mails.length, 0);
    } finally {
      await pod.close();
      await sink.close();
    }
  });
});
