/**
 * Taking an owner over from another Pod (issue 15 part 3), the target's side. Only a Pod started with a
 * move secret (`--accept-moves-secret-file`) takes moves, and only from a caller that sends the same
 * secret (compared as SHA-256 digests in constant time). The first part is staged in
 * `<data-dir>/.move-<hash>`, unseen by requests; the last part (WAL and newer files) completes it, and
 * one rename puts the owner in place, so the owner is served whole or not at all.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HEX_KEY, type MoveReceived } from '@pod/protocol';
import { PodError } from './errors.js';
import { receiveArchive, type ArchiveManifest } from './owner-archive.js';
import { syncPath } from './storage/durable.js';
import type { OwnerPool } from './storage/owners.js';

export class MoveTarget {
  private readonly secretDigest?: Buffer;
  /** Owners with a part on its way in: one at a time each. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly dataDir: string,
    private readonly owners: OwnerPool,
    secret: string | undefined,
  ) {
    this.secretDigest = secret === undefined ? undefined : digest(secret);
  }

  /** Whether this Pod would take owner `hash` from a caller with this secret; throws the refusal (4xx). */
  check(hash: string, secret: string) {
    if (!this.secretDigest)
      throw new PodError(
        'forbidden',
        'this Pod takes no moves; start it with --accept-moves-secret-file (the secret shared with the source Pod)',
      );
    if (!timingSafeEqual(digest(secret), this.secretDigest))
      throw new PodError(
        'unauthorized',
        'wrong move secret: send the one of --accept-moves-secret-file as Bearer token',
      );
    if (!HEX_KEY.test(hash) || hash !== hash.toLowerCase())
      throw new PodError('invalid', 'the owner in the path is its hash: 64 lowercase hexadecimal characters');
    if (!this.owners.allows(hash))
      throw new PodError('forbidden', 'this owner is not allowed on this Pod (see --owners)');
    if (this.owners.hasData(hash))
      throw new PodError('conflict', 'this owner already has data on this Pod; nothing was changed');
  }

  /** The first part: the database and files as copied while the owner served, staged unseen. */
  stage(hash: string, secret: string, archive: Readable): Promise<MoveReceived> {
    return this.receiving(hash, secret, async () => {
      const staging = this.staging(hash);
      await rm(staging, { recursive: true, force: true });
      try {
        const manifest = await receiveArchive(archive, staging);
        ownersArchive(manifest, hash);
        if (!existsSync(join(staging, 'pod.db')))
          throw new PodError('invalid', 'the first part of a move has no pod.db');
        if ((manifest.walFrom ?? 0) !== 0)
          throw new PodError('invalid', 'the first part of a move starts its WAL at 0');
        return received(manifest);
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw error;
      }
    });
  }

  /** A later part, sent while the owner serves on the source: the WAL from where the last part ended, new files. */
  part(hash: string, secret: string, archive: Readable): Promise<MoveReceived> {
    return this.receiving(hash, secret, () => this.apply(hash, archive));
  }

  /** The last part, sent while the owner's writes are paused; then the owner is put in place and served. */
  finish(hash: string, secret: string, archive: Readable): Promise<MoveReceived> {
    return this.receiving(hash, secret, async () => {
      const staging = this.staging(hash);
      const answer = await this.apply(hash, archive);
      try {
        if (this.owners.hasData(hash)) throw new PodError('conflict', 'this owner already has data on this Pod');
        await rename(staging, join(this.dataDir, hash));
        // durable before the answer: the source deletes its copy once it has it
        await syncPath(this.dataDir);
        this.owners.moved.forget(hash);
        return answer;
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw error;
      }
    });
  }

  /** Adds a later part to the staged owner: its WAL piece at its place, its files; files gone since are dropped. */
  private async apply(hash: string, archive: Readable): Promise<MoveReceived> {
    const staging = this.staging(hash);
    if (!existsSync(join(staging, 'pod.db')))
      throw new PodError('conflict', 'nothing is staged for this owner; send the first part of the move again');
    const rest = `${staging}.part-${randomBytes(6).toString('hex')}`;
    try {
      const manifest = await receiveArchive(archive, rest);
      ownersArchive(manifest, hash);
      const wal = join(staging, 'pod.db-wal');
      const walFrom = manifest.walFrom ?? 0;
      const walHas = statSync(wal, { throwIfNoEntry: false })?.size ?? 0;
      if (walFrom > walHas)
        throw new PodError('conflict', `this part's WAL starts at ${walFrom}, the staged one ends at ${walHas}`);
      if (walFrom === 0) await rm(wal, { force: true });
      else await truncate(wal, walFrom);
      for (const entry of manifest.entries)
        if (entry.path === 'pod.db-wal') {
          await pipeline(createReadStream(join(rest, entry.path)), createWriteStream(wal, { flags: 'a', mode: 0o600 }));
          await syncPath(wal);
        } else await rename(join(rest, entry.path), join(staging, entry.path));
      const present = new Set(manifest.present ?? []);
      for (const name of readdirSync(join(staging, 'files')))
        if (!present.has(name)) await rm(join(staging, 'files', name), { force: true });
      await syncPath(join(staging, 'files'));
      await syncPath(staging);
      return received(manifest);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    } finally {
      await rm(rest, { recursive: true, force: true });
    }
  }

  /** The source gave up: whatever was staged goes. */
  abort(hash: string, secret: string): Promise<void> {
    return this.receiving(hash, secret, () => rm(this.staging(hash), { recursive: true, force: true }));
  }

  private async receiving<T>(hash: string, secret: string, work: () => Promise<T>): Promise<T> {
    this.check(hash, secret);
    if (this.busy.has(hash)) throw new PodError('conflict', 'a part of this owner is being received already');
    this.busy.add(hash);
    try {
      return await work();
    } finally {
      this.busy.delete(hash);
    }
  }

  private staging(hash: string) {
    return join(this.dataDir, `.move-${hash}`);
  }
}

/** A staged move untouched this long was abandoned (its source died or gave up unheard): parts come within minutes. */
export const ABANDONED_STAGING_MS = 60 * 60 * 1000;

/** Removes moves staged here and abandoned (they are whole copies of an owner); returns the folders removed. */
export function dropAbandonedStaging(dataDir: string, now = Date.now()): string[] {
  if (!existsSync(dataDir)) return [];
  const abandoned = readdirSync(dataDir).filter(
    (name) => name.startsWith('.move-') && now - statSync(join(dataDir, name)).mtimeMs > ABANDONED_STAGING_MS,
  );
  for (const name of abandoned) rmSync(join(dataDir, name), { recursive: true, force: true });
  return abandoned;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest();

function ownersArchive(manifest: ArchiveManifest, hash: string) {
  if (manifest.owner !== hash)
    throw new PodError(
      'invalid',
      `the archive is owner ${manifest.owner.slice(0, 16)}…'s, not ${hash.slice(0, 16)}…'s`,
    );
}

const received = (manifest: ArchiveManifest): MoveReceived => ({
  files: manifest.counts.files,
  bytes: manifest.counts.bytes,
});
