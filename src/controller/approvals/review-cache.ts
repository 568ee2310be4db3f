/**
 * Positive TokenReviews kept for a while, so that a caller who comes back
 * within the time costs the API server no review. Keyed by a hash of the
 * token, so the cache never holds a usable token; entries that have run out
 * are dropped whenever one is added.
 */
import { createHash } from 'node:crypto';

export class ReviewCache<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(ttlMs: number, clock: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  /** What was kept for this token, while it is still trusted. */
  get(token: string): T | undefined {
    const key = keyOf(token);
    const hit = this.#entries.get(key);
    if (hit && hit.until > this.#clock()) return hit.value;
    if (hit) this.#entries.delete(key);
    return undefined;
  }

  /** Keeps what a positive review said of this token for the TTL. */
  set(token: string, value: T): void {
    const now = this.#clock();
    for (const [k, v] of this.#entries) if (v.until <= now) this.#entries.delete(k);
    this.#entries.set(keyOf(token), { value, until: now + this.#ttlMs });
  }
}

function keyOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
