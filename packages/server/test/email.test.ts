/** Spec §3 `send_email`: without SMTP configured the pod logs and answers 200 {}. */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Owner, sleep, startPod, type RunningPod } from './helpers.js';

interface Mail {
  from: string;
  to: string[];
  data: string;
}

/** A minimal SMTP relay on loopback that records what it is sent. */
async function fakeSmtp() {
  const mails: Mail[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let current: Mail = { from: '', to: [], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 localhost fake ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push(current);
            current = { from: '', to: [], data: '' };
            reply('250 2.0.0 queued');
          } else current.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250 localhost');
        else if (verb === 'HELO') reply('250 localhost');
        else if (verb === 'MAIL') {
          current.from = line;
          reply('250 2.1.0 OK');
        } else if (verb === 'RCPT') {
          current.to.push(line);
          reply('250 2.1.5 OK');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('250 OK');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

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
  let smtp: Awaited<ReturnType<typeof fakeSmtp>>;
  before(async () => {
    smtp = await fakeSmtp();
    pod = await startPod({ smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'pod@example.com' } });
  });
  after(async () => {
    await pod?.close();
    await smtp?.close();
  });

  test('the mail reaches the relay with its recipient, subject and body', async () => {
    const o = new Owner(pod.url);
    assert.deepEqual(await o.ok('send_email', { to: 'alice@example.com', subject: 'Pod test subject', body: 'Hello from the pod test.' }), {});
    for (let i = 0; i < 50 && smtp.mails.length === 0; i++) await sleep(100);
    assert.equal(smtp.mails.length, 1);
    const [mail] = smtp.mails;
    assert.match(mail!.from, /pod@example\.com/);
    assert.deepEqual(mail!.to.map((t) => /<([^>]+)>/.exec(t)?.[1]), ['alice@example.com']);
    assert.match(mail!.data, /^Subject: Pod test subject$/im);
    assert.match(mail!.data, /Hello from the pod test\./);
    assert.match(mail!.data, /^To: .*alice@example\.com/im);
  });
});
