/**
 * The Pod's side of spec §7: each OAuth route's work, against the provider the operator configured
 * for the platform. Plugins reach it only within their grant (`Grant.checkOAuth`); the app's
 * secret stays here. OAuth 2 tokens are kept in the owner's encrypted database (`oauth2_tokens`).
 */
import type { OAuth1Token, OAuth2AccessToken, ParsedPayload } from '@pod/protocol';
import { PodError, badRequest, notFound } from '../errors.js';
import type { Grant } from '../plugins/permissions.js';
import type { Owner } from '../storage/owners.js';
import type { StoredOAuth2Tokens } from '../storage/store.js';
import { PendingOAuth1Tokens, accessToken, requestToken } from './oauth1.js';
import { authUrl, exchangeCode, refresh } from './oauth2.js';
import type { OAuthProvider, OAuthProviders } from './providers.js';
import { scrub } from './provider-error.js';

/** A stored token that expires sooner than this is refreshed first, so the caller gets one it can use. */
export const EXPIRY_MARGIN_MS = 60_000;

const q = (text: string) => JSON.stringify(text);
const answerOf = ({ accessToken, expiresAt }: StoredOAuth2Tokens): OAuth2AccessToken => ({ accessToken, expiresAt });

export class OAuthBroker {
  private readonly pending = new PendingOAuth1Tokens();
  /** One refresh at a time per owner and platform: a provider that rotates refresh tokens takes each once. */
  private readonly refreshing = new Map<string, Promise<StoredOAuth2Tokens>>();

  /** Every configured secret: a provider's message loses any of them, not only its own platform's. */
  private readonly secrets: string[];

  constructor(private readonly providers: OAuthProviders) {
    this.secrets = [...providers.values()].map((p) => (p.type === 'oauth1' ? p.consumerSecret : p.clientSecret));
  }

  private async scrubbed<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof PodError && error.kind === 'badGateway')
        throw new PodError('badGateway', scrub(error.message, this.secrets));
      throw error;
    }
  }

  private provider<T extends OAuthProvider['type']>(platform: string, type: T): Extract<OAuthProvider, { type: T }> {
    const provider = this.providers.get(platform);
    if (!provider)
      throw badRequest(
        `unknown platform ${q(platform)}: this Pod has no OAuth provider configured under that name` +
          (this.providers.size > 0 ? ` (it has ${[...this.providers.keys()].map(q).join(', ')})` : ' (none at all)'),
      );
    if (provider.type !== type) {
      const use = provider.type === 'oauth1' ? 'OAuth 1.0a: use oauth1_request_token' : 'OAuth 2: use oauth2/auth_url';
      throw badRequest(`platform ${q(platform)} is configured for ${use}`);
    }
    return provider as Extract<OAuthProvider, { type: T }>;
  }

  async requestToken(owner: Owner, { service, callbackUrl }: ParsedPayload<'oauth1_request_token'>) {
    const token = await this.scrubbed(requestToken(service, this.provider(service, 'oauth1'), callbackUrl));
    this.pending.remember(owner.hash, service, token);
    return token;
  }

  /** The platform is the one its temporary token was issued for; a plugin must hold that platform too. */
  async accessToken(owner: Owner, grant: Grant | undefined, payload: ParsedPayload<'oauth1_access_token'>) {
    const { oauthToken, oauthTokenSecret, oauthVerifier } = payload;
    const platform = this.pending.platformOf(owner.hash, oauthToken, oauthTokenSecret);
    grant?.checkOAuth(platform);
    const temporary = { key: oauthToken, secret: oauthTokenSecret };
    const provider = this.provider(platform, 'oauth1');
    const token: OAuth1Token = await this.scrubbed(accessToken(platform, provider, temporary, oauthVerifier));
    this.pending.forget(owner.hash, oauthToken);
    return token;
  }

  authUrl({ platform, scopes, redirectUri }: ParsedPayload<'oauth2/auth_url'>) {
    return authUrl(this.provider(platform, 'oauth2'), scopes, redirectUri);
  }

  async authorize(owner: Owner, payload: ParsedPayload<'oauth2/authorize'>) {
    const { platform, authCode, redirectUri, pkceVerifier } = payload;
    const provider = this.provider(platform, 'oauth2');
    const tokens = await this.scrubbed(exchangeCode(platform, provider, authCode, redirectUri, pkceVerifier));
    await owner.store.withMain(() => owner.store.saveOAuth2Tokens(platform, tokens));
    return answerOf(tokens);
  }

  /** The stored token, refreshed first when it has expired (or is about to) and a refresh token is kept. */
  async currentToken(owner: Owner, { platform }: ParsedPayload<'oauth2/access_token'>) {
    const provider = this.provider(platform, 'oauth2');
    const tokens = await owner.store.withMain(() => owner.store.oauth2Tokens(platform));
    if (!tokens)
      throw notFound(`no OAuth 2 token is stored for ${q(platform)}; log in with oauth2/auth_url and oauth2/authorize`);
    if (tokens.expiresAt === null || tokens.expiresAt > Date.now() + EXPIRY_MARGIN_MS) return answerOf(tokens);
    const { refreshToken } = tokens;
    if (!refreshToken)
      throw notFound(
        `the OAuth 2 token stored for ${q(platform)} has expired and the provider gave no refresh token; ` +
          'log in again with oauth2/auth_url and oauth2/authorize',
      );
    const key = `${owner.hash}\0${platform}`;
    let turn = this.refreshing.get(key);
    if (!turn) {
      turn = this.scrubbed(refresh(platform, provider, refreshToken))
        .then(async (fresh) => {
          await owner.store.withMain(() => owner.store.saveOAuth2Tokens(platform, fresh));
          return fresh;
        })
        .finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, turn);
    }
    return answerOf(await turn);
  }
}
