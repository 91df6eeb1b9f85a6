/**
 * `POST /<v>/account` (2023 API §1.1): registers an account for an owner, with a bare body
 * `{"ownerKey", "databaseKey"}`. It creates the owner's database when there is none and puts it in
 * account mode (§1.2) for good; no item is created. Every 2023 client sends it at start, so an owner
 * registered already gets 409, which those clients ignore.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AccountRegistration, toJson, type Empty } from '@pod/protocol';
import { PodError } from '../errors.js';
import { parse, parseJsonBodies, type ApiDeps } from './caller.js';

export const account: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  parseJsonBodies(app, deps.jsonBodyLimit);
  app.post('/account', async (request, reply) => {
    const { ownerKey, databaseKey } = parse(AccountRegistration, request.body, 'body');
    // 403 for an owner not allowed, 401 for a wrong key (nothing changes); a new owner's database is created.
    const owner = deps.owners.authenticate(ownerKey, databaseKey);
    const registered = await deps.owners.using(owner, () => owner.store.withMain(() => owner.store.registerAccount()));
    if (!registered) throw new PodError('conflict', 'an account is already registered for this owner');
    return reply.type('application/json; charset=utf-8').send(toJson<Empty>({}));
  });
};
