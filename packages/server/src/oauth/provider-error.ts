/**
 * A provider that fails or answers an error becomes a 502 carrying the provider's own words, with
 * every secret of the exchange blotted out first: the answer and the Pod's log (which records
 * every 5xx) then hold nothing a secret could be read from, even from a provider that echoes it.
 */
import { PodError } from '../errors.js';

/** How long a provider has to answer one call. */
export const PROVIDER_TIMEOUT_MS = 15_000;
const MAX_MESSAGE = 500;

/** The forms a secret can take in an echo: as is, URL-encoded, and inside a Basic header. */
function forms(secrets: readonly string[]): string[] {
  return secrets
    .filter((secret) => secret.length > 0)
    .flatMap((secret) => [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])
    .sort((a, b) => b.length - a.length);
}

export function scrub(text: string, secrets: readonly string[]): string {
  // An echoed Authorization header: its credential in whatever encoding the client library chose.
  let result = text.replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi, '$1 [secret]');
  for (const form of forms(secrets)) result = result.split(form).join('[secret]');
  return result;
}

/** 502: `platform`'s provider said `detail` (or could not be reached); `secrets` are removed from it. */
export function providerFailed(platform: string, detail: string, secrets: readonly string[]): PodError {
  const message = scrub(detail, secrets).replace(/\s+/g, ' ').trim().slice(0, MAX_MESSAGE);
  return new PodError('badGateway', `OAuth provider of "${platform}" failed: ${message || 'no message'}`);
}

/** What a failed fetch says: the reason of the network error (refused, timed out…), not a stack. */
export function unreachable(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError')
    return `no answer within ${PROVIDER_TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return `cannot be reached (${reason})`;
}
