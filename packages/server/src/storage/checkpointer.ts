/**
 * Checkpoints off the event loop (issue 13): one worker thread (checkpoint-worker.ts) holds a second
 * connection to every open owner database and runs its checkpoints there. A checkpoint of a full WAL
 * (~40 MiB, every page decrypted, re-encrypted and fsynced) takes seconds on a large owner; on the one
 * JavaScript thread it paused every request of every owner. And because that connection stays open,
 * closing the owner's own connections is never the last close, the one SQLite checkpoints in: the
 * close is cheap, and the rest of the WAL goes into pod.db on the thread when it detaches.
 * The owner pool takes the checkpoint lock (checkpoint-lock.ts) around each request that may write
 * pod.db, as it does for its own checkpoints.
 */
import { Worker } from 'node:worker_threads';

export type CheckpointRequest = { seq: number } & (
  | { op: 'attach'; id: number; path: string; key: Uint8Array }
  | { op: 'checkpoint'; id: number }
  | { op: 'detach'; id: number; checkpoint: boolean }
  | { op: 'flush' }
);

export interface CheckpointReply {
  seq: number;
  /** The error's message (never the key). */
  error?: string;
}

type Request = CheckpointRequest extends infer R ? (R extends unknown ? Omit<R, 'seq'> : never) : never;

/** One owner database's connection on the checkpoint thread. */
export interface Attachment {
  readonly id: number;
  /** True once the thread's connection is open (only then is a close of the owner's own ones not the last). */
  ready: boolean;
  /** Set when the connection could not be opened, or the thread was lost: the owner pool then checkpoints itself. */
  failed: boolean;
}

export class Checkpointer {
  private worker: Worker | undefined;
  private nextSeq = 1;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly attachments = new Set<Attachment>();

  /** Opens a connection to the database at `path` on the checkpoint thread; `warn` hears why if it fails. */
  attach(path: string, key: Buffer, warn: (message: string) => void): Attachment {
    const attachment: Attachment = { id: this.nextId++, ready: false, failed: false };
    this.attachments.add(attachment);
    // A copy: the caller's key buffer stays where it is; this one goes to the thread and nowhere else.
    this.send({ op: 'attach', id: attachment.id, path, key: new Uint8Array(key) }).then(
      () => {
        attachment.ready = !attachment.failed;
      },
      (error: Error) => {
        attachment.failed = true;
        this.attachments.delete(attachment);
        warn(`the checkpoint thread could not open the database (${error.message}); checkpoints run inline`);
      },
    );
    return attachment;
  }

  /** A PASSIVE checkpoint on the thread: copies what it can without waiting for the owner's connections. */
  checkpoint(attachment: Attachment): Promise<void> {
    return this.send({ op: 'checkpoint', id: attachment.id });
  }

  /**
   * Closes the thread's connection, after a PASSIVE checkpoint when `checkpoint`. If it is the database's
   * last connection, SQLite checkpoints the rest and removes the WAL as it closes: hold the lock.
   */
  detach(attachment: Attachment, { checkpoint }: { checkpoint: boolean }): Promise<void> {
    attachment.ready = false;
    this.attachments.delete(attachment);
    if (attachment.failed) return Promise.resolve();
    return this.send({ op: 'detach', id: attachment.id, checkpoint });
  }

  /** Resolves once everything sent to the thread so far is done (it handles messages in order). */
  async flush(): Promise<void> {
    if (this.worker) await this.send({ op: 'flush' }).catch(() => {});
  }

  /** Ends the thread once what was sent is done (call after every owner is detached). */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private send(request: Request): Promise<void> {
    const seq = this.nextSeq++;
    const worker = this.thread();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ ...request, seq });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', ({ seq, error }: CheckpointReply) => {
      const waiter = this.waiting.get(seq);
      this.waiting.delete(seq);
      if (this.waiting.size === 0) worker.unref();
      if (error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(error));
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      // Its connections went with it: the owners they served checkpoint inline from now on.
      for (const attachment of this.attachments) {
        attachment.failed = true;
        attachment.ready = false;
      }
      this.attachments.clear();
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the checkpoint thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
