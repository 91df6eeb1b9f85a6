/**
 * The OAuth providers the operator configured (`--oauth-providers <file>`): per platform name, an
 * OAuth 1.0a consumer or an OAuth 2 client with its URLs. A secret is given in the file or, better,
 * as the name of an environment variable (`{"env": "GITLAB_CLIENT_SECRET"}`); it is read once at
 * start-up and never leaves the Pod.
 */
import { readFileSync } from 'node:fs';
import { describeIssues } from '@pod/protocol';
import { z } from 'zod';
import { isLoopback } from '../config.js';

const Secret = z.union([z.string().min(1), z.strictObject({ env: z.string().min(1) })], {
  error: 'a secret is a non-empty string or {"env": "VARIABLE_NAME"}',
});
/** HTTPS, or HTTP to a provider on this machine (a local or test one): a secret never crosses a network in clear. */
const ProviderUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((text) => {
  const url = new URL(text);
  return url.protocol === 'https:' || isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1'));
}, 'must be https (http only for a provider on loopback)');
const Name = z.string().min(1);

const OAuth1File = z.strictObject({
  type: z.literal('oauth1'),
  consumerKey: Name,
  consumerSecret: Secret,
  requestTokenUrl: ProviderUrl,
  accessTokenUrl: ProviderUrl,
  authorizeUrl: ProviderUrl,
});
const OAuth2File = z.strictObject({
  type: z.literal('oauth2'),
  clientId: Name,
  clientSecret: Secret,
  authorizeUrl: ProviderUrl,
  tokenUrl: ProviderUrl,
  /** The `scope` of an authorize URL when the caller gives none. */
  scopes: z.string().optional(),
  /** How the token URL gets the client's credentials: HTTP Basic (RFC 6749 §2.3.1, the default) or form fields. */
  tokenAuth: z.enum(['basic', 'post']).default('basic'),
});
export const ProvidersFile = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a platform name is letters, digits, "_", "." and "-"'),
  z.discriminatedUnion('type', [OAuth1File, OAuth2File], { error: '"type" must be "oauth1" or "oauth2"' }),
);
export type ProvidersFile = z.input<typeof ProvidersFile>;

export type OAuth1Provider = Omit<z.output<typeof OAuth1File>, 'consumerSecret'> & { consumerSecret: string };
export type OAuth2Provider = Omit<z.output<typeof OAuth2File>, 'clientSecret'> & { clientSecret: string };
export type OAuthProvider = OAuth1Provider | OAuth2Provider;
/** By platform name; a Map, so no name resolves through a prototype. */
export type OAuthProviders = ReadonlyMap<string, OAuthProvider>;

/** Checks the providers' JSON and reads the secrets it names from `env`; throws what to fix (never a secret). */
export function parseProviders(json: unknown, env: NodeJS.ProcessEnv): OAuthProviders {
  const checked = ProvidersFile.safeParse(json);
  if (!checked.success) throw new Error(describeIssues(checked.error, 'providers'));
  const secret = (platform: string, value: z.output<typeof Secret>) => {
    if (typeof value === 'string') return value;
    const found = env[value.env];
    if (!found) throw new Error(`the secret of OAuth platform "${platform}" is in $${value.env}, which is not set`);
    return found;
  };
  return new Map(
    Object.entries(checked.data).map(([platform, entry]): [string, OAuthProvider] =>
      entry.type === 'oauth1'
        ? [platform, { ...entry, consumerSecret: secret(platform, entry.consumerSecret) }]
        : [platform, { ...entry, clientSecret: secret(platform, entry.clientSecret) }],
    ),
  );
}

/** `parseProviders` of a JSON file. */
export function loadProviders(file: string, env: NodeJS.ProcessEnv): OAuthProviders {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read OAuth providers from ${file}: ${(error as NodeJS.ErrnoException).code ?? 'failed'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text, which holds secrets: keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new Error(`OAuth providers file ${file} is not valid JSON${position ? ` (at position ${position})` : ''}`);
  }
  return parseProviders(json, env);
}
