/**
 * A kit plugin's own web server (spec 2023 §6), so that `plugin/status` means something for it:
 * `GET /v1/health` answers `"started"` while the run goes on, `GET /v1/api` that it exposes no
 * endpoints. It listens where the Pod's runner says (POD_WEBSERVER_HOST, POD_WEBSERVER_PORT);
 * without them (an older Pod, a run in a client's own process) there is none.
 */
import { createServer, type Server } from 'node:http';

export async function serveWebServer(env: NodeJS.ProcessEnv = process.env): Promise<Server | undefined> {
  const port = Number(env.POD_WEBSERVER_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://plugin').pathname;
    const answer =
      request.method !== 'GET' ? undefined : path === '/v1/health' ? 'started' : path === '/v1/api' ? {} : undefined;
    response.writeHead(answer === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer ?? { error: `no ${request.method} ${path} here` }));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, env.POD_WEBSERVER_HOST ?? '127.0.0.1', resolve);
    });
  } catch (error) {
    // the plugin's work matters more than its status: it goes on without
    console.error(`no web server for plugin/status on port ${port}: ${(error as Error).message}`);
    return undefined;
  }
  // never what keeps the plugin's process alive
  server.unref();
  return server;
}
