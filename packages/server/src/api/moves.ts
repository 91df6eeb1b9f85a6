/**
 * The target's move routes (protocol's `moveRoutes`, move-target.ts): each carries the move secret as a
 * Bearer token, never in the URL; the parts' bodies are streamed unread into staging.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { MoveHeaders, moveRoutes, toJson, type MoveReceived } from '@pod/protocol';
import type { MoveTarget } from '../move-target.js';
import { PodError } from '../errors.js';

type Request = FastifyRequest<{ Params: { ownerHash: string } }>;

/** The move secret of the Authorization header; a request without one is refused like a wrong one (401). */
function secretOf(request: FastifyRequest): string {
  const headers = MoveHeaders.safeParse(request.headers);
  if (!headers.success) throw new PodError('unauthorized', headers.error.issues[0]?.message ?? 'no move secret');
  return headers.data.authorization.slice('Bearer '.length);
}

export const moves: FastifyPluginAsync<{ target: MoveTarget }> = async (app, { target }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const json = (answer: MoveReceived) => toJson(answer);
  app.post(moveRoutes.check, async (request: Request, reply) => {
    target.check(request.params.ownerHash, secretOf(request));
    return reply.status(204).send();
  });
  app.put(moveRoutes.stage, async (request: Request, reply) => {
    const staged = await target.stage(request.params.ownerHash, secretOf(request), request.raw);
    return reply.type('application/json; charset=utf-8').send(json(staged));
  });
  app.post(moveRoutes.part, async (request: Request, reply) => {
    const applied = await target.part(request.params.ownerHash, secretOf(request), request.raw);
    return reply.type('application/json; charset=utf-8').send(json(applied));
  });
  app.post(moveRoutes.finish, async (request: Request, reply) => {
    const installed = await target.finish(request.params.ownerHash, secretOf(request), request.raw);
    return reply.type('application/json; charset=utf-8').send(json(installed));
  });
  app.delete(moveRoutes.stage, async (request: Request, reply) => {
    await target.abort(request.params.ownerHash, secretOf(request));
    return reply.status(204).send();
  });
};
