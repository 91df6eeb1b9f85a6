/**
 * The client's OAuth calls (spec §7), typed from @pod/protocol, against a real Pod brokering a fake
 * provider on loopback: the owner logs in with OAuth 2 + PKCE and OAuth 1.0a, and a refused call
 * arrives as a PodError with the Pod's status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PodClient, PodError } from '@pod/client';
import type { OAuth1Token, OAuth2AccessToken } from '@pod/protocol';
import { parseProviders, startFakeOAuthProvider, type FakeOAuthProvider } from '@pod/server/testing';
import { startPod, type TestPod } from './pod.js';

const REDIRECT = 'https://app.example.org/callback';

describe('PodClient OAuth', () => {
  let provider: FakeOAuthProvider;
  let pod: TestPod;
  let client: PodClient;

  before(async () => {
    provider = await startFakeOAuthProvider();
    pod = await startPod({ oauth: parseProviders(provider.config('twitter', 'gitlab'), {}) });
    client = new PodClient({ url: pod.url });
  });
  after(async () => {
    await pod.close();
    await provider.close();
  });

  it('OAuth 2 with PKCE: auth URL, authorize, then the stored access token', async () => {
    const { authUrl, pkceVerifier, state } = await client.oauth2AuthUrl({
      platform: 'gitlab',
      scopes: 'api',
      redirectUri: REDIRECT,
    });
    assert.equal(new URL(authUrl).searchParams.get('state'), state);
    const authCode = provider.approve(authUrl);
    const granted: OAuth2AccessToken = await client.oauth2Authorize({
      platform: 'gitlab',
      authCode,
      redirectUri: REDIRECT,
      pkceVerifier,
    });
    assert.match(granted.accessToken, /^access-/);
    assert.equal((await client.oauth2AccessToken('gitlab')).accessToken, granted.accessToken);
  });

  it('OAuth 1.0a: request token, then access token with the verifier', async () => {
    const temporary = await client.oauth1RequestToken({ service: 'twitter', callbackUrl: 'oob' });
    const token: OAuth1Token = await client.oauth1AccessToken({
      oauthToken: temporary.oauth_token,
      oauthTokenSecret: temporary.oauth_token_secret,
      oauthVerifier: provider.verifierFor(temporary.oauth_token),
    });
    assert.match(token.oauth_token, /^token-/);
    assert.equal(token.user_id, '4242');
  });

  it('refusals are PodErrors: unknown platform 400, no token 404', async () => {
    await assert.rejects(client.oauth2AccessToken('nope'), (error: unknown) => {
      assert.ok(error instanceof PodError);
      assert.equal(error.status, 400);
      assert.match(error.message, /unknown platform/);
      return true;
    });
    const stranger = new PodClient({ url: pod.url });
    await assert.rejects(stranger.oauth2AccessToken('gitlab'), (error: unknown) => {
      assert.ok(error instanceof PodError);
      assert.equal(error.status, 404);
      return true;
    });
  });
});
