/**
 * The live change feed: subscribers of an owner are told after each commit and pull what changed
 * by `dateServerModified` from their cursor, so every change reaches every subscriber exactly
 * once and in commit order — the same rule a polling client follows, without the polling.
 */
import { PodError } from '../errors.js';
import type { Owner } from '../storage/owners.js';

/** Pages of items as JSON text, from `cursor` on; the callback answers false to stop. */
export interface Subscriber {
  owner: Owner;
  cursor: number;
  pageSize: number;
  send(itemsJson: string, nextCursor: number): Promise<boolean>;
}

export class ChangeFeed {
  private readonly subscribers = new Map<string, Set<Running>>();
  private total = 0;

  /** Each subscription holds a socket and keeps its owner's database open: both are capped. */
  constructor(private readonly limits: { maxFeedsPerOwner: number; maxFeeds: number }) {}

  /** Throws 429 when the owner, or the Pod, has no room for one more subscription; call right before `subscribe`. */
  checkRoom(owner: Owner) {
    const { maxFeedsPerOwner, maxFeeds } = this.limits;
    if ((this.subscribers.get(owner.hash)?.size ?? 0) >= maxFeedsPerOwner)
      throw new PodError(
        'tooMany',
        `this owner already has ${maxFeedsPerOwner} live feeds open (see --max-feeds-per-owner); close one, or poll with search`,
      );
    if (this.total >= maxFeeds)
      throw new PodError(
        'tooMany',
        `the Pod already has ${maxFeeds} live feeds open (see --max-feeds); try again later, or poll with search`,
      );
  }

  /** Sends everything from the subscriber's cursor, then each change as it commits, until `send` says stop or `close` is called. */
  subscribe(subscriber: Subscriber): { closed: Promise<void>; close(): void } {
    const owners = this.subscribers.get(subscriber.owner.hash) ?? new Set();
    const running = new Running(subscriber, () => {
      this.total--;
      owners.delete(running);
      if (owners.size === 0) this.subscribers.delete(subscriber.owner.hash);
    });
    this.subscribers.set(subscriber.owner.hash, owners.add(running));
    this.total++;
    running.wake();
    return { closed: running.closed, close: () => running.stop() };
  }

  /** Subscriptions open now, of every owner. */
  get subscriberCount(): number {
    return this.total;
  }

  /** Called after every commit of an owner. */
  notify(owner: Owner) {
    for (const running of this.subscribers.get(owner.hash) ?? []) running.wake();
  }

  /** Ends the owner's subscriptions (its key changed, it was deleted or moved): a feed is not kept on a revoked key. */
  closeOwner(owner: Pick<Owner, 'hash'>) {
    for (const running of this.subscribers.get(owner.hash) ?? []) running.stop();
  }

  /** Ends every subscription (the Pod is closing). */
  closeAll() {
    for (const owners of this.subscribers.values()) for (const running of owners) running.stop();
  }
}

class Running {
  private draining = false;
  private again = false;
  private stopped = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly subscriber: Subscriber,
    /** Forgets the subscriber, once, as it stops. */
    private readonly onStop: () => void,
  ) {}

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.resolveClosed();
    this.onStop();
  }

  /** Drains from the cursor; a commit during a drain makes it go round once more. */
  wake() {
    if (this.draining) this.again = true;
    else void this.drain();
  }

  private async drain() {
    const { owner, pageSize } = this.subscriber;
    this.draining = true;
    try {
      do {
        this.again = false;
        while (!this.stopped) {
          const page = await owner.store.withMain(() => owner.store.changesSince(this.subscriber.cursor, pageSize));
          if (!page) break;
          this.subscriber.cursor = page.nextCursor;
          if (!(await this.subscriber.send(page.itemsJson, page.nextCursor).catch(() => false))) this.stop();
        }
        // No await between this check and `draining = false`: a wake in between cannot be lost.
      } while (this.again && !this.stopped);
    } finally {
      this.draining = false;
    }
  }
}
