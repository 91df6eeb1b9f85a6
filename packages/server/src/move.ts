/**
 * Moving an owner to another Pod (issue 15 part 3), the source's side. The owner keeps serving while
 * its database and files are copied to the target (staged there, not yet served); then its requests
 * are held at the gate (`admit`), those under way finish, and with its connections idle the rest goes
 * across: the WAL written since (the database file itself stays still under the checkpoint lock held
 * from the first copy on) and the files uploaded since. Once the target has installed the owner, the
 * held requests, and every later one, get a 307 to the same path there; on any failure the target's
 * staging is dropped and the held requests go on here as if nothing happened.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorBody, HEX_KEY, MoveReceived, moveRoutes, type MoveReport, type MoveRequest } from '@pod/protocol';
import { LOCK_WAIT_MS } from './backup.js';
import { ownerHash } from './config.js';
import { MovedError, PodError } from './errors.js';
import { packOwner } from './owner-archive.js';
import { holdLock } from './storage/checkpoint-lock.js';
import type { OwnerPool } from './storage/owners.js';
import type { ChangeFeed } from './sync/feed.js';

/** How long the requests under way when writes are paused may take to finish; a move waits no longer. */
export const DRAIN_MS = 10_000;

export class OwnerMoves {
  /** Owners in the pause: their new requests wait here until the move is done or rolled back. */
  private readonly held = new Map<string, Promise<void>>();
  /** Requests under way per owner (live feeds aside: they only read, and a move ends them). */
  private readonly underWay = new Map<string, number>();
  private readonly drainWaiters = new Map<string, () => void>();
  private readonly moving = new Set<string>();

  constructor(
    private readonly owners: OwnerPool,
    private readonly feed: ChangeFeed,
    private readonly dataDir: string,
  ) {}

  /** `onRequest` hook, after the request guard: a moved owner's request gets its 307, a paused one waits. */
  admit = async (request: FastifyRequest, reply: FastifyReply) => {
    const ownerKey = (request.params as { owner?: unknown } | undefined)?.owner;
    if (typeof ownerKey !== 'string' || !HEX_KEY.test(ownerKey)) return;
    const hash = ownerHash(ownerKey);
    for (let hold = this.held.get(hash); hold; hold = this.held.get(hash)) await hold;
    const to = this.owners.moved.to(hash);
    if (to) throw new MovedError(to);
    if (request.routeOptions.url?.endsWith('/changes')) return;
    this.underWay.set(hash, (this.underWay.get(hash) ?? 0) + 1);
    reply.raw.once('close', () => this.finished(hash));
  };

  /** Moves the owner to the Pod at `to`; answers once the target serves it and the data here is gone. */
  async move({ owner: hash, to: toUrl, secret }: MoveRequest): Promise<MoveReport> {
    const started = performance.now();
    const to = toUrl.replace(/\/+$/, '');
    const already = this.owners.moved.to(hash);
    if (already) throw new PodError('conflict', `owner ${hash} moved to ${already} already`);
    if (this.moving.has(hash)) throw new PodError('conflict', `owner ${hash} is being moved already`);
    if (!this.owners.hasData(hash)) throw new PodError('notFound', `owner ${hash} has no database on this Pod`);
    const target = new Target(to, hash, secret);
    await target.check();
    this.moving.add(hash);
    const dir = join(this.dataDir, hash);
    let recorded = false;
    let release: (() => void) | undefined;
    try {
      // A short WAL first; from then on pod.db stays as copied (no checkpoint under the lock).
      this.owners.checkpoint(hash);
      release = await holdLock(dir, LOCK_WAIT_MS);
      const first = packOwner(dir, hash, { database: true, wal: false, takeLock: false });
      const staged = await target.send('PUT', moveRoutes.stage, first.archive);
      const sent = new Set((await first.manifest).present);
      const paused = performance.now();
      let resume = () => {};
      this.held.set(hash, new Promise((resolve) => (resume = resolve)));
      let rest: MoveReceived;
      try {
        await this.drained(hash);
        this.owners.freeze(hash);
        rest = await this.owners.whileIdle(hash, async () => {
          const last = packOwner(dir, hash, { database: false, wal: true, takeLock: false, skipFiles: sent });
          // Recorded first: a crash from here on leaves the owner answered by a 307, never served twice.
          this.owners.moved.record(hash, to);
          recorded = true;
          const installed = await target.send('POST', moveRoutes.finish, last.archive);
          this.owners.dropMoved(hash);
          return installed;
        });
      } finally {
        this.owners.thaw(hash);
        this.held.delete(hash);
        resume();
      }
      const pauseMs = performance.now() - paused;
      this.feed.closeOwner({ hash });
      release();
      release = undefined;
      await rm(dir, { recursive: true, force: true });
      return {
        owner: hash,
        to,
        files: staged.files + rest.files,
        bytes: staged.bytes + rest.bytes,
        pauseMs,
        totalMs: performance.now() - started,
      };
    } catch (error) {
      if (recorded) this.owners.moved.forget(hash);
      await target.abort();
      throw error;
    } finally {
      release?.();
      this.moving.delete(hash);
    }
  }

  /** Resolves once the owner has no request under way; 503 (the move rolls back) after DRAIN_MS. */
  private drained(hash: string): Promise<void> {
    if (!this.underWay.get(hash)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drainWaiters.delete(hash);
        reject(
          new PodError(
            'unavailable',
            `the owner's requests under way did not finish within ${DRAIN_MS / 1000} s (a long upload?); ` +
              'nothing was moved; try again',
          ),
        );
      }, DRAIN_MS);
      this.drainWaiters.set(hash, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private finished(hash: string) {
    const left = (this.underWay.get(hash) ?? 1) - 1;
    if (left > 0) return void this.underWay.set(hash, left);
    this.underWay.delete(hash);
    this.drainWaiters.get(hash)?.();
    this.drainWaiters.delete(hash);
  }
}

/** The target Pod's move routes (protocol's `moveRoutes`), never following a redirect with the secret. */
class Target {
  constructor(
    private readonly url: string,
    private readonly hash: string,
    private readonly secret: string,
  ) {}

  /** Refused (a Pod that takes no moves, a wrong secret, an owner it has): nothing was sent. */
  async check(): Promise<void> {
    await this.request('POST', moveRoutes.check);
  }

  async send(method: 'PUT' | 'POST', route: string, archive: Readable): Promise<MoveReceived> {
    const response = await this.request(method, route, archive);
    return MoveReceived.parse(await response.json());
  }

  /** Drops what the target staged; a target that cannot be reached keeps a staging folder it removes on its next move. */
  async abort(): Promise<void> {
    await this.request('DELETE', moveRoutes.stage).catch(() => {});
  }

  private async request(method: string, route: string, body?: Readable): Promise<Response> {
    const url = `${this.url}${route.replace(':ownerHash', this.hash)}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.secret}` },
        redirect: 'error',
        ...(body && { body: Readable.toWeb(body) as ReadableStream, duplex: 'half' }),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new PodError('badGateway', `the target Pod at ${this.url} could not be reached (${cause}); nothing moved`);
    }
    if (response.ok) return response;
    const text = await response.text();
    const parsed = ErrorBody.safeParse(safeJson(text));
    const message = parsed.success ? parsed.data.message : text.slice(0, 200);
    throw new PodError('badGateway', `the target Pod refused (${response.status}): ${message}; nothing moved`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
