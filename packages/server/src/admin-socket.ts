/**
 * The operator's socket: `<data-dir>/admin.sock`, a Unix socket (mode 0600) through which `pod move` asks
 * the running Pod to move an owner. Only who may read the data folder reaches it (the same people who can
 * copy the owners' files); it is never on the network, so no foreign caller can start a move.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { MoveRequest } from '@pod/protocol';
import { PodError, type ErrorKind } from './errors.js';
import type { OwnerMoves } from './move.js';
import { errorBody } from './api/error-body.js';

export const ADMIN_SOCKET = 'admin.sock';
export const adminRoutes = { move: '/move' } as const;
const MAX_BODY_BYTES = 64 * 1024;

export async function listenAdmin(
  dataDir: string,
  moves: OwnerMoves,
  statusOf: (kind: ErrorKind) => number,
): Promise<Server> {
  const path = join(dataDir, ADMIN_SOCKET);
  const server = createServer((request, response) => {
    const answer = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    handle(request, moves)
      .then((report) => answer(200, report))
      .catch((error: Error) => {
        const status = error instanceof PodError ? statusOf(error.kind) : 500;
        answer(
          status,
          errorBody(status, error instanceof PodError ? error.message : `internal error: ${error.message}`),
        );
      });
  });
  // A socket left by a Pod that died is in the way; a Pod still running on this folder would be a mistake anyway.
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  chmodSync(path, 0o600);
  return server;
}

async function handle(request: IncomingMessage, moves: OwnerMoves): Promise<unknown> {
  if (request.method !== 'POST' || request.url !== adminRoutes.move)
    throw new PodError('notFound', `the operator socket answers POST ${adminRoutes.move} only`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) throw new PodError('tooLarge', 'the move request is larger than 64 KiB');
    chunks.push(chunk);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new PodError('invalid', 'the move request is not JSON');
  }
  const parsed = MoveRequest.safeParse(json);
  if (!parsed.success) throw new PodError('invalid', parsed.error.issues.map((issue) => issue.message).join('; '));
  return moves.move(parsed.data);
}
