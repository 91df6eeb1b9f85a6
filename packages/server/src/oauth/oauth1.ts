/**
 * OAuth 1.0a (RFC 5849) for the Pod's owner and plugins: the request-token and access-token calls,
 * signed with HMAC-SHA1 by `oauth-1.0a` under the consumer secret (and the token secret), and the
 * temporary tokens the Pod issued, remembered per owner for 15 minutes, since the access-token
 * payload names no platform.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { OAuth1Token } from '@pod/protocol';
import { badRequest } from '../errors.js';
import type { OAuth1Provider } from './providers.js';
import { PROVIDER_TIMEOUT_MS, providerFailed, unreachable } from './provider-error.js';

/** How long a temporary token is remembered (spec §7: at most 15 minutes). */
export const OAUTH1_TOKEN_TTL_MS = 15 * 60_000;
/** Temporary tokens remembered per owner; the oldest is forgotten first. */
const MAX_PENDING_PER_OWNER = 100;

/** A POST signed per RFC 5849 §3.4.2; `extra` (oauth_callback, oauth_verifier) goes signed in the header. */
async function signedPost(
  platform: string,
  provider: OAuth1Provider,
  url: string,
  extra: Record<string, string>,
  token?: { key: string; secret: string },
): Promise<OAuth1Token> {
  const oauth = new OAuth({
    consumer: { key: provider.consumerKey, secret: provider.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
  const signed = oauth.authorize({ url, method: 'POST', data: extra }, token);
  const secrets = [provider.consumerSecret, token?.secret ?? ''];
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { ...oauth.toHeader({ ...signed, ...extra }), accept: 'application/x-www-form-urlencoded' },
      redirect: 'manual',
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
    body = await response.text();
  } catch (error) {
    throw providerFailed(platform, unreachable(error), secrets);
  }
  if (!response.ok) throw providerFailed(platform, `HTTP ${response.status}: ${body}`, secrets);
  const fields: Record<string, string> = Object.fromEntries(new URLSearchParams(body));
  const { oauth_token, oauth_token_secret } = fields;
  if (!oauth_token || !oauth_token_secret)
    throw providerFailed(platform, 'its answer has no oauth_token and oauth_token_secret', secrets);
  return { ...fields, oauth_token, oauth_token_secret };
}

/** The temporary credentials for a log-in, after `callbackUrl` (RFC 5849 §2.1; "oob" for none). */
export async function requestToken(platform: string, provider: OAuth1Provider, callbackUrl: string) {
  const token = await signedPost(platform, provider, provider.requestTokenUrl, { oauth_callback: callbackUrl });
  if (token.oauth_callback_confirmed !== 'true')
    throw providerFailed(platform, 'its answer does not confirm the callback (oauth_callback_confirmed)', []);
  return token;
}

/** The token credentials for a temporary token the owner authorized (RFC 5849 §2.3). */
export function accessToken(
  platform: string,
  provider: OAuth1Provider,
  temporary: { key: string; secret: string },
  verifier: string,
) {
  return signedPost(platform, provider, provider.accessTokenUrl, { oauth_verifier: verifier }, temporary);
}

interface Pending {
  platform: string;
  secret: string;
  expires: number;
}

const sameText = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** The temporary tokens this Pod obtained, per owner: which platform each is for, and its secret. */
export class PendingOAuth1Tokens {
  private readonly byOwner = new Map<string, Map<string, Pending>>();

  constructor(private readonly now: () => number = Date.now) {}

  remember(owner: string, platform: string, token: OAuth1Token) {
    const pending = this.byOwner.get(owner) ?? new Map<string, Pending>();
    this.byOwner.set(owner, pending);
    this.prune(pending);
    if (pending.size >= MAX_PENDING_PER_OWNER) pending.delete(pending.keys().next().value as string);
    const expires = this.now() + OAUTH1_TOKEN_TTL_MS;
    pending.set(token.oauth_token, { platform, secret: token.oauth_token_secret, expires });
  }

  /** The platform of a token this Pod issued to `owner` in the last 15 minutes, with its secret; else 400. */
  platformOf(owner: string, token: string, secret: string): string {
    const pending = this.byOwner.get(owner);
    if (pending) this.prune(pending);
    const found = pending?.get(token);
    if (!found || !sameText(found.secret, secret))
      throw badRequest(
        'unknown oauthToken: it is not a temporary token this Pod issued to this owner in the last 15 minutes ' +
          '(or its oauthTokenSecret differs); start again with oauth1_request_token',
      );
    return found.platform;
  }

  /** A temporary token is used once. */
  forget(owner: string, token: string) {
    const pending = this.byOwner.get(owner);
    pending?.delete(token);
    if (pending?.size === 0) this.byOwner.delete(owner);
  }

  private prune(pending: Map<string, Pending>) {
    const now = this.now();
    for (const [token, { expires }] of pending) if (expires <= now) pending.delete(token);
  }
}
