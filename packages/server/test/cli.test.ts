// The `pod` command as users run it: --help, refusals of unsafe settings, environment variables, TLS.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'pod-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });

/** Starts the CLI and resolves once it logs that it listens; the caller kills it. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (https?:\/\/\S+?),/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`pod exited with ${code}: ${output}`)));
  });
  return { child, ready };
}

describe('the pod command', () => {
  test('--help lists every flag with its environment variable', () => {
    const result = run(['--help']);
    assert.equal(result.status, 0);
    for (const flag of [
      '--port',
      '--host',
      '--data-dir',
      '--owners',
      '--tls-cert',
      '--tls-key',
      '--insecure',
      '--log-level',
      '--json-body-limit',
      '--upload-limit',
      '--smtp-host',
      '--smtp-password',
      '--plugin-runner',
      '--plugin-timeout',
    ])
      assert.match(result.stdout, new RegExp(`${flag}\\b`), flag);
    assert.match(result.stdout, /env:\s+POD_PORT/); // commander wraps the help to the terminal
  });

  test('refuses plain HTTP and --owners ANY on a non-loopback address, saying which flag fixes it', () => {
    const result = run(['--host', '0.0.0.0', '--data-dir', join(scratch, 'refused')]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--tls-cert/);
    assert.match(result.stderr, /--owners ANY/);
  });

  test('refuses a malformed flag value with a message', () => {
    const result = run(['--port', 'eighty']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /--port must be a whole number/);
  });

  test('reads its settings from environment variables', async () => {
    const { child, ready } = start([], { POD_PORT: '0', POD_DATA_DIR: join(scratch, 'env'), POD_LOG_LEVEL: 'info' });
    try {
      const url = await ready;
      assert.match(url, /^http:\/\/localhost:\d+$/);
      assert.match(url, /:(?!3030)\d+$/, 'POD_PORT=0 picked a free port, not the default');
    } finally {
      child.kill();
    }
  });

  test('serves HTTPS when given a certificate and key', async () => {
    const cert = join(scratch, 'cert.pem');
    const key = join(scratch, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const { child, ready } = start([
      '--port',
      '0',
      '--data-dir',
      join(scratch, 'tls'),
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      const url = await ready;
      assert.match(url, /^https:/);
      const body = await new Promise<string>((resolve, reject) =>
        request(`${url}/version`, { ca: readFileSync(cert) }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end(),
      );
      assert.equal(typeof JSON.parse(body).cargo, 'string');
    } finally {
      child.kill();
    }
  });
});
