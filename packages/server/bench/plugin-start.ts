/**
 * Plugin start-up latency: from `runner.start()` to the plugin's first HTTP request reaching a
 * loopback server that stands in for the Pod — what a user waits before an importer shows signs of
 * life. The image must make a request at once, as the test fixture `env-plugin.mjs` does (and as
 * real plugins do with `GET /`).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ownerHash } from '../src/config.js';
import { pluginEnvironment, type PluginRunner } from '../src/plugins/runner.js';

/** Milliseconds from `start()` to the first request; the run is stopped afterwards. */
export async function benchPluginStart(runner: PluginRunner, image: string): Promise<number> {
  let firstRequest: (at: number) => void = () => {};
  const reached = new Promise<number>((resolve) => (firstRequest = resolve));
  const server = createServer((request, response) => {
    firstRequest(performance.now());
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ownerKey = randomBytes(32).toString('hex');
  const runId = `bench-${randomBytes(6).toString('hex')}`;
  const token = randomBytes(16).toString('hex');
  try {
    const started = performance.now();
    const plugin = await runner.start({
      ownerHash: ownerHash(ownerKey),
      runId,
      containerImage: image,
      env: pluginEnvironment({
        podAddress: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        ownerKey,
        runId,
        targetItemJson: JSON.stringify({ id: runId, type: 'PluginRun' }),
        authJson: JSON.stringify({ data: { token } }),
      }),
      secrets: [token],
    });
    const ended = plugin.exited.then(async (exit) => {
      throw new Error(`the plugin ended (exit code ${exit.exitCode}) before making a request: ${await plugin.logs()}`);
    });
    try {
      return (await Promise.race([reached, ended])) - started;
    } finally {
      ended.catch(() => {});
      await plugin.stop();
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
