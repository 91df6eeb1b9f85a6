/** Builds the Pod: a Fastify instance with the API, the owner pool, plugin trigger and mailer wired in. */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { configWarnings, type PodConfig } from './config.js';
import type { PodVersion } from '@pod/protocol';
import { api } from './api/api.js';
import { errorBody } from './api/error-body.js';
import { ROUTES_HELP, loggableUrl } from './api/loggable-url.js';
import { refuseForeignOrigins } from './api/origin.js';
import { createMailer, type Mailer } from './email/mailer.js';
import { MovedError, PodError, type ErrorKind } from './errors.js';
import { requestGuard } from './api/request-guard.js';
import type { PluginRunner } from './plugins/runner.js';
import { createPluginParts, type PluginParts } from './plugins/setup.js';
import { PluginCredentials } from './plugins/credentials.js';
import { OwnerPool } from './storage/owners.js';
import { ChangeFeed } from './sync/feed.js';
import { OAuthBroker } from './oauth/broker.js';
import { PodMetrics } from './metrics.js';
import { operations } from './api/operations.js';
import { findAppDir, webApp } from './api/web-app.js';
import { Thumbnails } from './storage/thumbnails.js';
import { moves } from './api/moves.js';
import { listenAdmin } from './admin-socket.js';
import { OwnerMoves } from './move.js';
import { MoveTarget, dropAbandonedStaging } from './move-target.js';

export const POD_VERSION = '0.1.0';

export interface PodParts {
  runner?: PluginRunner;
  /** Where the log goes (default: stdout); tests read it to prove no secret is written. */
  logStream?: { write(line: string): void };
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
    // Idle between requests, only this applies (not connectionTimeout): at least 65 s (2023 §8).
    keepAliveTimeout: config.limits.keepAliveMs,
    // Closing ends every connection: a keep-alive socket that served an upload and then a
    // download was otherwise not seen as idle, and close() waited out the keep-alive timeout.
    forceCloseConnections: true,
    // upload_file_b carries a whole credential in one path segment.
    routerOptions: { maxParamLength: 16_384 },
    // Fastify's own answer to a malformed URL quotes the URL, which may hold a key.
    frameworkErrors: (error, _request, reply) =>
      (reply as FastifyReply)
        .status(400)
        .type('application/json; charset=utf-8')
        .send(errorBody(400, `the URL is malformed (${error.code}); ${ROUTES_HELP}`)),
  };
  if (config.tls) options.https = { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) };
  const app = Fastify(options) as unknown as FastifyInstance;
  app.server.headersTimeout = 20_000;

  for (const warning of configWarnings(config)) app.log.warn(warning);
  for (const folder of dropAbandonedStaging(config.dataDir))
    app.log.warn(`removed ${folder}: a move to this Pod staged more than an hour ago and never finished`);
  const context = createContext(app, config, parts);
  // Every request is observed once its response closes: onResponse misses a feed or download the client ends.
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => context.metrics.observe(request, reply));
    done();
  });
  // Refusal first: CORS headers only hide an answer, and only from origins that passed.
  app.addHook('onRequest', refuseForeignOrigins(config));
  await app.register(cors, { origin: config.corsOrigins === '*' ? '*' : true });
  app.decorate('pluginNetwork', context.plugins.network);
  app.addHook('preClose', async () => {
    context.feed.closeAll();
    await context.plugins.runs.stopAll();
  });
  app.addHook('onClose', async () => context.owners.closeAll());
  // `pod move` reaches the running Pod through its data folder's socket (admin-socket.ts).
  let admin: Server | undefined;
  app.addHook('onListen', async () => {
    admin = await listenAdmin(config.dataDir, context.moves.source, (kind) => STATUS_OF[kind]).catch((error: Error) => {
      app.log.warn(`no operator socket in ${config.dataDir} (${error.message}): pod move cannot reach this Pod`);
      return undefined;
    });
  });
  app.addHook('onClose', (_app, done) => (admin ? admin.close(() => done()) : done()));
  app.addHook('onClose', async () => context.plugins.network?.close());

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error instanceof PodError ? STATUS_OF[error.kind] : fastifyStatus(error);
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
    if (error instanceof MovedError) reply.header('location', `${error.to}${request.url}`);
    reply.status(status).type('application/json; charset=utf-8').send(errorBody(status, message));
  });
  app.setNotFoundHandler((_request, reply) =>
    reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send(errorBody(404, `no such route; ${ROUTES_HELP}`)),
  );

  requestGuard(app, config);
  // After the guard: a moved owner's request gets its 307, one paused by a move waits (move.ts).
  app.addHook('onRequest', context.moves.source.admit);
  await app.register(webApp, {
    appDir: findAppDir(config.appDir),
    identity: { pod: 'Pod', version: POD_VERSION, api: ['v4', 'v3'] },
  });
  app.get(
    '/version',
    async (): Promise<PodVersion> => ({
      cargo: POD_VERSION,
      git_describe: process.env.POD_GIT_DESCRIBE ?? null,
    }),
  );

  await app.register(operations, {
    metrics: context.metrics,
    metricsToken: config.metricsToken,
    dataDir: config.dataDir,
    runner: context.plugins.runner,
  });
  await app.register(moves, { target: context.moves.target });
  await app.register(api, {
    owners: context.owners,
    credentials: context.credentials,
    runs: context.plugins.runs,
    feed: context.feed,
    mailer: context.mailer,
    oauth: context.oauth,
    traffic: context.metrics,
    thumbnails: context.thumbnails,
    jsonBodyLimit: config.jsonBodyLimit,
    uploadLimit: config.uploadLimit,
    limits: config.limits,
  });
  return app;
}

/** The Pod's parts, each built once, in an order where every part exists before anything uses it. */
export interface PodContext {
  owners: OwnerPool;
  credentials: PluginCredentials;
  feed: ChangeFeed;
  plugins: PluginParts;
  mailer: Mailer;
  oauth: OAuthBroker;
  metrics: PodMetrics;
  thumbnails: Thumbnails;
  moves: { source: OwnerMoves; target: MoveTarget };
}

function createContext(app: FastifyInstance, config: PodConfig, parts: PodParts): PodContext {
  const owners = new OwnerPool(config, undefined, (message) => app.log.warn(message));
  const credentials = new PluginCredentials(config.dataDir);
  const feed = new ChangeFeed(config.limits);
  const plugins = createPluginParts(config, {
    owners,
    credentials,
    log: app.log,
    address: () => app.server.address(),
    runner: parts.runner,
  });
  owners.onOpen((owner) => plugins.runs.onOpen(owner));
  // Commits are heard only once everything that hears them exists.
  owners.onCommit((owner, commit) => {
    plugins.runs.onCommit(owner, commit);
    feed.notify(owner);
  });
  const oauth = new OAuthBroker(config.oauth);
  const metrics = new PodMetrics({
    openOwners: () => owners.openCount,
    pageCacheConnections: () => owners.pageCache.connections,
    pageCacheShare: () => owners.pageCache.share,
    feedSubscribers: () => feed.subscriberCount,
    queuedRuns: () => plugins.runs.queuedCount,
    runningRuns: () => plugins.runs.runningCount,
    launches: () => plugins.runs.launches,
  });
  const thumbnails = new Thumbnails(config.limits.maxThumbnailPixels, metrics);
  const moves = {
    source: new OwnerMoves(owners, feed, config.dataDir),
    target: new MoveTarget(config.dataDir, owners, config.acceptMovesSecret),
  };
  return {
    owners,
    credentials,
    feed,
    plugins,
    mailer: createMailer(config, app.log),
    oauth,
    metrics,
    thumbnails,
    moves,
  };
}

/** The one place a domain error becomes an HTTP status. */
const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  timeout: 408,
  conflict: 409,
  tooLarge: 413,
  unprocessable: 422,
  misdirected: 421,
  tooMany: 429,
  internal: 500,
  badGateway: 502,
  unavailable: 503,
  moved: 307,
  quotaExceeded: 507,
};

/** Fastify's own errors (body too large, bad content) carry a 4xx statusCode; anything else is ours. */
function fastifyStatus(error: { statusCode?: number }): number {
  const status = error.statusCode;
  if (status === 413) return 413;
  if (status !== undefined && status >= 400 && status < 500) return 400;
  return 500;
}
