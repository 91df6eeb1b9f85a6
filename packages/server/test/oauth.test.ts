/**
 * Spec §7: the Pod performs OAuth 1.0a and OAuth 2 + PKCE exchanges against a provider configured
 * by the operator. Every route runs over HTTP against a fake provider on loopback
 * (src/fake-oauth-provider.ts) that checks the signatures, the PKCE verifier and the client's
 * credentials on its own.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startFakeOAuthProvider, type FakeOAuthProvider } from '../src/fake-oauth-provider.js';
import { OAUTH1_TOKEN_TTL_MS, PendingOAuth1Tokens } from '../src/oauth/oauth1.js';
import { parseProviders } from '../src/oauth/providers.js';
import { freePort, Owner, startPod, usePod, walkFiles, type RunningPod } from './helpers.js';

const REDIRECT = 'https://app.example.org/oauth/callback';

describe('OAuth through the Pod', () => {
  let provider: FakeOAuthProvider;
  let pod: RunningPod;
  let owner: Owner;

  before(async () => {
    provider = await startFakeOAuthProvider();
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const providers = {
      ...provider.config('twitter', 'gitlab'),
      ...provider.config('twitter-post', 'gitlab-post', 'post'),
      offline: { type: 'oauth2', clientId: 'c', clientSecret: 's', authorizeUrl: unreachable, tokenUrl: unreachable },
    };
    pod = await startPod({ oauth: parseProviders(providers, {}) });
    owner = new Owner(pod.url);
  });
  after(async () => {
    await pod.close();
    await provider.close();
  });

  /** The owner logs in to an OAuth 2 platform through the Pod: auth_url, approve at the provider, authorize. */
  async function logIn2(platform = 'gitlab', who = owner) {
    const { authUrl, pkceVerifier } = await who.ok('oauth2/auth_url', {
      platform,
      scopes: 'api',
      redirectUri: REDIRECT,
    });
    const authCode = provider.approve(authUrl);
    return who.ok('oauth2/authorize', { platform, authCode, redirectUri: REDIRECT, pkceVerifier });
  }

  test('oauth2/auth_url: the authorize URL carries the PKCE challenge of the verifier it answers', async () => {
    const answer = await owner.ok('oauth2/auth_url', {
      platform: 'gitlab',
      scopes: 'api read_user',
      redirectUri: REDIRECT,
    });
    assert.match(answer.pkceVerifier, /^[A-Za-z0-9._~-]{43,128}$/);
    const url = new URL(answer.authUrl);
    assert.equal(`${url.origin}${url.pathname}`, `${provider.url}/oauth2/authorize`);
    const p = url.searchParams;
    assert.equal(p.get('prompt'), 'consent', "the configured URL's own parameters stay");
    assert.equal(p.get('response_type'), 'code');
    assert.match(p.get('client_id') ?? '', /^client-/);
    assert.equal(p.get('redirect_uri'), REDIRECT);
    assert.equal(p.get('scope'), 'api read_user');
    assert.ok((p.get('state') ?? '').length >= 20, 'a random state');
    assert.equal(p.get('state'), answer.state);
    assert.equal(p.get('code_challenge_method'), 'S256');
    const expected = createHash('sha256').update(answer.pkceVerifier).digest('base64url');
    assert.equal(p.get('code_challenge'), expected, 'code_challenge = BASE64URL(SHA-256(verifier))');
    const other = await owner.ok('oauth2/auth_url', { platform: 'gitlab', redirectUri: REDIRECT });
    assert.notEqual(other.pkceVerifier, answer.pkceVerifier, 'a fresh verifier each time');
    assert.equal(new URL(other.authUrl).searchParams.get('scope'), 'read_user', 'no scopes: the configured ones');
  });

  test('oauth2/authorize exchanges the code with code_verifier, redirect URI and client credentials', async () => {
    const from = provider.seen.length;
    const { accessToken, expiresAt } = await logIn2();
    assert.match(accessToken, /^access-/);
    assert.ok(expiresAt > Date.now() + 3_000_000 && expiresAt <= Date.now() + 3_600_000);
    const exchange = provider.seen.slice(from).find((r) => r.path === '/oauth2/token');
    assert.ok(exchange);
    assert.equal(exchange.form.grant_type, 'authorization_code');
    assert.equal(exchange.form.redirect_uri, REDIRECT);
    assert.match(exchange.form.code_verifier ?? '', /^[A-Za-z0-9._~-]{43,128}$/);
    assert.match(exchange.headers.authorization ?? '', /^Basic /, 'client credentials by HTTP Basic (the default)');
    assert.equal(exchange.form.client_secret, undefined);
    // tokenAuth "post": the credentials as form fields instead
    await logIn2('gitlab-post');
    const posted = provider.seen.at(-1);
    assert.equal(posted?.form.client_secret, provider.clientSecret);
    assert.equal(posted?.headers.authorization, undefined);
  });

  test('oauth2/access_token returns the stored token, and refreshes it once it has expired', async () => {
    const stranger = new Owner(pod.url);
    await stranger.fails('oauth2/access_token', { platform: 'gitlab' }, 404);
    const { accessToken } = await logIn2('gitlab', stranger);
    let calls = provider.seen.length;
    assert.equal((await stranger.ok('oauth2/access_token', { platform: 'gitlab' })).accessToken, accessToken);
    assert.equal(provider.seen.length, calls, 'a valid token is answered without asking the provider');

    provider.expiresIn = 5; // within the Pod's margin: counts as expired
    try {
      const short = await logIn2('gitlab', stranger);
      const refreshed = await stranger.ok('oauth2/access_token', { platform: 'gitlab' });
      const refreshCall = provider.seen.at(-1);
      assert.equal(refreshCall?.path, '/oauth2/token');
      assert.equal(refreshCall?.form.grant_type, 'refresh_token');
      assert.match(refreshCall?.form.refresh_token ?? '', /^refresh-/);
      assert.notEqual(refreshed.accessToken, short.accessToken, 'a new token after the refresh');
      provider.expiresIn = 3600;
      // The refreshed token (expiring in 5 s again) is refreshed once more, with the rotated refresh token.
      const again = await stranger.ok('oauth2/access_token', { platform: 'gitlab' });
      assert.notEqual(again.accessToken, refreshed.accessToken);
      calls = provider.seen.length;
      assert.equal((await stranger.ok('oauth2/access_token', { platform: 'gitlab' })).accessToken, again.accessToken);
      assert.equal(provider.seen.length, calls);
    } finally {
      provider.expiresIn = 3600;
    }
  });

  test('callers asking at once for an expired token share one refresh', async () => {
    const busy = new Owner(pod.url);
    provider.expiresIn = 5;
    try {
      await logIn2('gitlab', busy);
      provider.expiresIn = 3600;
      const from = provider.seen.length;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => busy.ok('oauth2/access_token', { platform: 'gitlab' })),
      );
      assert.equal(new Set(answers.map((a) => a.accessToken)).size, 1, 'all got the same fresh token');
      const refreshes = provider.seen.slice(from).filter((r) => r.form.grant_type === 'refresh_token');
      assert.equal(refreshes.length, 1, 'a rotated refresh token is used once');
    } finally {
      provider.expiresIn = 3600;
    }
  });

  test('an expired token without a refresh token answers 404 saying to log in again', async () => {
    const someone = new Owner(pod.url);
    provider.expiresIn = 1;
    provider.refreshTokens = false;
    try {
      await logIn2('gitlab', someone);
      const r = await someone.fails('oauth2/access_token', { platform: 'gitlab' }, 404);
      assert.match(r.body.message, /expired.*log in again/);
    } finally {
      provider.expiresIn = 3600;
      provider.refreshTokens = true;
    }
  });

  test('tokens are kept per owner and platform in the encrypted database, never as items', async () => {
    const keeper = new Owner(pod.url);
    const { accessToken } = await logIn2('gitlab', keeper);
    await keeper.fails('oauth2/access_token', { platform: 'gitlab-post' }, 404);
    await new Owner(pod.url).fails('oauth2/access_token', { platform: 'gitlab' }, 404);
    const items = await keeper.ok('search', {});
    assert.ok(!JSON.stringify(items).includes(accessToken), 'no item holds the token');
    for (const file of walkFiles(pod.dataDir))
      assert.ok(!readFileSync(file).includes(accessToken), `${file} holds the token in clear`);
  });

  test('a provider that refuses answers 502 with its message; one that cannot be reached, 502', async () => {
    const { authUrl } = await owner.ok('oauth2/auth_url', { platform: 'gitlab', redirectUri: REDIRECT });
    const authCode = provider.approve(authUrl);
    const wrongVerifier = 'x'.repeat(43);
    const r = await owner.fails(
      'oauth2/authorize',
      { platform: 'gitlab', authCode, redirectUri: REDIRECT, pkceVerifier: wrongVerifier },
      502,
    );
    assert.match(r.body.message, /invalid_grant: PKCE verification failed/);
    const offline = await owner.fails(
      'oauth2/authorize',
      { platform: 'offline', authCode: 'c', redirectUri: REDIRECT, pkceVerifier: wrongVerifier },
      502,
    );
    assert.match(offline.body.message, /"offline".*cannot be reached/);
  });

  test('OAuth 1.0a: signed request token and access token; the provider verifies both signatures', async () => {
    const callbackUrl = 'https://app.example.org/oauth1/callback?x=1';
    for (const endpoint of ['oauth1_request_token', 'oauth']) {
      const from = provider.seen.length;
      const temporary = await owner.ok(endpoint, { service: 'twitter', callbackUrl });
      assert.match(temporary.oauth_token, /^temp-/);
      assert.match(temporary.oauth_token_secret, /^temp-secret-/);
      const requestCall = provider.seen[from];
      assert.equal(requestCall?.signatureValid, true, 'HMAC-SHA1 under the consumer secret verifies');
      assert.match(requestCall?.headers.authorization ?? '', /oauth_callback="https%3A%2F%2Fapp.example.org/);

      const oauthVerifier = provider.verifierFor(temporary.oauth_token);
      const token = await owner.ok('oauth1_access_token', {
        oauthToken: temporary.oauth_token,
        oauthTokenSecret: temporary.oauth_token_secret,
        oauthVerifier,
      });
      const accessCall = provider.seen.at(-1);
      assert.equal(accessCall?.signatureValid, true, 'HMAC-SHA1 under the consumer and token secrets verifies');
      assert.match(token.oauth_token, /^token-/);
      assert.match(token.oauth_token_secret, /^token-secret-/);
      assert.equal(token.user_id, '4242', "the provider's other fields come along");
    }
  });

  test('OAuth 1.0a: a token the Pod never issued, or issued to another owner, or used once, is refused', async () => {
    const fields = { oauthTokenSecret: 's', oauthVerifier: 'v' };
    const forged = await owner.fails('oauth1_access_token', { oauthToken: 'temp-forged', ...fields }, 400);
    assert.match(forged.body.message, /unknown oauthToken/);
    const temporary = await owner.ok('oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' });
    const payload = {
      oauthToken: temporary.oauth_token,
      oauthTokenSecret: temporary.oauth_token_secret,
      oauthVerifier: provider.verifierFor(temporary.oauth_token),
    };
    await new Owner(pod.url).fails('oauth1_access_token', payload, 400);
    await owner.fails('oauth1_access_token', { ...payload, oauthTokenSecret: 'not-its-secret' }, 400);
    const calls = provider.seen.length;
    await owner.ok('oauth1_access_token', payload);
    assert.equal(provider.seen.length, calls + 1, 'refusals never reached the provider');
    await owner.fails('oauth1_access_token', payload, 400);
  });

  test('a temporary token is remembered for 15 minutes', () => {
    let now = 1_000_000;
    const pending = new PendingOAuth1Tokens(() => now);
    pending.remember('owner', 'twitter', { oauth_token: 't', oauth_token_secret: 's' });
    now += OAUTH1_TOKEN_TTL_MS - 1;
    assert.equal(pending.platformOf('owner', 't', 's'), 'twitter');
    assert.throws(() => pending.platformOf('other', 't', 's'), /unknown oauthToken/);
    now += 1;
    assert.throws(() => pending.platformOf('owner', 't', 's'), /unknown oauthToken/);
  });

  test('an unconfigured platform answers 400 unknown platform; the wrong kind says which routes to use', async () => {
    const calls: [string, object][] = [
      ['oauth', { service: 'nope', callbackUrl: 'oob' }],
      ['oauth1_request_token', { service: 'nope', callbackUrl: 'oob' }],
      ['oauth2/auth_url', { platform: 'nope', redirectUri: REDIRECT }],
      ['oauth2/authorize', { platform: 'nope', authCode: 'c', redirectUri: REDIRECT, pkceVerifier: 'v'.repeat(43) }],
      ['oauth2/access_token', { platform: 'nope' }],
      ['oauth2/access_token', { platform: '__proto__' }],
      ['oauth2/access_token', { platform: 'constructor' }],
    ];
    for (const [endpoint, payload] of calls) {
      const r = await owner.fails(endpoint, payload, 400);
      assert.match(r.body.message, /unknown platform/);
    }
    const wrongKind = await owner.fails('oauth2/auth_url', { platform: 'twitter', redirectUri: REDIRECT }, 400);
    assert.match(wrongKind.body.message, /OAuth 1\.0a: use oauth1_request_token/);
    const bad = await owner.fails(
      'oauth2/authorize',
      { platform: 'gitlab', authCode: 'c', redirectUri: REDIRECT, pkceVerifier: 'short' },
      400,
    );
    assert.match(bad.body.message, /pkceVerifier must be 43 to 128/);
  });
});

describe('a Pod without OAuth providers', () => {
  const pod = usePod();
  test('answers 400 on every OAuth route', async () => {
    const owner = new Owner(pod().url);
    const r = await owner.fails('oauth2/access_token', { platform: 'gitlab' }, 400);
    assert.match(r.body.message, /unknown platform "gitlab".*none at all/);
    await owner.fails('oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' }, 400);
    await owner.fails('oauth1_access_token', { oauthToken: 't', oauthTokenSecret: 's', oauthVerifier: 'v' }, 400);
  });
});

describe('providers configuration', () => {
  const entry = {
    type: 'oauth2',
    clientId: 'id',
    authorizeUrl: 'https://p.example/a',
    tokenUrl: 'https://p.example/t',
  };
  test('a secret comes from the file or from the environment variable it names', () => {
    const fromEnv = parseProviders({ gitlab: { ...entry, clientSecret: { env: 'GL_SECRET' } } }, { GL_SECRET: 'xyz' });
    assert.equal((fromEnv.get('gitlab') as { clientSecret: string }).clientSecret, 'xyz');
    assert.throws(
      () => parseProviders({ gitlab: { ...entry, clientSecret: { env: 'GL_SECRET' } } }, {}),
      /\$GL_SECRET, which is not set/,
    );
  });
  test('provider URLs are https, or http on loopback only', () => {
    assert.throws(
      () => parseProviders({ gitlab: { ...entry, clientSecret: 's', tokenUrl: 'http://p.example/t' } }, {}),
      /must be https/,
    );
    assert.ok(parseProviders({ gitlab: { ...entry, clientSecret: 's', tokenUrl: 'http://127.0.0.1:9/t' } }, {}).size);
    assert.ok(parseProviders({ gitlab: { ...entry, clientSecret: 's', tokenUrl: 'http://[::1]:9/t' } }, {}).size);
  });
  test('a mistake names its place', () => {
    assert.throws(() => parseProviders({ gitlab: { ...entry, clientSecret: 's', type: 'oauth3' } }, {}), /type/);
    assert.throws(() => parseProviders({ gitlab: { ...entry, clientSecret: 's', extra: 1 } }, {}), /extra/);
  });
});
