/**
 * OAuth 2 with PKCE (RFC 6749, RFC 7636) through `oauth4webapi`: the authorize URL with a fresh
 * verifier and state, the code exchange, and refreshing. The Pod keeps no per-log-in state: the
 * caller holds the verifier (and checks the state on its redirect) and gives the verifier back.
 */
import * as oauth from 'oauth4webapi';
import type { OAuth2AuthUrl } from '@pod/protocol';
import type { StoredOAuth2Tokens } from '../storage/store.js';
import type { OAuth2Provider } from './providers.js';
import { PROVIDER_TIMEOUT_MS, providerFailed, unreachable } from './provider-error.js';

/** Who the Pod is to the provider, and how it proves it at the token URL. */
function parties(provider: OAuth2Provider) {
  const server: oauth.AuthorizationServer = {
    issuer: new URL(provider.tokenUrl).origin,
    authorization_endpoint: provider.authorizeUrl,
    token_endpoint: provider.tokenUrl,
  };
  const client: oauth.Client = { client_id: provider.clientId };
  const auth =
    provider.tokenAuth === 'post'
      ? oauth.ClientSecretPost(provider.clientSecret)
      : oauth.ClientSecretBasic(provider.clientSecret);
  // providers.ts lets http through for loopback providers only; each call gets its own deadline.
  const insecure = new URL(provider.tokenUrl).protocol === 'http:';
  const options = () => ({ [oauth.allowInsecureRequests]: insecure, signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  // Blotted out of any provider message: the secret, and the Basic credential it is sent in.
  const secrets = [provider.clientSecret, `${provider.clientId}:${provider.clientSecret}`];
  return { server, client, auth, options, secrets };
}

/** The authorize URL on the configured host: the payload sets only the scope and redirect_uri parameters. */
export async function authUrl(provider: OAuth2Provider, scopes: string | undefined, redirectUri: string) {
  const pkceVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(provider.authorizeUrl);
  const parameters = {
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: redirectUri,
    scope: scopes ?? provider.scopes ?? '',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(pkceVerifier),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  if (!parameters.scope) url.searchParams.delete('scope');
  const answer: OAuth2AuthUrl = { authUrl: url.href, pkceVerifier, state };
  return answer;
}

function stored(tokens: oauth.TokenEndpointResponse, previousRefresh: string | null): StoredOAuth2Tokens {
  return {
    accessToken: tokens.access_token,
    // A provider that does not rotate refresh tokens answers none on a refresh: the old one stays good.
    refreshToken: tokens.refresh_token ?? previousRefresh,
    expiresAt: tokens.expires_in === undefined ? null : Date.now() + tokens.expires_in * 1000,
  };
}

/** The provider's words for a failed token call (`error: error_description`), or why it could not be asked. */
function failure(platform: string, error: unknown, secrets: string[]) {
  if (error instanceof oauth.ResponseBodyError)
    return providerFailed(
      platform,
      `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`,
      secrets,
    );
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError)
    return providerFailed(platform, `unexpected answer from its token URL (${error.message})`, secrets);
  return providerFailed(platform, unreachable(error), secrets);
}

/** Exchanges an authorization code, with the PKCE verifier and the redirect URI it was issued for. */
export async function exchangeCode(
  platform: string,
  provider: OAuth2Provider,
  code: string,
  redirectUri: string,
  verifier: string,
): Promise<StoredOAuth2Tokens> {
  const { server, client, auth, options, secrets } = parties(provider);
  try {
    // The code reaches the Pod from its caller, not as a redirect it could check: state is the caller's to check.
    const callback = oauth.validateAuthResponse(server, client, new URLSearchParams({ code }), oauth.skipStateCheck);
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      client,
      auth,
      callback,
      redirectUri,
      verifier,
      options(),
    );
    return stored(await oauth.processAuthorizationCodeResponse(server, client, response), null);
  } catch (error) {
    throw failure(platform, error, [...secrets, verifier]);
  }
}

/** A new access token for a refresh token. */
export async function refresh(
  platform: string,
  provider: OAuth2Provider,
  refreshToken: string,
): Promise<StoredOAuth2Tokens> {
  const { server, client, auth, options, secrets } = parties(provider);
  try {
    const response = await oauth.refreshTokenGrantRequest(server, client, auth, refreshToken, options());
    return stored(await oauth.processRefreshTokenResponse(server, client, response), refreshToken);
  } catch (error) {
    throw failure(platform, error, [...secrets, refreshToken]);
  }
}
