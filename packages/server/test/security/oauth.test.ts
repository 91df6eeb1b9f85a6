/**
 * OAuth attacks (spec §7): a plugin gets OAuth only for the platforms its grant names; no client
 * secret (nor a refresh token) reaches an answer or a log line, even from a provider that echoes
 * them; a forged OAuth 1 token is refused before the provider is asked; and the payload cannot point
 * an authorize URL at another host (redirectUri itself is passed through as given, as OAuth allows:
 * the provider checks it against the client's registered redirect URIs).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startFakeOAuthProvider, type FakeOAuthProvider } from '../../src/fake-oauth-provider.js';
import { parseProviders } from '../../src/oauth/providers.js';
import { Owner, startPod, type RunningPod } from '../helpers.js';
import { PluginPod } from './plugin-harness.js';

const REDIRECT = 'https://app.example.org/callback';

describe('a plugin uses OAuth only for the platforms it declared', () => {
  let provider: FakeOAuthProvider;
  let pods: PluginPod;
  let owner: Owner;

  before(async () => {
    provider = await startFakeOAuthProvider();
    pods = await PluginPod.start({
      oauth: parseProviders({ ...provider.config('twitter', 'gitlab'), ...provider.config('x1', 'other') }, {}),
    });
    owner = new Owner(pods.url);
  });
  after(async () => {
    await pods.close();
    await provider.close();
  });

  test('without "oauth" or with another platform: 403 on every route, nothing asked of the provider', async () => {
    const none = await pods.runAs(owner, 'evil-image', { read: {} });
    const gitlabOnly = await pods.runAs(owner, 'priv-image', { oauth: ['gitlab'] });
    const calls = provider.seen.length;
    for (const plugin of [none, gitlabOnly]) {
      for (const [endpoint, payload] of [
        ['oauth', { service: 'twitter', callbackUrl: 'oob' }],
        ['oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' }],
        ['oauth2/auth_url', { platform: 'other', redirectUri: REDIRECT }],
        ['oauth2/authorize', { platform: 'other', authCode: 'c', redirectUri: REDIRECT, pkceVerifier: 'v'.repeat(43) }],
        ['oauth2/access_token', { platform: 'other' }],
      ] as const) {
        const r = await plugin.fails(endpoint, payload, 403);
        assert.match(r.body.message, /did not declare that it uses OAuth of/);
      }
    }
    const r = await none.fails('oauth2/access_token', { platform: 'gitlab' }, 403);
    assert.match(r.body.message, /"oauth": \["gitlab"\]/, 'the 403 says what to declare');
    assert.equal(provider.seen.length, calls);
  });

  test('with its platform it gets the owner’s token; an OAuth 1 token of an undeclared platform is 403', async () => {
    const { authUrl, pkceVerifier } = await owner.ok('oauth2/auth_url', { platform: 'gitlab', redirectUri: REDIRECT });
    const authCode = provider.approve(authUrl);
    const { accessToken } = await owner.ok('oauth2/authorize', {
      platform: 'gitlab',
      authCode,
      redirectUri: REDIRECT,
      pkceVerifier,
    });
    const plugin = await pods.runAs(owner, 'other-image', { oauth: ['gitlab'] });
    assert.equal((await plugin.ok('oauth2/access_token', { platform: 'gitlab' })).accessToken, accessToken);
    // The owner started a Twitter log-in; a plugin without "twitter" cannot finish it through the Pod.
    const temporary = await owner.ok('oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' });
    const payload = {
      oauthToken: temporary.oauth_token,
      oauthTokenSecret: temporary.oauth_token_secret,
      oauthVerifier: provider.verifierFor(temporary.oauth_token),
    };
    const refused = await plugin.fails('oauth1_access_token', payload, 403);
    assert.match(refused.body.message, /OAuth of "twitter"/);
    const twitter = await pods.runAs(owner, 'importer-image', { oauth: ['twitter'] });
    assert.ok((await twitter.ok('oauth1_access_token', payload)).oauth_token);
  });

  test('a malformed "oauth" declaration grants nothing', async () => {
    await owner.ok('create_item', {
      type: 'Plugin',
      id: 'bad-oauth-plugin',
      containerImage: 'evil-image',
      permissions: JSON.stringify({ oauth: 'gitlab' }),
    });
    await owner.ok('bulk', {
      createItems: [{ type: 'PluginRun', id: 'bad-oauth-run', containerImage: 'evil-image', status: 'created' }],
      createEdges: [{ _source: 'bad-oauth-run', _target: 'bad-oauth-plugin', _name: 'plugin' }],
    });
    const run = await pods.launchOf(owner, 'bad-oauth-run');
    assert.notEqual(run.podLaunchStatus, 'started', 'a run whose permissions do not parse is not launched');
    assert.match(run.podLaunchMessage, /oauth/);
  });
});

describe('OAuth secrets never reach an answer or a log line', () => {
  let provider: FakeOAuthProvider;
  let pod: RunningPod;
  let owner: Owner;
  let log = '';
  const answers: string[] = [];

  before(async () => {
    provider = await startFakeOAuthProvider();
    pod = await startPod(
      { logLevel: 'trace', oauth: parseProviders(provider.config('twitter', 'gitlab'), {}) },
      {
        logStream: new Writable({
          write: (chunk, _encoding, done) => {
            log += chunk;
            done();
          },
        }),
      },
    );
    owner = new Owner(pod.url);
  });
  after(async () => {
    await pod.close();
    await provider.close();
  });

  const keep = async (endpoint: string, payload: unknown) => {
    const r = await owner.call(endpoint, payload);
    answers.push(r.text);
    return r;
  };

  test('full flows, provider errors that echo the secrets, and unknown platforms', async () => {
    const { body: url } = await keep('oauth2/auth_url', { platform: 'gitlab', redirectUri: REDIRECT });
    const authCode = provider.approve(url.authUrl);
    await keep('oauth2/authorize', {
      platform: 'gitlab',
      authCode,
      redirectUri: REDIRECT,
      pkceVerifier: url.pkceVerifier,
    });
    const refresh = provider.seen.at(-1);
    assert.equal(refresh?.path, '/oauth2/token');
    const { body: temporary } = await keep('oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' });
    await keep('oauth1_access_token', {
      oauthToken: temporary.oauth_token,
      oauthTokenSecret: temporary.oauth_token_secret,
      oauthVerifier: provider.verifierFor(temporary.oauth_token),
    });
    await keep('oauth2/access_token', { platform: 'nope' });

    // A provider that quotes back everything it was sent: the Basic header, the form, the OAuth 1 header.
    provider.failWith = (request) =>
      `you sent ${request.headers.authorization} and ${JSON.stringify(request.form)} ` +
      `secret=${provider.clientSecret} consumer=${provider.consumerSecret}`;
    try {
      const again = (await keep('oauth2/auth_url', { platform: 'gitlab', redirectUri: REDIRECT })).body;
      const failed = await keep('oauth2/authorize', {
        platform: 'gitlab',
        authCode: provider.approve(again.authUrl),
        redirectUri: REDIRECT,
        pkceVerifier: again.pkceVerifier,
      });
      assert.equal(failed.status, 502);
      assert.match(failed.body.message, /invalid_request: you sent Basic \[secret\]/);
      const oauth1 = await keep('oauth1_request_token', { service: 'twitter', callbackUrl: 'oob' });
      assert.equal(oauth1.status, 502);
    } finally {
      provider.failWith = undefined;
    }
    const failures = log.split('\n').filter((line) => line.includes('request failed'));
    assert.ok(failures.length >= 2, 'the 502s are logged, scrubbed');

    for (const secret of [provider.clientSecret, provider.consumerSecret]) {
      for (const form of [secret, Buffer.from(secret).toString('base64')]) {
        assert.ok(!log.includes(form), 'a secret in the log');
        for (const answer of answers) assert.ok(!answer.includes(form), `a secret in an answer: ${answer}`);
      }
    }
    const basic = /Basic (\S+)/.exec(refresh?.headers.authorization ?? '')?.[1] ?? 'none';
    assert.ok(!log.includes(basic) && !answers.some((answer) => answer.includes(basic)), 'the Basic credential');
    const refreshTokens = provider.seen.map((r) => r.form.refresh_token).filter(Boolean);
    for (const token of refreshTokens) assert.ok(!answers.some((answer) => answer.includes(token ?? '')));
  });
});

describe('the payload cannot point the authorize URL at another host', () => {
  let provider: FakeOAuthProvider;
  let pod: RunningPod;
  before(async () => {
    provider = await startFakeOAuthProvider();
    pod = await startPod({ oauth: parseProviders(provider.config('twitter', 'gitlab'), {}) });
  });
  after(async () => {
    await pod.close();
    await provider.close();
  });

  test('scopes and redirectUri stay values of their own parameters; host, path, client_id are configured', async () => {
    const owner = new Owner(pod.url);
    const configured = new URL(provider.config('twitter', 'gitlab').gitlab?.authorizeUrl ?? '');
    const tricks = [
      { scopes: 'api&client_id=evil&response_type=token#https://evil.example/', redirectUri: REDIRECT },
      { scopes: 'api', redirectUri: 'https://evil.example/steal?client_id=evil' },
      { scopes: 'api', redirectUri: `@evil.example/${'x'.repeat(10)}` },
      { scopes: '\r\nHost: evil.example', redirectUri: '//evil.example' },
    ];
    for (const trick of tricks) {
      const { authUrl } = await owner.ok('oauth2/auth_url', { platform: 'gitlab', ...trick });
      const url = new URL(authUrl);
      assert.equal(url.origin, configured.origin);
      assert.equal(url.pathname, configured.pathname);
      assert.equal(url.hash, '');
      assert.equal(url.searchParams.getAll('client_id').length, 1);
      assert.match(url.searchParams.get('client_id') ?? '', /^client-/);
      assert.deepEqual(url.searchParams.getAll('response_type'), ['code']);
      assert.deepEqual(url.searchParams.getAll('scope'), [trick.scopes]);
      // Passed through as given: the provider matches it against the client's registered redirect URIs.
      assert.deepEqual(url.searchParams.getAll('redirect_uri'), [trick.redirectUri]);
    }
    // A platform name is a key, never a URL or a path.
    await owner.fails('oauth2/auth_url', { platform: 'https://evil.example/', redirectUri: REDIRECT }, 400);
    await owner.fails('oauth2/auth_url', { platform: '../gitlab', redirectUri: REDIRECT }, 400);
  });
});
