/**
 * 2023 API §8: idle keep-alive connections stay open at least 65 s. 2023 clients keep HTTP/1.1
 * connections in a session and poll every 5 s without retrying a failed POST; Node's default of
 * 5 s closed connections they were about to reuse.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfig } from '../src/config.js';
import { randomKey, sleep, startCli, stopCli, usePod } from './helpers.js';

/** Node's own keep-alive timeout, which the Pod must outlast. */
const NODE_DEFAULT_MS = 5_000;

interface Answer {
  status: number;
  keepAlive: string | undefined;
  reused: boolean;
  socket: Socket;
}

/** A POST over `agent` (one socket at most), as a 2023 client's session sends its polls. */
function post(url: string, agent: Agent, path: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(`${url}${path}`, { method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          keepAlive: res.headers['keep-alive']?.toString(),
          reused: req.reusedSocket,
          socket: req.socket as Socket,
        }),
      );
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const poll = (url: string, agent: Agent, owner: string, key: string) =>
  post(url, agent, `/v4/${owner}/search`, { auth: { type: 'ClientAuth', databaseKey: key }, payload: { _limit: 1 } });

describe('keep-alive, by default', () => {
  const pod = usePod();

  test('the default is at least 65 s, and the answer says so', async () => {
    assert.ok(defaultConfig().limits.keepAliveMs >= 65_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await poll(pod().url, agent, randomKey(), randomKey());
      assert.equal(answer.status, 200);
      const seconds = Number(/timeout=(\d+)/.exec(answer.keepAlive ?? '')?.[1]);
      assert.ok(seconds >= 65, `Keep-Alive: ${answer.keepAlive}`);
    } finally {
      agent.destroy();
    }
  });

  test(`a connection idle longer than Node's default ${NODE_DEFAULT_MS / 1000} s is reused`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const owner = randomKey();
    const key = randomKey();
    try {
      const first = await poll(pod().url, agent, owner, key);
      assert.equal(first.status, 200);
      let closed = false;
      first.socket.once('close', () => (closed = true));
      // Idleness is what is tested: the wait is the subject, not a guess at when something is done.
      await sleep(NODE_DEFAULT_MS + 1_500);
      assert.equal(closed, false, 'the Pod kept the idle connection open');
      const second = await poll(pod().url, agent, owner, key);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the same connection served the next poll');
      assert.equal(second.socket, first.socket);
    } finally {
      agent.destroy();
    }
  });
});

describe('keep-alive, configured', () => {
  const pod = usePod({ limits: { ...defaultConfig().limits, keepAliveMs: 300 } });

  test('the setting acts: an idle connection is closed by the Pod once it has passed', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await poll(pod().url, agent, randomKey(), randomKey());
      assert.equal(answer.status, 200);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the idle connection was not closed')), NODE_DEFAULT_MS);
        answer.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      agent.destroy();
    }
  });

  test('--keep-alive-timeout sets it from the command line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-keep-alive-'));
    const cli = await startCli(dataDir, ['--keep-alive-timeout', '90']);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await poll(cli.url, agent, randomKey(), randomKey());
      assert.equal(answer.keepAlive, 'timeout=90');
    } finally {
      agent.destroy();
      await stopCli(cli);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
