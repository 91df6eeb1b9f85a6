/**
 * A failed call: the Pod answered with an error status (`status` is that status and `message` the
 * Pod's own message), or no answer came at all (`status` 0: refused, reset or timed out).
 */
export class PodError extends Error {
  override readonly name = 'PodError';
  /** The Pod's short name for the status, e.g. "Not Found", when it sent one. */
  readonly error?: string;
  /** The endpoint that failed, e.g. "create_item". */
  readonly endpoint?: string;

  constructor(
    /** The HTTP status (400, 401, 403, 404, 409, 413, 500…), or 0 when no answer came. */
    readonly status: number,
    message: string,
    details: { error?: string; endpoint?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.error = details.error;
    this.endpoint = details.endpoint;
  }
}
