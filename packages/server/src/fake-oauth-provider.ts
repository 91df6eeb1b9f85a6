/**
 * A fake OAuth provider for tests, on loopback (no internet): OAuth 1.0a request-token and
 * access-token URLs that verify each HMAC-SHA1 signature on their own (RFC 5849 §3.4, written
 * here from the RFC, not with the Pod's library), and an OAuth 2 token URL that checks the
 * client's credentials, the code's redirect URI and its PKCE verifier (RFC 7636 S256). The test
 * plays the owner at the authorize URL with `approve`. Everything it received is kept in `seen`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProvidersFile } from './oauth/providers.js';

/** RFC 3986 percent-encoding as RFC 5849 §3.6 wants it: everything but unreserved characters. */
export const rfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** RFC 5849 §3.4.2: HMAC-SHA1 of the signature base string under `consumerSecret&tokenSecret`, base64. */
export function oauth1Signature(
  method: string,
  url: string,
  parameters: [string, string][],
  consumerSecret: string,
  tokenSecret = '',
): string {
  const base = new URL(url);
  const baseUri = `${base.protocol}//${base.host}${base.pathname}`;
  const all: [string, string][] = [...parameters, ...base.searchParams.entries()];
  const normalized = all
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const text = [method.toUpperCase(), rfc3986(baseUri), rfc3986(normalized)].join('&');
  return createHmac('sha1', `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`)
    .update(text)
    .digest('base64');
}

/** The parameters of an `Authorization: OAuth k="v", …` header, decoded (RFC 5849 §3.5.1). */
export function oauthHeader(header: string | undefined): Map<string, string> {
  const fields = new Map<string, string>();
  if (!header?.startsWith('OAuth ')) return fields;
  for (const match of header.slice(6).matchAll(/([A-Za-z0-9_%.~-]+)="([^"]*)"/g))
    fields.set(decodeURIComponent(match[1] ?? ''), decodeURIComponent(match[2] ?? ''));
  return fields;
}

const token = () => randomBytes(12).toString('hex');
export const base64url = (bytes: Buffer) => bytes.toString('base64url');

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
  /** OAuth 1 calls: whether the signature verified against the consumer secret (and token secret). */
  signatureValid?: boolean;
}

export interface FakeOAuthProvider {
  url: string;
  /** Secrets the Pod is configured with and must never show. */
  readonly consumerSecret: string;
  readonly clientSecret: string;
  readonly seen: SeenRequest[];
  /** The owner authorizes at the provider: answers the OAuth 1 verifier for a temporary token. */
  verifierFor(temporaryToken: string): string;
  /** The owner approves an OAuth 2 authorize URL: answers the code the provider redirects with. */
  approve(authUrl: string): string;
  /** `expires_in` of the next OAuth 2 tokens (seconds). */
  expiresIn: number;
  /** Whether the token URL hands out refresh tokens. */
  refreshTokens: boolean;
  /** Set: every token call fails with this `error_description` (which may quote secrets, to test scrubbing). */
  failWith?: (request: SeenRequest) => string;
  /** `providers` entries for the Pod: platform names → this provider's URLs and credentials. */
  config(oauth1Platform: string, oauth2Platform: string, tokenAuth?: 'basic' | 'post'): ProvidersFile;
  close(): Promise<void>;
}

export async function startFakeOAuthProvider(): Promise<FakeOAuthProvider> {
  const consumerKey = `ck-${token()}`;
  const consumerSecret = `cs-${token()}`;
  const clientId = `client-${token()}`;
  const clientSecret = `secret-${token()}`;
  const seen: SeenRequest[] = [];
  /** OAuth 1 temporary tokens: secret and, once the owner authorized, verifier. */
  const temporary = new Map<string, { secret: string; verifier?: string }>();
  /** OAuth 2 codes issued at `approve`: the challenge and redirect URI they are bound to. */
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refreshes = new Set<string>();

  const verifySignature = (request: SeenRequest, url: string, tokenSecret?: string) => {
    const header = oauthHeader(request.headers.authorization);
    const signature = header.get('oauth_signature');
    const parameters = [...header].filter(([name]) => name !== 'oauth_signature' && name !== 'realm');
    parameters.push(...Object.entries(request.form));
    request.signatureValid =
      header.get('oauth_consumer_key') === consumerKey &&
      header.get('oauth_signature_method') === 'HMAC-SHA1' &&
      signature === oauth1Signature('POST', url, parameters, consumerSecret, tokenSecret);
    return header;
  };

  const reply = (response: ServerResponse, status: number, type: string, body: string) =>
    response.writeHead(status, { 'content-type': type }).end(body);
  const form = (response: ServerResponse, status: number, fields: Record<string, string>) =>
    reply(response, status, 'application/x-www-form-urlencoded', new URLSearchParams(fields).toString());
  const json = (response: ServerResponse, status: number, body: unknown) =>
    reply(response, status, 'application/json', JSON.stringify(body));
  const oauth2Error = (response: ServerResponse, error: string, description: string) =>
    json(response, 400, { error, error_description: description });

  const issueTokens = (response: ServerResponse) => {
    const refreshToken = provider.refreshTokens ? `refresh-${token()}` : undefined;
    if (refreshToken) refreshes.add(refreshToken);
    json(response, 200, {
      access_token: `access-${token()}`,
      token_type: 'Bearer',
      expires_in: provider.expiresIn,
      ...(refreshToken && { refresh_token: refreshToken }),
    });
  };

  const clientAuthenticated = (request: SeenRequest) => {
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
      return id === clientId && secret === clientSecret;
    }
    return request.form.client_id === clientId && request.form.client_secret === clientSecret;
  };

  const handle = (request: SeenRequest, response: ServerResponse) => {
    const here = `${provider.url}${request.path}`;
    if (provider.failWith && request.path !== '/oauth2/authorize')
      return oauth2Error(response, 'invalid_request', provider.failWith(request));
    switch (request.path) {
      case '/oauth1/request_token': {
        const header = verifySignature(request, here);
        if (!request.signatureValid || !header.get('oauth_callback'))
          return form(response, 401, { error: 'signature_invalid' });
        const key = `temp-${token()}`;
        const secret = `temp-secret-${token()}`;
        temporary.set(key, { secret });
        return form(response, 200, { oauth_token: key, oauth_token_secret: secret, oauth_callback_confirmed: 'true' });
      }
      case '/oauth1/access_token': {
        const key = oauthHeader(request.headers.authorization).get('oauth_token') ?? '';
        const pending = temporary.get(key);
        const header = verifySignature(request, here, pending?.secret ?? '');
        if (!pending || !request.signatureValid) return form(response, 401, { error: 'signature_invalid' });
        if (!pending.verifier || header.get('oauth_verifier') !== pending.verifier)
          return form(response, 401, { error: 'verifier_invalid' });
        temporary.delete(key);
        return form(response, 200, {
          oauth_token: `token-${token()}`,
          oauth_token_secret: `token-secret-${token()}`,
          user_id: '4242',
          screen_name: 'owner',
        });
      }
      case '/oauth2/token': {
        if (!clientAuthenticated(request)) return json(response, 401, { error: 'invalid_client' });
        const { grant_type, code, redirect_uri, code_verifier, refresh_token } = request.form;
        if (grant_type === 'authorization_code') {
          const issued = codes.get(code ?? '');
          if (!issued) return oauth2Error(response, 'invalid_grant', 'unknown code');
          if (issued.redirectUri !== redirect_uri)
            return oauth2Error(response, 'invalid_grant', 'redirect_uri differs');
          const challenge = base64url(
            createHash('sha256')
              .update(code_verifier ?? '')
              .digest(),
          );
          if (challenge !== issued.challenge) return oauth2Error(response, 'invalid_grant', 'PKCE verification failed');
          codes.delete(code ?? '');
          return issueTokens(response);
        }
        if (grant_type === 'refresh_token') {
          if (!refreshes.delete(refresh_token ?? '')) return oauth2Error(response, 'invalid_grant', 'unknown refresh');
          return issueTokens(response);
        }
        return oauth2Error(response, 'unsupported_grant_type', String(grant_type));
      }
      default:
        return json(response, 404, { error: 'not_found' });
    }
  };

  const server = createServer((incoming, response) => {
    let body = '';
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => (body += chunk));
    incoming.on('end', () => {
      const request: SeenRequest = {
        path: new URL(incoming.url ?? '/', 'http://x').pathname,
        headers: incoming.headers,
        form: Object.fromEntries(new URLSearchParams(body)),
      };
      seen.push(request);
      handle(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const provider: FakeOAuthProvider = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    consumerSecret,
    clientSecret,
    seen,
    expiresIn: 3600,
    refreshTokens: true,
    verifierFor(temporaryToken) {
      const pending = temporary.get(temporaryToken);
      if (!pending) throw new Error(`the provider never issued ${temporaryToken}`);
      pending.verifier = `verifier-${token()}`;
      return pending.verifier;
    },
    approve(authUrl) {
      const parameters = new URL(authUrl).searchParams;
      if (parameters.get('client_id') !== clientId) throw new Error('authorize URL: wrong client_id');
      if (parameters.get('code_challenge_method') !== 'S256') throw new Error('authorize URL: not S256');
      const code = `code-${token()}`;
      codes.set(code, {
        challenge: parameters.get('code_challenge') ?? '',
        redirectUri: parameters.get('redirect_uri') ?? '',
      });
      return code;
    },
    config(oauth1Platform, oauth2Platform, tokenAuth = 'basic') {
      return {
        [oauth1Platform]: {
          type: 'oauth1',
          consumerKey,
          consumerSecret,
          requestTokenUrl: `${this.url}/oauth1/request_token`,
          accessTokenUrl: `${this.url}/oauth1/access_token`,
          authorizeUrl: `${this.url}/oauth1/authorize`,
        },
        [oauth2Platform]: {
          type: 'oauth2',
          clientId,
          clientSecret,
          authorizeUrl: `${this.url}/oauth2/authorize?prompt=consent`,
          tokenUrl: `${this.url}/oauth2/token`,
          scopes: 'read_user',
          tokenAuth,
        },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return provider;
}
