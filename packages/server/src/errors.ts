/** An error the client caused or must know about: its status is the HTTP status it answers with. */
export class PodError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 408 | 409 | 413 | 429 | 500 | 503,
    message: string,
    /** Headers the answer carries, e.g. Retry-After with a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PodError';
  }
}

export const badRequest = (message: string) => new PodError(400, message);
export const notFound = (message: string) => new PodError(404, message);
