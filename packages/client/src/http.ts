/**
 * One HTTP exchange with the Pod over `fetch`: a timeout per attempt, the Pod's error answers
 * turned into `PodError`, and retries only where repeating the request cannot do harm.
 */
import { ErrorBody } from '@pod/protocol';
import { backoffDelay } from './backoff.js';
import { FileIntegrityError, PodError } from './errors.js';

/** Options every call takes. */
export interface RequestOptions {
  /** Milliseconds to wait for the whole answer, per attempt; default the client's `timeout`. */
  timeout?: number;
  /** Aborts the call; an abort is passed on as the `AbortError` it is, never retried. */
  signal?: AbortSignal;
}

/**
 * When a failed attempt may be repeated:
 * - `safe`: the request can be repeated without effect (reads, a bulk carrying its batchId, an upload
 *   of bytes): after no answer, a timeout, or 502/503/504;
 * - `refused`: a write: only when the connection was refused, so that nothing was sent;
 * - `never`: the body cannot be sent twice (a stream).
 */
export type Retry = 'safe' | 'refused' | 'never';

export interface Exchange<T> {
  url: string;
  init: RequestInit;
  /** The endpoint's name, for errors. */
  endpoint: string;
  retry: Retry;
  /** Reads a 200 answer; runs under the same timeout, so a stalled body is a timeout too. */
  read: (response: Response) => Promise<T>;
  /** Told when the Pod redirected the request (the owner moved): from which URL to which. */
  moved?: Moved;
}

export type Moved = (from: string, to: string) => void;

/** Redirects followed per request: a moved owner takes one, a chain of moves a few more. */
export const MAX_REDIRECTS = 5;

export interface Policy {
  timeout: number;
  retries: number;
}

/** Statuses that a proxy or a restarting server answers before the request reached the Pod's store. */
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Waits between attempts: from 100 ms, doubling, at most 2 s (with jitter). */
const RETRY_BACKOFF = { firstMs: 100, maxMs: 2_000 };

export async function exchange<T>(exchange: Exchange<T>, policy: Policy, options: RequestOptions = {}): Promise<T> {
  const timeout = options.timeout ?? policy.timeout;
  for (let attempt = 0; ; attempt++) {
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(timeout)])
      : AbortSignal.timeout(timeout);
    let failure: PodError | FileIntegrityError;
    let repeatable: boolean;
    try {
      const response = await fetchFollowing(exchange.url, { ...exchange.init, signal }, exchange.moved);
      if (response.status === 200) return await exchange.read(response);
      failure = await answerError(response, exchange.endpoint);
      repeatable = exchange.retry === 'safe' && RETRY_STATUSES.has(failure.status);
    } catch (cause) {
      // The caller's abort, and an answer that is not JSON, are not transport failures.
      if (options.signal?.aborted || cause instanceof SyntaxError) throw cause;
      if (cause instanceof FileIntegrityError) {
        failure = cause;
        repeatable = exchange.retry === 'safe' && cause.truncated;
      } else {
        const timedOut = (cause as Error).name === 'TimeoutError';
        const refused = ((cause as Error).cause as { code?: string } | undefined)?.code === 'ECONNREFUSED';
        failure = new PodError(
          0,
          timedOut
            ? `no answer to ${exchange.endpoint} within ${timeout} ms`
            : `could not reach the Pod at ${new URL(exchange.url).origin} (${refused ? 'connection refused' : (cause as Error).message})`,
          { endpoint: exchange.endpoint, cause },
        );
        repeatable = exchange.retry === 'safe' || (exchange.retry === 'refused' && refused);
      }
    }
    if (!repeatable || attempt >= policy.retries) throw failure;
    await new Promise((resolve) => setTimeout(resolve, backoffDelay(RETRY_BACKOFF, attempt)));
  }
}

/**
 * `fetch` that follows a Pod's 307/308 (an owner moved to another Pod: `pod move`) at most
 * MAX_REDIRECTS times, to http(s) URLs only, sending the same method and body, keys included, to the
 * host the Pod named. A streamed body cannot be sent twice: then a `PodError` says where the owner
 * went (`moved` was told, so sending it again goes there). Browsers hide a redirect's Location
 * from `fetch`: there the browser follows (at most 20, http(s) only), and `moved` learns the end.
 */
export async function fetchFollowing(url: string, init: RequestInit, moved?: Moved): Promise<Response> {
  for (let hops = 0; ; hops++) {
    const response = await fetch(url, { ...init, redirect: 'manual' });
    if (response.type === 'opaqueredirect') {
      const followed = await fetch(url, { ...init, redirect: 'follow' });
      if (followed.redirected) moved?.(url, followed.url);
      return followed;
    }
    const location = response.headers.get('location');
    if ((response.status !== 307 && response.status !== 308) || location === null) return response;
    await response.body?.cancel();
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new PodError(response.status, `the Pod redirected to a ${next.protocol} URL; only http(s) is followed`);
    if (hops >= MAX_REDIRECTS)
      throw new PodError(response.status, `the Pod redirected more than ${MAX_REDIRECTS} times; not followed further`);
    moved?.(url, next.href);
    if (init.body instanceof ReadableStream)
      throw new PodError(
        response.status,
        `the owner moved to ${next.origin}; a streamed body cannot be sent twice: send it again (this client now goes there)`,
      );
    url = next.href;
  }
}

/** The Pod answers errors as JSON `{"error", "message"}`; the original Pod sent plain text. */
export async function answerError(response: Response, endpoint: string): Promise<PodError> {
  const text = await response.text();
  const body = parseErrorBody(text);
  if (body) return new PodError(response.status, body.message, { endpoint, error: body.error });
  return new PodError(response.status, text || response.statusText, { endpoint });
}

/** The protocol's error body, or undefined when the text is not one (not JSON, or another shape). */
function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const checked = ErrorBody.safeParse(JSON.parse(text));
    return checked.success ? checked.data : undefined;
  } catch {
    return undefined; // not JSON: the text itself is the message
  }
}
