/**
 * H2 of the first security review, on the host side: a Pod on 127.0.0.1 left [::1]:<its port>
 * free, so any local program (or a plugin on the host network) could listen there and receive the
 * requests, keys included, of clients whose `localhost` is ::1. Now the Pod holds both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliPath, freePort, startCli, startPod, stopCli } from '../helpers.js';
import { spawn, type ChildProcess } from 'node:child_process';

const hasIpv6Loopback = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((address) => address.address === '::1'),
);

/** Tries to listen on host:port: the error code, or 'listening'. */
const tryListen = (host: string, port: number) =>
  new Promise<string>((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => server.close(() => resolve('listening')));
  });

describe('the Pod on loopback', { skip: !hasIpv6Loopback && 'this machine has no ::1' }, () => {
  test('a Pod on 127.0.0.1 holds [::1] on the same port: nothing else can listen there, and it answers there', async () => {
    const pod = await startPod();
    try {
      const port = Number(new URL(pod.url).port);
      assert.equal(await tryListen('::1', port), 'EADDRINUSE');
      const answer = await fetch(`http://[::1]:${port}/`);
      assert.equal((await answer.json()).pod, 'Pod');
    } finally {
      await pod.close();
    }
  });

  test('the pod command on 127.0.0.1 and on localhost holds both loopback families', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const dataDir = mkdtempSync(join(tmpdir(), 'pod-loopback-'));
      const pod = await startCli(dataDir, ['--host', host]);
      try {
        const port = Number(new URL(pod.url).port);
        assert.equal(await tryListen('::1', port), 'EADDRINUSE', `${host}: [::1]:${port}`);
        assert.equal(await tryListen('127.0.0.1', port), 'EADDRINUSE', `${host}: 127.0.0.1:${port}`);
      } finally {
        await stopCli(pod);
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });

  test('a Pod whose [::1] port is already taken does not start, and says why', { timeout: 20_000 }, async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: '::1', port, ipv6Only: true }, resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-loopback-'));
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        process.execPath,
        [cliPath(), '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      const code = await new Promise<number | null>((resolve) => child!.once('exit', resolve));
      assert.equal(code, 1, output);
      assert.match(output, /another program already listens on \[::1\]:\d+/);
    } finally {
      child?.kill(); // a Pod that started regardless
      squatter.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
