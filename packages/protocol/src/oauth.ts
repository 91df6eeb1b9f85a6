/**
 * The OAuth routes of the 2023 API (spec §7): the Pod performs the exchanges with a provider the
 * operator configured, so a provider's client secret never leaves it. Declared in `endpoints`.
 */
import { z } from 'zod';
const text = (name: string) => z.string(`${name} must be a string`).min(1, `${name} must not be empty`);
/** A platform's name as the operator configured it (`twitter`, `gitlab`, …). */
const Platform = text('platform');
/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
export const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** `oauth1_request_token` (and the superseded `oauth`): `callbackUrl` is sent as `oauth_callback` ("oob" for none). */
export const OAuth1RequestTokenQuery = z.object({ service: text('service'), callbackUrl: text('callbackUrl') });
/** The platform is the one the Pod remembered for `oauthToken` when it issued it. */
export const OAuth1AccessTokenQuery = z.object({
  oauthToken: text('oauthToken'),
  oauthTokenSecret: text('oauthTokenSecret'),
  oauthVerifier: text('oauthVerifier'),
});
/** `scopes` is passed on as the `scope` parameter as given (default: the platform's configured scopes). */
export const OAuth2AuthUrlQuery = z.object({
  platform: Platform,
  scopes: z.string('scopes must be a string').optional(),
  redirectUri: text('redirectUri'),
});
export const OAuth2AuthorizeQuery = z.object({
  platform: Platform,
  authCode: text('authCode'),
  redirectUri: text('redirectUri'),
  pkceVerifier: z
    .string('pkceVerifier must be a string')
    .regex(PKCE_VERIFIER, 'pkceVerifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (the one auth_url gave)'),
});
export const OAuth2AccessTokenQuery = z.object({ platform: Platform });

/** A provider's token and secret [pinned keys], plus whatever else it answered (e.g. `user_id`). */
export type OAuth1Token = { oauth_token: string; oauth_token_secret: string } & Record<string, string>;
/** Where to send the owner, and the PKCE verifier to give back to `oauth2/authorize`; `state` is in the URL. */
export interface OAuth2AuthUrl {
  authUrl: string;
  pkceVerifier: string;
  state: string;
}
/**
 * `accessToken` [pinned]; `expiresAt` (ms since the epoch) when the provider said, else null.
 * The refresh token stays in the Pod, which refreshes for its callers.
 */
export interface OAuth2AccessToken {
  accessToken: string;
  expiresAt: number | null;
}
