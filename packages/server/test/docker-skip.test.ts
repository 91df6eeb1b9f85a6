/**
 * The one rule for whether the Docker tests run (dockerTestSkip): an engine answering /_ping runs
 * them; without one they are skipped saying how to set one up, except under CI=true, where they are
 * required; POD_TEST_DOCKER=0 skips them whatever the engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { dockerTestSkip } from '../src/testing.js';

const saved = { CI: process.env.CI, POD_TEST_DOCKER: process.env.POD_TEST_DOCKER };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** An engine stand-in on a unix socket that answers /_ping with `status`. */
async function withEngine(status: number, use: (socketPath: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-docker-ping-'));
  const socketPath = join(dir, 'docker.sock');
  const server: Server = createServer((request, response) => {
    response.statusCode = request.url === '/_ping' ? status : 404;
    response.end('OK');
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    await use(socketPath);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an engine that answers /_ping runs the Docker tests, under CI=true too', async () => {
  delete process.env.POD_TEST_DOCKER;
  await withEngine(200, async (socketPath) => {
    delete process.env.CI;
    assert.equal(await dockerTestSkip(socketPath), undefined);
    process.env.CI = 'true';
    assert.equal(await dockerTestSkip(socketPath), undefined);
  });
});

test('without an engine they are skipped, naming the socket and the set-up command', async () => {
  delete process.env.POD_TEST_DOCKER;
  delete process.env.CI;
  const reason = await dockerTestSkip('/nonexistent/docker.sock');
  assert.match(reason ?? '', /\/nonexistent\/docker\.sock.*\.ci\/setup-docker\.sh/);
  await withEngine(500, async (socketPath) => {
    assert.match((await dockerTestSkip(socketPath)) ?? '', /answers 500.*\.ci\/setup-docker\.sh/);
  });
});

test('under CI=true, no engine fails instead of skipping, saying what to run', async () => {
  delete process.env.POD_TEST_DOCKER;
  process.env.CI = 'true';
  await assert.rejects(
    dockerTestSkip('/nonexistent/docker.sock'),
    /CI=true requires the Docker tests.*\.ci\/setup-docker\.sh/,
  );
});

test('POD_TEST_DOCKER=0 skips them even where an engine answers', async () => {
  process.env.POD_TEST_DOCKER = '0';
  await withEngine(200, async (socketPath) => {
    assert.match((await dockerTestSkip(socketPath)) ?? '', /POD_TEST_DOCKER=0/);
  });
});
