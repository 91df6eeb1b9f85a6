/** Opening a live feed (`/changes`) and keeping it open: what the caps of L9 and M8 count. */
import type { Owner } from '../helpers.js';

export interface OpenFeed {
  status: number;
  text: string;
  /** Settles when the stream ends (the Pod ended it, or `close`); at once for a refused feed. */
  ended: Promise<void>;
  close(): void;
}

/** Subscribes; for a 200, waits for the first bytes of the stream and leaves it open until `close`. */
export async function openFeed(o: Owner): Promise<OpenFeed> {
  const abort = new AbortController();
  const res = await fetch(`${o.url}/${o.version}/${o.owner}/changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: o.auth, payload: {} }),
    signal: abort.signal,
  });
  if (res.status !== 200)
    return { status: res.status, text: await res.text(), ended: Promise.resolve(), close: () => {} };
  const reader = res.body!.getReader();
  const first = await reader.read();
  const ended = (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {}); // aborted by `close`
  return { status: 200, text: new TextDecoder().decode(first.value), ended, close: () => abort.abort() };
}
