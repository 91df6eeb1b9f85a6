/**
 * The live change feed, `POST /v4/<owner>/changes` (protocol's `changes`): Server-Sent Events read
 * with eventsource-parser, one page of changed items per `items` event.
 */
import type { ChangeEvent, ChangeEventData, ChangesQuery } from '@pod/protocol';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { PodError } from './errors.js';
import { answerError, fetchFollowing } from './http.js';
import type { Transport } from './transport.js';

export interface ChangesOptions {
  /** Items per event (the Pod adds every item sharing the last one's dateServerModified); default 1,000. */
  pageSize?: number;
  /** Milliseconds to wait for the feed to answer; default the client's `timeout`. */
  timeout?: number;
  /** Milliseconds without a byte (the Pod sends a heartbeat every 15 s) before the connection counts as broken; default 45,000. */
  idleTimeout?: number;
  /** Ends the feed; the abort comes back as the `AbortError` it is. */
  signal?: AbortSignal;
}

/** A page of the change feed: changed items, oldest first, and the cursor that follows them. */
export interface ChangePage {
  items: ChangeEventData<'items'>;
  cursor: number;
}

const FEED_IDLE_TIMEOUT_MS = 45_000;
const ITEMS: ChangeEvent = 'items';

/**
 * One connection to the live change feed: pages of changed items from `from` on, oldest first,
 * each with the cursor to resume from, as they commit; first an empty page once the connection
 * is open. Ends with a `PodError` (status 0 when the connection broke or stayed silent past
 * `idleTimeout`), or when the Pod closes it; `LiveFeed` reconnects from the cursor.
 */
export async function* changeFeed(
  transport: Transport,
  from: number,
  options: ChangesOptions & { timeout: number },
): AsyncGenerator<ChangePage> {
  const { pageSize = 1_000, idleTimeout = FEED_IDLE_TIMEOUT_MS, timeout, signal } = options;
  const payload: ChangesQuery = { 'dateServerModified>=': from, _limit: pageSize };
  const controller = new AbortController();
  const abort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  let silence: ReturnType<typeof setTimeout> | undefined;
  const wait = (ms: number) => {
    clearTimeout(silence);
    const silent = new PodError(0, `the change feed was silent for ${ms} ms`, { endpoint: 'changes' });
    silence = setTimeout(() => controller.abort(silent), ms);
  };
  try {
    wait(timeout);
    const init = { method: 'POST', ...transport.envelope(JSON.stringify(payload)) };
    const url = `${transport.base}/changes`;
    const response = await fetchFollowing(url, { ...init, signal: controller.signal }, transport.moved);
    if (response.status !== 200 || !response.body) throw await answerError(response, 'changes');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // An abort does not always end a read of the piped body (not when data was buffered): cancel it.
    controller.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    clearTimeout(silence);
    yield { items: [], cursor: from }; // the feed is open: whatever commits from now on will come
    for (;;) {
      wait(idleTimeout); // heartbeats come every 15 s
      const { value, done } = await reader.read();
      clearTimeout(silence); // the consumer may take its time with a page
      controller.signal.throwIfAborted();
      if (done) return;
      parser.feed(value);
      for (const event of events.splice(0)) {
        if (event.event === ITEMS) yield { items: itemsOf(event.data), cursor: Number(event.id) };
        controller.signal.throwIfAborted(); // stopped while the consumer had the page
      }
    }
  } catch (cause) {
    if (signal?.aborted || cause instanceof PodError) throw cause;
    if (controller.signal.reason instanceof PodError) throw controller.signal.reason;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new PodError(0, `the change feed broke (${message})`, { endpoint: 'changes', cause });
  } finally {
    clearTimeout(silence);
    signal?.removeEventListener('abort', abort);
    controller.abort();
  }
}

/** An `items` event's data: the Pod's JSON, typed by the protocol's declaration of the event. */
const itemsOf = (data: string): ChangeEventData<'items'> => JSON.parse(data);
