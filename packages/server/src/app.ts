/** Builds the Pod: a Fastify instance with the API, the owner pool, plugin trigger and mailer wired in. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import { configWarnings, type PodConfig } from './config.js';
import type { PodVersion } from '@pod/protocol';
import { api } from './api/api.js';
import { errorBody } from './api/error-body.js';
import { ROUTES_HELP, loggableUrl } from './api/loggable-url.js';
import { refuseForeignOrigins } from './api/origin.js';
import { createMailer } from './email/mailer.js';
import { PodError } from './errors.js';
import { requestGuard } from './api/request-guard.js';
import { DockerRunner } from './plugins/docker-runner.js';
import { ProcessRunner } from './plugins/process-runner.js';
import { noRunner, type PluginRunner } from './plugins/runner.js';
import { PluginCredentials } from './plugins/credentials.js';
import { PluginNetwork } from './plugins/plugin-network.js';
import { PluginRuns } from './plugins/trigger.js';
import { OwnerPool } from './storage/owners.js';
import { ChangeFeed } from './sync/feed.js';

export const POD_VERSION = '0.1.0';

export interface PodParts {
  runner?: PluginRunner;
  /** Where the log goes (default: stdout); tests read it to prove no secret is written. */
  logStream?: DestinationStream;
}

export async function createPod(config: PodConfig, parts: PodParts = {}): Promise<FastifyInstance> {
  const options: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } } = {
    logger: {
      level: config.logLevel,
      serializers: {
        req: (request) => ({ method: request.method, url: loggableUrl(request.url), remoteAddress: request.ip }),
      },
      ...(parts.logStream && { stream: parts.logStream }),
    },
    bodyLimit: config.jsonBodyLimit,
    // A socket silent this long is closed (a live feed's heartbeat keeps it busy); bodies have
    // their own deadline (request-guard.ts), not Node's requestTimeout, which would cut long uploads.
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    // Closing ends every connection: a keep-alive socket that served an upload and then a
    // download was otherwise not seen as idle, and close() waited out the keep-alive timeout.
    forceCloseConnections: true,
    // upload_file_b carries a whole credential in one path segment.
    routerOptions: { maxParamLength: 16_384 },
    // Fastify's own answer to a malformed URL quotes the URL, which may hold a key.
    frameworkErrors: (error, _request, reply) =>
      (reply as FastifyReply).status(400).type('application/json; charset=utf-8').send(errorBody(400, `the URL is malformed (${error.code}); ${ROUTES_HELP}`)),
  };
  if (config.tls) options.https = { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) };
  const app = Fastify(options) as unknown as FastifyInstance;
  app.server.headersTimeout = 20_000;

  // Refusal first: CORS headers only hide an answer, and only from origins that passed.
  app.addHook('onRequest', refuseForeignOrigins(config));
  await app.register(cors, { origin: config.corsOrigins === '*' ? '*' : true });

  const feed = new ChangeFeed(config.limits);
  const credentials = new PluginCredentials();
  const owners: OwnerPool = new OwnerPool(config, (owner, commit) => {
    runs.onCommit(owner, commit);
    feed.notify(owner);
  });
  for (const warning of configWarnings(config)) app.log.warn(warning);
  // listenPod (listen.ts) opens it once the Pod listens
  const pluginNetwork =
    config.plugins.runner === 'docker' && config.plugins.network !== 'host'
      ? new PluginNetwork({ name: config.plugins.network, socketPath: config.plugins.dockerSocket, log: app.log })
      : undefined;
  app.decorate('pluginNetwork', pluginNetwork);
  const runner = parts.runner ?? runnerFor(config, pluginNetwork);
  // Containers of a crashed predecessor hold credentials that no longer work: remove them.
  void runner
    .removeLeftovers?.()
    .then((count) => count && app.log.warn(`removed ${count} plugin container(s) left running by an earlier Pod`))
    .catch((error: Error) => app.log.warn(`could not look for leftover plugin containers: ${error.message}`));
  const runs = new PluginRuns({
    runner,
    credentials,
    podAddress: () => config.plugins.podAddress ?? pluginNetwork?.podAddress() ?? ownAddress(app, config),
    keepOpen: (owner, until) => void owners.using(owner, () => until),
    log: app.log,
    limits: config.plugins,
  });
  app.addHook('preClose', async () => {
    feed.closeAll();
    await runs.stopAll();
  });
  app.addHook('onClose', async () => owners.closeAll());
  app.addHook('onClose', async () => pluginNetwork?.close());

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error instanceof PodError ? error.status : fastifyStatus(error);
    if (status >= 500) request.log.error({ err: error, url: loggableUrl(request.url) }, 'request failed');
    const message =
      error instanceof PodError
        ? error.message
        : status === 413
          ? `the body is larger than the limit of ${config.jsonBodyLimit} bytes (see --json-body-limit); split it into smaller requests`
          : status >= 500
            ? 'internal error; see the Pod log'
            : error.message;
    if (error instanceof PodError) reply.headers(error.headers);
    reply.status(status).type('application/json; charset=utf-8').send(errorBody(status, message));
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).type('application/json; charset=utf-8').send(errorBody(404, `no such route; ${ROUTES_HELP}`)),
  );

  requestGuard(app, config);
  app.get('/', async () => ({ pod: 'Pod', version: POD_VERSION, api: ['v4', 'v3'] }));
  app.get('/version', async (): Promise<PodVersion> => ({
    cargo: POD_VERSION,
    git_describe: process.env.POD_GIT_DESCRIBE ?? null,
  }));

  await app.register(api, {
    owners,
    credentials,
    runs,
    feed,
    mailer: createMailer(config, app.log),
    jsonBodyLimit: config.jsonBodyLimit,
    uploadLimit: config.uploadLimit,
    limits: config.limits,
  });
  return app;
}

function runnerFor({ plugins, dataDir }: PodConfig, pluginNetwork: PluginNetwork | undefined): PluginRunner {
  switch (plugins.runner) {
    case 'none':
      return noRunner;
    case 'process':
      return new ProcessRunner({ commands: plugins.commands, timeoutSeconds: plugins.timeoutSeconds });
    case 'docker':
      return new DockerRunner({
        instance: createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16),
        socketPath: plugins.dockerSocket,
        network: plugins.network,
        networkReady: pluginNetwork && (() => pluginNetwork.ready()),
        memoryMiB: plugins.memoryMiB,
        tmpMiB: plugins.tmpMiB,
        cpus: plugins.cpus,
        timeoutSeconds: plugins.timeoutSeconds,
      });
  }
}

/** Where this Pod listens, as plugins on this machine reach it (POD_FULL_ADDRESS). */
function ownAddress(app: FastifyInstance, config: PodConfig): string {
  const { port } = app.server.address() as { port: number };
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `${config.tls ? 'https' : 'http'}://${host}:${port}`;
}

/** Fastify's own errors (body too large, bad content) carry a 4xx statusCode; anything else is ours. */
function fastifyStatus(error: { statusCode?: number }): PodError['status'] {
  const status = error.statusCode;
  if (status === 413) return 413;
  if (status !== undefined && status >= 400 && status < 500) return 400;
  return 500;
}

