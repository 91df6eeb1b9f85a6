/**
 * The Pod's container image (Dockerfile, scripts/build-pod-image.sh): built from this checkout with no
 * registry, run with its data folder on a named volume and its port published on loopback only. Items
 * and a file written over HTTP survive a restart of the container; the image's HEALTHCHECK reports it
 * healthy; the Pod runs as a user other than root; `pod backup` runs as the image's command on the
 * volume. Needs a Docker engine (dockerTestSkip: skipped saying why without one, required under CI=true).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { dockerTestSkip } from '../src/testing.js';
import { Owner, sha256hex } from './helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const IMAGE = 'pod-server:local';
const name = `pod-image-test-${randomBytes(4).toString('hex')}`;
const docker = async (...args: string[]) => (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();

const noEngine = await dockerTestSkip();

/**
 * Resolves when the container, (re)started by `start`, reports healthy (its HEALTHCHECK passed);
 * fails with its log if it stops first. Events before its `start` (a restart's `die`) do not count.
 */
async function healthyAfter(start: () => Promise<unknown>): Promise<void> {
  // From a moment before the start on: events Docker records while `docker events` connects count too.
  const since = String(Date.now() / 1000 - 1);
  const events = spawn('docker', [
    'events',
    '--since',
    since,
    '--filter',
    `container=${name}`,
    '--format',
    '{{.Status}}',
  ]);
  try {
    let started = false;
    const healthy = new Promise<void>((resolve, reject) => {
      createInterface({ input: events.stdout }).on('line', (status) => {
        if (status === 'start') started = true;
        else if (started && status === 'health_status: healthy') resolve();
        else if (started && status === 'die') reject(new Error(`${name} stopped before it was healthy`));
      });
      events.on('exit', () => reject(new Error('docker events ended')));
    });
    healthy.catch(() => undefined); // awaited below, after the start
    await start();
    await healthy.catch(async (error: Error) => {
      const log = await run('docker', ['logs', '--tail', '20', name]).catch(() => undefined);
      throw new Error(`${error.message}: ${log?.stdout}${log?.stderr}`);
    });
  } finally {
    events.kill();
  }
}

/** The Pod's address on the host: the loopback port Docker published for the container's 3030. */
async function podUrl(): Promise<string> {
  const published = await docker('port', name, '3030/tcp');
  const port = /:(\d+)$/m.exec(published)?.[1];
  assert.ok(port, `docker port ${name}: ${published}`);
  return `http://127.0.0.1:${port}`;
}

after(async () => {
  if (noEngine) return;
  await docker('rm', '--force', '--volumes', name).catch(() => undefined);
  await docker('volume', 'rm', '--force', name).catch(() => undefined);
});

test('the Pod image keeps its data on a volume across restarts, runs as non-root, reports health', {
  skip: noEngine,
  timeout: 15 * 60_000,
}, async () => {
  // The Node that runs this test is the one the native module was built for: the image must carry it.
  const path = `${dirname(process.execPath)}:${process.env.PATH}`;
  const built = await run('scripts/build-pod-image.sh', [], { cwd: root, env: { ...process.env, PATH: path } });
  assert.match(built.stdout, /built pod-server:local/);

  await docker('volume', 'create', name);
  await healthyAfter(() =>
    docker(
      ...['run', '--detach', '--name', name, '--volume', `${name}:/data`, '--publish', '127.0.0.1::3030'],
      ...['--env', 'POD_INSECURE=true', '--health-interval', '1s', IMAGE],
    ),
  );
  const before = new Owner(await podUrl());
  const ids = [
    await before.create({ type: 'Note', title: 'kept' }),
    await before.create({ type: 'Note', title: 'too' }),
  ];
  const bytes = randomBytes(100_000);
  await before.create({ type: 'File', sha256: sha256hex(bytes) });
  const upload = await before.upload(bytes);
  assert.equal(upload.status, 200, upload.text);

  await healthyAfter(() => docker('restart', name));
  const afterRestart = new Owner(await podUrl(), before.owner, before.key);
  assert.deepEqual(
    (await Promise.all(ids.map((id) => afterRestart.get(id)))).map((item) => item.title),
    ['kept', 'too'],
  );
  const file = await afterRestart.getFile(sha256hex(bytes));
  assert.equal(file.status, 200);
  assert.ok(file.bytes.equals(bytes), 'the file read back is the one uploaded');
  const health = await fetch(`${afterRestart.url}/healthz`);
  assert.equal(health.status, 200);
  // the owner's web app comes with the image
  const app = await fetch(`${afterRestart.url}/`, { headers: { accept: 'text/html' } });
  assert.match(app.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await app.text(), /<script type="module"[^>]* src="\/assets\//);

  // The serving process itself (PID 1 of the container) and the user the image declares.
  const status = await docker(
    'exec',
    name,
    'node',
    '-e',
    'process.stdout.write(require("fs").readFileSync("/proc/1/status", "utf8"))',
  );
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1);
  assert.ok(uids, `no Uid line in /proc/1/status: ${status}`);
  assert.ok(
    uids.every((uid) => uid !== '0'),
    `the Pod runs as uid ${uids.join(' ')}`,
  );
  assert.notEqual(await docker('image', 'inspect', '--format', '{{.Config.User}}', IMAGE), '');

  // The entrypoint is the `pod` CLI: a backup of the volume by the image's own command.
  await docker('stop', name);
  const backup = await run('docker', [
    'run',
    '--rm',
    '--volume',
    `${name}:/data`,
    IMAGE,
    'backup',
    '--out',
    '/tmp/backup',
  ]);
  assert.match(backup.stderr, /backed up 1 owners from \/data to \/tmp\/backup/);
});
