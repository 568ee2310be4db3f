/**
 * At most N bundle builds at a time. A controller starting with hundreds of
 * PolicyBundles would otherwise compile and test them all at once, starving
 * the webhooks and the API calls of the same process of CPU and memory.
 */
export class BuildSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`build concurrency must be a positive integer, not ${limit}`);
  }

  /** Runs `f` once a slot is free. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await f();
    } finally {
      // The slot passes straight to the next waiter, so `running` counts it still.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Builds running now (for tests and metrics). */
  active(): number {
    return this.running;
  }
}
