/**
 * Plugin credentials: a token per run, live only in this process's memory. It names an open owner
 * database and a grant; it carries no database key, stops working when its run ends, and cannot
 * outlive a restart. Tokens are hex, so they never contain `/` (spec §7).
 *
 * A token is `<process id><random><tag>`: the tag (HMAC-SHA256 under a key kept in the data folder)
 * proves that a Pod on this data folder issued it, and the process id (random at each start) which
 * process did. So after a restart a genuine token of an earlier process gets 421 and the plugin
 * holding it stops (2023 §1.4), while a forged or garbled one gets 401.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodError } from '../errors.js';
import { ownerHash } from '../config.js';
import type { Owner } from '../storage/owners.js';
import type { Grant } from './permissions.js';

interface Credential {
  owner: Owner;
  grant: Grant;
}

/** In the data folder, readable by the Pod's user only. */
export const CREDENTIAL_KEY_FILE = 'plugin-credentials.key';
const KEY_BYTES = 32;
const PROCESS_HEX = 16;
const RANDOM_HEX = 64;
const TAG_HEX = 64;
const TOKEN = new RegExp(`^[0-9a-f]{${PROCESS_HEX + RANDOM_HEX + TAG_HEX}}$`);

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class PluginCredentials {
  /** By SHA-256 of the token: a lookup reveals nothing about other tokens through timing. */
  private readonly active = new Map<string, Credential>();
  private readonly process = randomBytes(PROCESS_HEX / 2).toString('hex');

  /** The data folder's key, read or made at the first credential: a Pod that runs no plugin writes none. */
  private key?: Buffer;

  constructor(private readonly dataDir: string) {}

  /** A new credential; the answer is the value of POD_AUTH_JSON. */
  issue(owner: Owner, grant: Grant): { authJson: string; token: string } {
    this.key ??= credentialKey(this.dataDir, { create: true });
    const body = this.process + randomBytes(RANDOM_HEX / 2).toString('hex');
    const token = body + tag(this.key, body);
    this.active.set(digest(token), { owner, grant });
    return { authJson: JSON.stringify({ data: { token } }), token };
  }

  revoke(token: string) {
    this.active.delete(digest(token));
  }

  /** The owner and grant of a PluginAuth `data`; 421 for a credential of an earlier process, else 401. */
  resolve(ownerKey: string, data: Record<string, unknown>): Credential {
    const token = data.token;
    const credential = typeof token === 'string' ? this.active.get(digest(token)) : undefined;
    if (credential && credential.owner.hash === ownerHash(ownerKey)) return credential;
    if (typeof token === 'string' && this.fromEarlierProcess(token))
      throw new PodError(
        'misdirected',
        'this plugin credential was issued by an earlier process of this Pod, which has restarted; its run has ended, so stop the plugin',
      );
    throw new PodError(
      'unauthorized',
      'invalid plugin auth: this credential was not issued by this Pod, or its run has ended',
    );
  }

  /** Genuine (its tag checks out) but of another process than this one; without a key, no Pod here issued any. */
  private fromEarlierProcess(token: string): boolean {
    if (!TOKEN.test(token) || token.startsWith(this.process)) return false;
    this.key ??= credentialKey(this.dataDir, { create: false });
    if (!this.key) return false;
    const body = token.slice(0, PROCESS_HEX + RANDOM_HEX);
    return timingSafeEqual(Buffer.from(token.slice(body.length), 'hex'), Buffer.from(tag(this.key, body), 'hex'));
  }
}

const tag = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest('hex');

/**
 * The data folder's credential key: read, or made (mode 0600) by the first Pod on the folder that
 * issues a credential. It only proves that a token came from a Pod on this folder; it opens nothing.
 */
function credentialKey(dataDir: string, { create }: { create: true }): Buffer;
function credentialKey(dataDir: string, { create }: { create: false }): Buffer | undefined;
function credentialKey(dataDir: string, { create }: { create: boolean }): Buffer | undefined {
  const file = join(dataDir, CREDENTIAL_KEY_FILE);
  if (!create && !existsSync(file)) return undefined;
  try {
    writeFileSync(file, randomBytes(KEY_BYTES), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = readFileSync(file);
  if (key.length !== KEY_BYTES)
    throw new Error(
      `${file} is not a plugin credential key (${KEY_BYTES} bytes); remove it and the Pod makes a new one`,
    );
  return key;
}
