/**
 * A subscription to the live change feed that survives disconnects: after a broken connection it
 * waits (backoff with jitter, doubling up to a ceiling) and reconnects from the cursor of the
 * last page it handled, so every change arrives, in commit order, and a page whose handling
 * failed comes again.
 */
import { backoffDelay } from '../backoff.js';
import type { ChangePage, PodClient } from '../client.js';

export type FeedStatus = 'connecting' | 'open' | 'waiting' | 'stopped';

export interface LiveFeedOptions {
  /** The cursor to start from (a dateServerModified: everything changed from then on). */
  from: number;
  /** Handles a page; the next one is read only once it resolves. Throwing reconnects, and the page comes again. */
  onPage(page: ChangePage): unknown;
  /** Told of each connection state, and of the error that ended a connection. */
  onStatus?(status: FeedStatus, error?: unknown): void;
  /** Items per event; default 1,000. */
  pageSize?: number;
  /** First wait before reconnecting, doubled after each failure in a row; default 100 ms. */
  backoffMs?: number;
  /** Longest wait; default 10 s. */
  maxBackoffMs?: number;
  /** See `ChangesOptions.idleTimeout`. */
  idleTimeout?: number;
}

export class LiveFeed {
  /** Where the next connection starts: the cursor of the last page handled. */
  cursor: number;
  private stopped = false;
  private connection?: AbortController;
  private wake?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly client: PodClient,
    private readonly options: LiveFeedOptions,
  ) {
    this.cursor = options.from;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Ends the subscription; resolves once the page being handled, if any, is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.abort();
    this.wake?.();
    await this.running;
  }

  /** Drops the connection as a network failure would; the feed reconnects from its cursor. */
  interrupt(): void {
    this.connection?.abort(new Error('interrupted'));
  }

  private async run(): Promise<void> {
    const { onPage, onStatus, pageSize, idleTimeout, backoffMs = 100, maxBackoffMs = 10_000 } = this.options;
    for (let failures = 0; !this.stopped; ) {
      this.connection = new AbortController();
      let error: unknown;
      onStatus?.('connecting');
      try {
        for await (const page of this.client.changes(this.cursor, {
          pageSize,
          idleTimeout,
          signal: this.connection.signal,
        })) {
          if (page.items.length === 0) onStatus?.('open');
          else await onPage(page);
          this.cursor = Math.max(this.cursor, page.cursor);
          failures = 0;
        }
      } catch (caught) {
        error = caught;
      }
      if (this.stopped) break;
      const wait = backoffDelay({ firstMs: backoffMs, maxMs: maxBackoffMs }, failures++);
      onStatus?.('waiting', error);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    onStatus?.('stopped');
  }
}
