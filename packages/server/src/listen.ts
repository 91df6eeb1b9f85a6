/**
 * How the Pod listens. Besides `host:port` it holds the same port on the other loopback family
 * (127.0.0.1 and ::1), so that no other program can listen there and receive the requests, keys
 * included, of clients whose `localhost` is the other one; and on the gateway of the plugins'
 * docker network (see plugins/plugin-network.ts). Every extra listener hands its connections to the
 * Fastify server itself, so they are served (TLS included) and closed exactly like the main ones.
 */
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { PluginNetwork } from './plugins/plugin-network.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The docker runner's network of plugins, when plugins run on one (not `host`). */
    pluginNetwork?: PluginNetwork;
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Listens on `host:port` and beside it as above; resolves with the port (useful when `port` is 0). */
export async function listenPod(
  app: FastifyInstance,
  { host, port, tls }: { host: string; port: number; tls?: unknown },
): Promise<number> {
  // Fastify would bind whatever `localhost` resolves to; the pair below is bound on purpose instead
  const mainHost = host === 'localhost' ? '127.0.0.1' : host;
  await app.listen({ host: mainHost, port });
  const actualPort = (app.server.address() as AddressInfo).port;
  try {
    const sibling = loopbackSibling(mainHost);
    if (sibling) await listenBeside(app, sibling, actualPort);
  } catch (error) {
    await app.close();
    throw error;
  }
  await app.pluginNetwork?.open(actualPort, tls ? 'https' : 'http', (gateway) =>
    // a Pod on every address already listens on the gateway
    WILDCARDS.has(mainHost) ? Promise.resolve() : listenBeside(app, gateway, actualPort),
  );
  return actualPort;
}

/** The other loopback address, when this machine has it. */
function loopbackSibling(host: string): string | undefined {
  const sibling = host === '127.0.0.1' ? '::1' : host === '::1' ? '127.0.0.1' : undefined;
  const present = Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((address) => address.address === sibling),
  );
  return present ? sibling : undefined;
}

/** Listens on `host:port` for `app`, until `app` closes. */
async function listenBeside(app: FastifyInstance, host: string, port: number): Promise<void> {
  const server: Server = createServer((socket) => app.server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `another program already listens on ${host.includes(':') ? `[${host}]` : host}:${port}; it would receive requests meant for the Pod: stop it, or choose another --port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen({ host, port, ipv6Only: host.includes(':') }, resolve);
  });
  // as Fastify does with its own extra listeners: closing the Pod closes them
  app.server.once('close', () => server.close());
}
