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
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorBody, HEX_KEY, MoveReceived, moveRoutes, type MoveReport, type MoveRequest } from '@pod/protocol';
import { LOCK_WAIT_MS } from './backup.js';
import { ownerHash } from './config.js';
import { MovedError, PodError } from './errors.js';
import { packOwner, walEnd } from './owner-archive.js';
import { holdLock } from './storage/checkpoint-lock.js';
import type { OwnerPool } from './storage/owners.js';
import type { ChangeFeed } from './sync/feed.js';

/** How long the requests under way when writes are paused may take to finish; a move waits no longer. */
export const DRAIN_MS = 10_000;
/** Catch-up parts go while the owner serves until one carries at most this much (then the pause sends the rest)… */
const CATCH_UP_BYTES = 1024 * 1024;
/** …or this many were sent (an owner written faster than the link carries: the pause then sends more). */
const CATCH_UP_ROUNDS = 10;

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
    const copy = new Copy(join(this.dataDir, hash), hash, target);
    let recorded = false;
    let release: (() => void) | undefined;
    try {
      // A short WAL first; from then on pod.db stays as copied (no checkpoint under the lock).
      this.owners.checkpoint(hash);
      release = await holdLock(copy.dir, LOCK_WAIT_MS);
      await copy.send('first', () => this.owners.inMainTurn(hash, () => walEnd(copy.dir)));
      // While the owner serves, send what it wrote meanwhile until that is little: the pause sends less.
      for (let round = 0; round < CATCH_UP_ROUNDS && copy.lastPartBytes > CATCH_UP_BYTES; round++)
        await copy.send('part', () => this.owners.inMainTurn(hash, () => walEnd(copy.dir)));
      const paused = performance.now();
      let resume = () => {};
      this.held.set(hash, new Promise((resolve) => (resume = resolve)));
      try {
        await this.drained(hash);
        this.owners.freeze(hash);
        await this.owners.whileIdle(hash, async () => {
          // Recorded first: a crash from here on leaves the owner answered by a 307, never served twice.
          this.owners.moved.record(hash, to);
          recorded = true;
          await copy.send('finish', async () => walEnd(copy.dir));
          await this.owners.dropMoved(hash);
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
      await rm(copy.dir, { recursive: true, force: true });
      return { owner: hash, to, ...copy.sent, pauseMs, totalMs: performance.now() - started };
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

type WalEnd = ReturnType<typeof walEnd>;

/** The parts of one move: what went already (files, how far into the WAL), so each part sends only what is new. */
class Copy {
  private walSent = 0;
  private walHeader: Buffer = Buffer.alloc(0);
  private readonly filesSent = new Set<string>();
  lastPartBytes = 0;
  readonly sent = { files: 0, bytes: 0 };

  constructor(
    readonly dir: string,
    private readonly hash: string,
    private readonly target: Target,
  ) {}

  /** Sends one part; `end` says how far the WAL is committed (read where no write is half done). */
  async send(part: 'first' | 'part' | 'finish', end: () => Promise<WalEnd>) {
    const { size, header } = await end();
    // SQLite started the WAL over (new salts in its header): the target's copy of it starts over too.
    const from = header.equals(this.walHeader.subarray(0, header.length)) && size >= this.walSent ? this.walSent : 0;
    const parts = { database: part === 'first', wal: { from, to: size }, takeLock: false, skipFiles: this.filesSent };
    const { archive, manifest } = packOwner(this.dir, this.hash, parts);
    const route = part === 'first' ? moveRoutes.stage : part === 'part' ? moveRoutes.part : moveRoutes.finish;
    const received = await this.target.send(part === 'first' ? 'PUT' : 'POST', route, archive);
    for (const name of (await manifest).present ?? []) this.filesSent.add(name);
    this.walSent = size;
    this.walHeader = header;
    this.lastPartBytes = received.bytes;
    this.sent.files += received.files;
    this.sent.bytes += received.bytes;
  }
}

/** The target Pod's move routes (protocol's `moveRoutes`); a redirect is never followed with the secret. */
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
    return MoveReceived.parse(JSON.parse(await this.request(method, route, archive)));
  }

  /** Drops what the target staged; a target that cannot be reached keeps it until the owner's next move. */
  async abort(): Promise<void> {
    await this.request('DELETE', moveRoutes.stage).catch(() => {});
  }

  /** The answer's text when it is a 2xx; node:http streams a GiB far faster than fetch with a stream body. */
  private async request(method: string, route: string, body?: Readable): Promise<string> {
    const url = new URL(`${this.url}${route.replace(':ownerHash', this.hash)}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let status: number;
    let text: string;
    try {
      [status, text] = await new Promise<[number, string]>((resolve, reject) => {
        const outgoing = send(url, { method, headers: { authorization: `Bearer ${this.secret}` } }, (response) => {
          let answer = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (answer += chunk));
          response.on('end', () => resolve([response.statusCode ?? 0, answer]));
          response.on('error', reject);
        });
        outgoing.on('error', reject);
        if (body) pipeline(body, outgoing).catch(reject);
        else outgoing.end();
      });
    } catch (error) {
      throw new PodError(
        'badGateway',
        `the target Pod at ${this.url} could not be reached (${(error as Error).message}); nothing moved`,
      );
    }
    if (status >= 200 && status < 300) return text;
    const parsed = ErrorBody.safeParse(safeJson(text));
    const message = parsed.success ? parsed.data.message : text.slice(0, 200);
    throw new PodError('badGateway', `the target Pod refused (${status}): ${message}; nothing moved`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
