/**
 * `POST /<v>/<owner>/import` (protocol's `ownerImport`): the body is an owner archive, streamed unread
 * into a staging folder and checked before it is installed (owner-archive.ts); the database key rides in
 * the Authorization header, never in the URL. An archive over `--max-import-bytes` gets 413, whether its
 * Content-Length says so or its bytes pass the limit as they stream; the staging folder goes with it.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, finished, type Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { ownerImport, toJson, type Imported } from '@pod/protocol';
import { PodError } from '../errors.js';
import { dropRest, parse, type ApiDeps } from './caller.js';

export const imports: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  // An import cannot bring more than the owner may store (the owner has no data before it).
  const quota = deps.owners.quota.limit;
  const limit: ImportLimit =
    quota > 0 && quota < deps.limits.maxImportBytes
      ? { bytes: quota, flag: '--owner-quota', what: "this Pod's storage quota per owner" }
      : { bytes: deps.limits.maxImportBytes, flag: '--max-import-bytes', what: "this Pod's import limit" };
  // Leave the body unread: the import streams it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.post<{ Params: { owner: string } }>('/:owner/import', async (request, reply) => {
    const { authorization } = parse(ownerImport.headers, request.headers, 'headers');
    const databaseKey = authorization.slice('Bearer '.length);
    if (Number(request.headers['content-length'] ?? 0) > limit.bytes) throw tooLarge(limit);
    const archive = limited(request.raw, limit);
    const manifest = await deps.owners
      .importArchive(request.params.owner, databaseKey, archive)
      // refused before the end of the body (409, 400, 413): the rest is read and dropped, so that the
      // answer reaches the client and its connection stays usable
      .finally(() => dropRest(request.raw));
    const imported: Imported = { files: manifest.counts.files, bytes: manifest.counts.bytes };
    return reply.type('application/json; charset=utf-8').send(toJson(imported));
  });
};

/** The most an import may bring, and the flag that sets it. */
interface ImportLimit {
  bytes: number;
  flag: string;
  what: string;
}

const tooLarge = ({ bytes, flag, what }: ImportLimit) =>
  new PodError(
    'tooLarge',
    `the archive is larger than ${what} of ${bytes} bytes (${flag}); nothing was ` +
      'imported: ask its operator to raise the limit, or have the operator run pod import',
  );

/**
 * The body, failing with a 413 once more than the limit's bytes have come. It is piped, not put in a
 * pipeline, so that failing leaves the request itself open: the client, still sending, gets the 413
 * rather than a reset connection.
 */
function limited(body: IncomingMessage, limit: ImportLimit): Readable {
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes <= limit.bytes) return done(null, chunk);
      dropRest(body);
      done(tooLarge(limit));
    },
  });
  // A client that goes away mid-archive ends the import (pipe alone would leave it waiting).
  finished(body, (error) => error && counted.destroy(error));
  return body.pipe(counted);
}
