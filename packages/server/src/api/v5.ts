/**
 * The `/v5` API (spec 2023 §2.2): one route, `POST /v5/<owner>/schema`, validated against
 * `v5Endpoints` in @pod/protocol. It never creates a database: an owner without a registered
 * account gets 404 (§1.3).
 */
import type { FastifyPluginAsync } from 'fastify';
import { Envelope, toJson, v5Endpoints, type Empty } from '@pod/protocol';
import { notFound } from '../errors.js';
import { authorize, parse, parseJsonBodies, type ApiDeps } from './caller.js';

const noAccount = () => notFound('no account registered for this owner (POST /v4/account)');

export const v5: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  parseJsonBodies(app, deps.jsonBodyLimit);
  app.post<{ Params: { owner: string } }>('/:owner/schema', async (request, reply) => {
    const { owner: ownerKey } = request.params;
    if (!deps.owners.exists(ownerKey)) throw noAccount();
    const envelope = parse(Envelope, request.body, 'body');
    const payload = parse(v5Endpoints.schema.payload, envelope.payload, 'payload');
    const answer = await authorize(deps, ownerKey, envelope.auth, 'schema', payload, ({ owner, grant }) =>
      deps.owners.using(owner, async () => {
        if (!owner.store.hasAccount()) throw noAccount();
        await owner.store.writeSteps(owner.store.declareSchema(payload, grant));
        return toJson<Empty>({});
      }),
    );
    return reply.type('application/json; charset=utf-8').send(answer);
  });
};
