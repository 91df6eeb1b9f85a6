/**
 * The two uploads of spec §5 (protocol's `uploads`): the body is the file, streamed unread through
 * hashing and encryption; the auth rides in the path.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Auth, HEX_KEY, toJson, uploads as routes, type Empty, type Json } from '@pod/protocol';
import { badRequest } from '../errors.js';
import { receiveFile } from '../storage/files.js';
import { authorize, dropRest, parse, type ApiDeps } from './caller.js';

export const uploads: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  // Leave the body unread: the handler streams it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const upload = async (ownerKey: string, auth: Auth, sha256: string, request: FastifyRequest) => {
    if (!HEX_KEY.test(sha256)) throw badRequest('the sha256 in the path must be 64 hexadecimal characters');
    const size = await authorize(deps, ownerKey, auth, 'upload', undefined, ({ owner }) => {
      const quota = deps.owners.quota.upload(owner);
      return deps.owners
        .using(owner, () => receiveFile(owner, sha256.toLowerCase(), request.raw, deps.uploadLimit, quota.take))
        .catch((error: unknown) => {
          quota.giveBack();
          throw error;
        });
    }).finally(() => dropRest(request.raw));
    deps.traffic.uploaded(size);
    return toJson<Empty>({});
  };
  const answer = async (reply: FastifyReply, written: Promise<Json<Empty>>) =>
    reply.type('application/json; charset=utf-8').send(await written);
  const ownerPath = '/:owner/upload_file/:key/:sha256';
  app.post<{ Params: { owner: string; key: string; sha256: string } }>(ownerPath, async (request, reply) => {
    const { key, sha256 } = parse(routes.upload_file.params, request.params, 'path');
    const auth = parse(Auth, { type: 'ClientAuth', databaseKey: key }, 'path');
    return answer(reply, upload(request.params.owner, auth, sha256, request));
  });
  const pluginPath = '/:owner/upload_file_b/:auth/:sha256';
  app.post<{ Params: { owner: string; auth: string; sha256: string } }>(pluginPath, async (request, reply) => {
    const { auth: authJson, sha256 } = parse(routes.upload_file_b.params, request.params, 'path');
    let decoded: unknown;
    try {
      decoded = JSON.parse(authJson);
    } catch {
      throw badRequest('the auth segment of upload_file_b must be percent-encoded JSON');
    }
    const auth = parse(Auth, decoded, 'auth');
    return answer(reply, upload(request.params.owner, auth, sha256, request));
  });
};
