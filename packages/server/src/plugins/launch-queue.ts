/**
 * How many plugin runs go at once (M10 of the first security review): at most `maxRuns` on the
 * Pod and `maxRunsPerOwner` per owner, since each container's limits apply to it alone. A run
 * beyond them waits its turn, first come first served among owners below their own cap; an owner
 * may have at most `maxQueuedPerOwner` waiting, and a run beyond that is refused.
 */
import { LaunchError } from './runner.js';

export interface LaunchLimits {
  maxRuns: number;
  maxRunsPerOwner: number;
  maxQueuedPerOwner: number;
}

/** A run's place among the running ones; `release()` (once the run has ended) lets the next one go. */
export interface Slot {
  release(): void;
}

interface Waiting {
  owner: string;
  key: string;
  admit: (slot: Slot | undefined) => void;
}

export class LaunchQueue {
  #running = 0;
  readonly #runningOf = new Map<string, number>();
  readonly #waiting: Waiting[] = [];
  #closed = false;

  constructor(readonly limits: LaunchLimits) {}

  /**
   * A slot now, or a promise of one when the run must wait (it resolves `undefined` if the run is
   * cancelled or the Pod closes meanwhile). Throws a `refused` LaunchError when the owner's queue is full.
   */
  enter(owner: string, key: string): Slot | Promise<Slot | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    // whoever waits does not fit (see #admitNext), so a run that fits goes first
    if (this.#fits(owner)) return this.#take(owner);
    const queued = this.#waiting.filter((waiting) => waiting.owner === owner).length;
    if (queued >= this.limits.maxQueuedPerOwner)
      throw new LaunchError(
        'refused',
        `${queued} runs of this owner already wait for one of ${this.limits.maxRunsPerOwner} places (--plugin-max-runs-per-owner); the Pod waits for at most ${this.limits.maxQueuedPerOwner} (--plugin-max-queued-per-owner): create it again later`,
      );
    return new Promise((admit) => this.#waiting.push({ owner, key, admit }));
  }

  /** Whether `key` waits; a cancelled run never gets a slot. */
  cancel(key: string): boolean {
    const index = this.#waiting.findIndex((waiting) => waiting.key === key);
    if (index < 0) return false;
    this.#waiting.splice(index, 1)[0]?.admit(undefined);
    return true;
  }

  /** Runs holding a slot now. */
  get runningCount(): number {
    return this.#running;
  }

  /** Runs waiting for a slot now. */
  get waitingCount(): number {
    return this.#waiting.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** No run starts any more (the Pod is closing): every waiting one is let go without a slot. */
  close() {
    this.#closed = true;
    for (const waiting of this.#waiting.splice(0)) waiting.admit(undefined);
  }

  #fits(owner: string): boolean {
    return this.#running < this.limits.maxRuns && (this.#runningOf.get(owner) ?? 0) < this.limits.maxRunsPerOwner;
  }

  #take(owner: string): Slot {
    this.#running++;
    this.#runningOf.set(owner, (this.#runningOf.get(owner) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#running--;
        const left = (this.#runningOf.get(owner) ?? 0) - 1;
        if (left > 0) this.#runningOf.set(owner, left);
        else this.#runningOf.delete(owner);
        this.#admitNext();
      },
    };
  }

  #admitNext() {
    if (this.#closed) return;
    for (let index = 0; index < this.#waiting.length && this.#running < this.limits.maxRuns; ) {
      const waiting = this.#waiting[index];
      if (!waiting) break;
      if (!this.#fits(waiting.owner)) {
        index++;
        continue;
      }
      this.#waiting.splice(index, 1);
      waiting.admit(this.#take(waiting.owner));
    }
  }
}
