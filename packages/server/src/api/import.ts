/**
 * `POST /<v>/<owner>/import` (protocol's `ownerImport`): the body is an owner archive, streamed unread
 * into a staging folder and checked before it is installed (owner-archive.ts); the database key rides in
 * the Authorization header, never in the URL.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ownerImport, toJson, type Imported } from '@pod/protocol';
import { parse, type ApiDeps } from './caller.js';

export const imports: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  // Leave the body unread: the import streams it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.post<{ Params: { owner: string } }>('/:owner/import', async (request, reply) => {
    const { authorization } = parse(ownerImport.headers, request.headers, 'headers');
    const databaseKey = authorization.slice('Bearer '.length);
    const manifest = await deps.owners.importArchive(request.params.owner, databaseKey, request.raw);
    const imported: Imported = { files: manifest.counts.files, bytes: manifest.counts.bytes };
    return reply.type('application/json; charset=utf-8').send(toJson(imported));
  });
};
