/**
 * L7 of the first security review: the process runner runs plugins as the Pod's own user (they can
 * read its data, memory and environment), yet the Pod accepted it on any address. Now it is
 * refused off loopback unless --insecure, and every start with it warns.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configProblems, configWarnings, defaultConfig, ownerHash } from '../../src/config.js';
import { cliPath, freePort, randomKey, startCli, stopCli } from '../helpers.js';

const exposed = (extra: Partial<ReturnType<typeof defaultConfig>> = {}) => {
  const defaults = defaultConfig();
  // an otherwise acceptable exposed Pod: listed owners and TLS
  return {
    ...defaults,
    host: '0.0.0.0',
    owners: new Set([ownerHash(randomKey())]),
    tls: { cert: 'c.pem', key: 'k.pem' },
    ...extra,
    plugins: { ...defaults.plugins, runner: 'process' as const },
  };
};

test('the process runner on a non-loopback address is refused, saying what to do; --insecure allows it', () => {
  const [problem, ...others] = configProblems(exposed());
  assert.deepEqual(others, []);
  assert.match(problem ?? '', /--plugin-runner process on 0\.0\.0\.0.*use --plugin-runner docker or pass --insecure/);
  assert.deepEqual(configProblems(exposed({ insecure: true })), []);
  assert.deepEqual(configProblems({ ...exposed(), host: '127.0.0.1' }), [], 'on loopback it is a development tool');
  assert.match(configWarnings(exposed()).join('\n'), /process runner does not isolate plugins/);
});

test('the pod command refuses --plugin-runner process on 0.0.0.0 without --insecure (exit 2)', {
  timeout: 20_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-exposure-'));
  const child = spawn(
    process.execPath,
    [
      cliPath(),
      '--host',
      '0.0.0.0',
      '--port',
      String(await freePort()),
      '--data-dir',
      dataDir,
      '--plugin-runner',
      'process',
      '--owners',
      ownerHash(randomKey()),
      '--tls-cert',
      'c.pem',
      '--tls-key',
      'k.pem',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  child.stdout.on('data', (chunk) => (output += chunk));
  try {
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 2, output);
    assert.match(output, /pod: --plugin-runner process on 0\.0\.0\.0: plugins would run as the Pod's own user/);
  } finally {
    child.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the pod command with the process runner warns at start-up that it does not isolate plugins', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-exposure-'));
  const pod = await startCli(dataDir, ['--plugin-runner', 'process', '--log-level', 'warn']);
  try {
    assert.match(pod.output(), /the process runner does not isolate plugins/);
  } finally {
    await stopCli(pod);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
