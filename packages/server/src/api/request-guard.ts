/**
 * Checks that cost nothing and run before a request's body is read: the owner key in the path is
 * well formed and allowed (400 / 403, so a large body for a refused owner is never buffered or
 * parsed), and a JSON body must arrive within a deadline (408), so a body trickled byte by byte
 * does not hold a request open for ever. Uploads are exempt from the deadline (1 GiB may take long
 * on a slow link; they are authorized before their body is read and cut when the socket idles), and
 * so is the time a live feed stays open (only its small request body is timed).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HEX_KEY } from '@pod/protocol';
import { ownerHash, type PodConfig } from '../config.js';
import { PodError } from '../errors.js';

const API_PATH = /^\/v[345]\//;
/** Uploads and imports: bodies that may take long. */
const UPLOAD_ROUTE = /\/upload_file(_b)?\/|\/import$/;

export function requestGuard(app: FastifyInstance, config: Pick<PodConfig, 'owners' | 'limits'>) {
  app.addHook('onRequest', async (request, reply) => {
    if (!API_PATH.test(request.url)) return;
    const owner = (request.params as { owner?: unknown } | undefined)?.owner;
    if (typeof owner === 'string') {
      if (!HEX_KEY.test(owner))
        throw new PodError('invalid', 'the owner key in the path must be 64 hexadecimal characters');
      if (config.owners !== 'ANY' && !config.owners.has(ownerHash(owner)))
        throw new PodError('forbidden', 'this owner is not allowed on this Pod (see --owners)');
    }
    if (request.method === 'POST' && !UPLOAD_ROUTE.test(request.routeOptions.url ?? ''))
      bodyDeadline(request, reply, config.limits.bodyTimeoutMs);
  });
}

/** Answers 408 and closes the connection when the body has not fully arrived in time. */
function bodyDeadline(request: FastifyRequest, reply: FastifyReply, timeoutMs: number) {
  const body = request.raw;
  if (body.complete) return;
  const timer = setTimeout(() => {
    if (body.complete || reply.sent) return;
    reply.hijack();
    const message = `the request body did not arrive within ${timeoutMs / 1000} s (see --body-timeout); send it at once`;
    reply.raw
      .writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
      .end(JSON.stringify({ error: 'Request Timeout', message }));
  }, timeoutMs);
  const done = () => clearTimeout(timer);
  body.once('end', done);
  reply.raw.once('close', done);
}
