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

/**
 * A download that is not the file asked for: its bytes hash to another sha256 (`actualSha256`), or
 * the body stopped before its end (`truncated`), as when the Pod cuts off a file whose stored copy
 * fails its integrity check, or the connection drops. The bytes are never returned.
 */
export class FileIntegrityError extends Error {
  override readonly name = 'FileIntegrityError';
  /** The body ended early: worth another try, unlike bytes that hash to something else. */
  readonly truncated: boolean;
  /** The sha256 of what arrived, when it arrived whole. */
  readonly actualSha256?: string;

  constructor(
    /** The sha256 asked for. */
    readonly sha256: string,
    message: string,
    details: { truncated?: boolean; actualSha256?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.truncated = details.truncated ?? false;
    this.actualSha256 = details.actualSha256;
  }
}
