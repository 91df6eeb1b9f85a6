/** One run of a task at a time; a call while it runs gets one more run after it, shared by every such call. */
export class Rerun<A, T> {
  private running?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly task: (argument?: A) => Promise<T>) {}

  run(argument?: A): Promise<T> {
    if (!this.running) {
      this.running = this.task(argument).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.next ??= this.running
      .catch(() => {})
      .then(() => {
        this.next = undefined;
        return this.run(argument);
      });
    return this.next;
  }

  idle(): Promise<unknown> {
    return this.next ?? this.running ?? Promise.resolve();
  }
}
