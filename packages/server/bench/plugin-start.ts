/**
 * Plugin start-up: from the request that creates a PluginRun to the plugin's first request
 * reaching the Pod — what a user waits before an importer shows signs of life. The stand-in plugin
 * (test/fixtures/env-plugin.mjs) makes its first request at once, as real plugins do.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { createPod } from '../src/app.js';
import { defaultConfig } from '../src/config.js';
import type { PluginRunner } from '../src/plugins/runner.js';

export const ENV_PLUGIN = fileURLToPath(new URL('../../test/fixtures/env-plugin.mjs', import.meta.url));
export const ENV_PLUGIN_IMAGE = 'pod-test-env-plugin';
export const DOCKER_SOCKET = '/var/run/docker.sock';

/** The stand-in plugin on the locally built node base image (nothing can be pulled). */
export async function buildEnvPluginImage(docker: Docker): Promise<void> {
  const howTo = 'run .ci/setup-docker.sh first, or set POD_TEST_DOCKER=0 to skip the Docker runner tests';
  if (!existsSync(DOCKER_SOCKET)) throw new Error(`no Docker engine at ${DOCKER_SOCKET}: ${howTo}`);
  try {
    await docker.getImage('pod-plugin-node:base').inspect();
  } catch (error) {
    throw new Error(
      `the Docker engine or the image pod-plugin-node:base is missing (${(error as Error).message}): ${howTo}`,
    );
  }
  const context = mkdtempSync(join(tmpdir(), 'pod-test-image-'));
  try {
    copyFileSync(ENV_PLUGIN, join(context, 'env-plugin.mjs'));
    writeFileSync(
      join(context, 'Dockerfile'),
      'FROM pod-plugin-node:base\nCOPY env-plugin.mjs /app/env-plugin.mjs\nCMD ["node", "/app/env-plugin.mjs"]\n',
    );
    const stream = await docker.buildImage({ context, src: ['Dockerfile', 'env-plugin.mjs'] }, { t: ENV_PLUGIN_IMAGE });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, result: { error?: string }[]) =>
        error ? reject(error) : resolve(result),
      ),
    );
    const failed = output.find((line) => line.error);
    if (failed) throw new Error(`building ${ENV_PLUGIN_IMAGE} failed: ${failed.error}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Milliseconds from create_item of a PluginRun to the plugin's first request, once per run. */
export async function benchPluginStart(runner: PluginRunner, image: string, runs = 5): Promise<number[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-bench-plugins-'));
  const app = await createPod(
    { ...defaultConfig(), dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent' },
    { runner },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  let arrived: (at: number) => void = () => {};
  // Seen by the HTTP server before any routing: the moment the plugin's request reaches the Pod.
  app.server.prependListener('request', (request) => {
    if (request.url?.endsWith('/plugin_report')) arrived(performance.now());
  });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const owner = randomBytes(32).toString('hex');
  const auth = { type: 'ClientAuth', databaseKey: randomBytes(32).toString('hex') };
  const times: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const reached = new Promise<number>((resolve) => (arrived = resolve));
      const started = performance.now();
      const response = await fetch(`${url}/v4/${owner}/create_item`, {
        method: 'POST',
        body: JSON.stringify({ auth, payload: { type: 'PluginRun', containerImage: image } }),
      });
      if (response.status !== 200) throw new Error(`create_item answered ${response.status}: ${await response.text()}`);
      times.push((await reached) - started);
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return times;
}
