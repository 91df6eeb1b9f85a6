/** A free TCP port on loopback, for tests, benches and plugin processes' web servers. */
import { createServer } from 'node:net';

/** Racy in principle (another process may take it before it is used), fine where a clash only fails one start. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
