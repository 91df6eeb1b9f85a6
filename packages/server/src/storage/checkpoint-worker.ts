/**
 * The checkpoint thread (checkpointer.ts): holds a second connection to each open owner's database and
 * runs its checkpoints, so that copying the WAL into pod.db (every page decrypted, re-encrypted and
 * fsynced) never runs on the event loop. Messages are handled one at a time, in the order sent.
 * Errors go back as their message only: SQLite's messages never hold the key, and it is never echoed.
 */
import { parentPort } from 'node:worker_threads';
import { openEncrypted, type Db } from './database.js';
import type { CheckpointReply, CheckpointRequest } from './checkpointer.js';

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.js runs as a worker thread (checkpointer.ts)');

/** This thread's connections, by the id the owner pool gave each. */
const connections = new Map<number, Db>();

/** This connection's page cache: a checkpoint copies WAL frames to pod.db without going through it. */
const CACHE_KIB = 256;

function handle(request: CheckpointRequest): void {
  switch (request.op) {
    case 'attach': {
      const db = openEncrypted(request.path, Buffer.from(request.key), false, false);
      db.pragma(`cache_size=-${CACHE_KIB}`);
      connections.set(request.id, db);
      return;
    }
    case 'checkpoint':
      // PASSIVE: never waits for, nor blocks, the owner's writers and readers on the main thread.
      connection(request.id).pragma('wal_checkpoint(PASSIVE)');
      return;
    case 'detach': {
      const db = connections.get(request.id);
      if (!db) return; // its open failed, and said so
      connections.delete(request.id);
      if (request.checkpoint) db.pragma('wal_checkpoint(PASSIVE)');
      // The last connection to close checkpoints what is left and removes the WAL (SQLite does so).
      db.close();
      return;
    }
    case 'flush':
      return;
  }
}

function connection(id: number): Db {
  const db = connections.get(id);
  if (!db) throw new Error(`no checkpoint connection ${id} (its open failed)`);
  return db;
}

port.on('message', (request: CheckpointRequest) => {
  let reply: CheckpointReply;
  try {
    handle(request);
    reply = { seq: request.seq };
  } catch (error) {
    reply = { seq: request.seq, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
