/**
 * An error the client caused or must know about. It names what went wrong in the domain's words
 * (`kind`); the server's error handler (app.ts) alone maps a kind to an HTTP status.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'timeout'
  | 'conflict'
  | 'tooLarge'
  /** Well-formed, but what it names cannot be worked on (a stored file that is no image, or too big an image). */
  | 'unprocessable'
  | 'tooMany'
  | 'internal'
  | 'unavailable'
  /** A plugin credential from an earlier Pod process (2023 §1.4): its plugin should stop. */
  | 'misdirected'
  /** An outside service the Pod called for the request (an OAuth provider, a plugin's own web server) failed. */
  | 'badGateway'
  /** The owner moved to another Pod (`pod move`): answered 307 to the same path there. */
  | 'moved'
  /** The owner's data has reached its storage quota (`--owner-quota`): nothing more is stored until it deletes. */
  | 'quotaExceeded';

export class PodError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Headers the answer carries, e.g. Retry-After with `tooMany`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PodError';
  }
}

export const badRequest = (message: string) => new PodError('invalid', message);
export const notFound = (message: string) => new PodError('notFound', message);

/** The owner lives on the Pod at `to` now: the answer is 307 with Location `to` + the request's path and query. */
export class MovedError extends PodError {
  constructor(readonly to: string) {
    super('moved', `this owner moved to ${to}; send the request there (same path)`);
  }
}
