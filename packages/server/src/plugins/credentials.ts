/**
 * Plugin credentials: a random token per run, held only in this process's memory. It names an
 * open owner database and a grant; it carries no database key, stops working when its run ends,
 * and cannot outlive a restart. Tokens are hex, so they never contain `/` (spec §7).
 */
import { createHash, randomBytes } from 'node:crypto';
import { PodError } from '../errors.js';
import { ownerHash } from '../config.js';
import type { Owner } from '../storage/owners.js';
import type { Grant } from './permissions.js';

interface Credential {
  owner: Owner;
  grant: Grant;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class PluginCredentials {
  /** By SHA-256 of the token: a lookup reveals nothing about other tokens through timing. */
  private readonly active = new Map<string, Credential>();

  /** A new credential; the answer is the value of POD_AUTH_JSON. */
  issue(owner: Owner, grant: Grant): { authJson: string; token: string } {
    const token = randomBytes(32).toString('hex');
    this.active.set(digest(token), { owner, grant });
    return { authJson: JSON.stringify({ data: { token } }), token };
  }

  revoke(token: string) {
    this.active.delete(digest(token));
  }

  /** The owner and grant of a PluginAuth `data`, or 401. */
  resolve(ownerKey: string, data: Record<string, unknown>): Credential {
    const token = data.token;
    const credential = typeof token === 'string' ? this.active.get(digest(token)) : undefined;
    if (!credential || credential.owner.hash !== ownerHash(ownerKey))
      throw new PodError(
        'unauthorized',
        'invalid plugin auth: this credential was not issued by this Pod, or its run has ended',
      );
    return credential;
  }
}
