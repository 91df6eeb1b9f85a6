/**
 * The operator's routes (issue 15 part 5): `GET /metrics` (Prometheus text format), `GET /healthz`
 * (the process serves) and `GET /readyz` (it can do its work). Metrics are for a scraper, never for
 * a web page: any request that carries an `Origin` is refused, so no page, loopback ones included,
 * can read them through CORS. With `--metrics-token`, /metrics needs it as a Bearer token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { operatorRoutes, type Health, type Readiness } from '@pod/protocol';
import { PodError } from '../errors.js';
import { errorBody } from './error-body.js';
import type { PodMetrics } from '../metrics.js';
import type { PluginRunner } from '../plugins/runner.js';
import { readiness } from '../readiness.js';

export interface OperationsDeps {
  metrics: PodMetrics;
  metricsToken: string | undefined;
  dataDir: string;
  runner: PluginRunner;
}

export const operations: FastifyPluginAsync<OperationsDeps> = async (
  app,
  { metrics, metricsToken, dataDir, runner },
) => {
  const expected = metricsToken === undefined ? undefined : digest(metricsToken);
  app.get(operatorRoutes.metrics, async (request, reply) => {
    if (request.headers.origin !== undefined)
      throw new PodError('forbidden', 'metrics are not served to web pages; scrape them without an Origin header');
    if (expected && !bearerMatches(request.headers.authorization, expected))
      throw new PodError(
        'unauthorized',
        'GET /metrics needs the token of --metrics-token as "Authorization: Bearer <token>"',
        { 'www-authenticate': 'Bearer realm="pod-metrics"' },
      );
    const text = await metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(text);
  });
  const alive: Health = { alive: true };
  app.get(operatorRoutes.healthz, async (_request, reply) => reply.header('cache-control', 'no-store').send(alive));
  app.get(operatorRoutes.readyz, async (_request, reply) => {
    const { ready, checks }: Readiness = await readiness(dataDir, runner);
    reply.header('cache-control', 'no-store');
    if (ready) return reply.send({ ready, checks });
    const failed = Object.entries(checks)
      .filter(([, check]) => check !== 'ok')
      .map(([name, check]) => `${name}: ${check}`);
    return reply.status(503).send({ ...errorBody(503, failed.join('; ')), ready, checks });
  });
};

/** Tokens are compared as SHA-256 digests: equal lengths for `timingSafeEqual`, whatever was sent. */
const digest = (token: string) => createHash('sha256').update(token).digest();

function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}
