/**
 * The bundles this controller serves, by `namespace/name`, and the long-poll
 * waiters on them. Publishing wakes every waiter of that key at once, so a
 * change reaches every connected sidecar in one round trip.
 */
import type { CompiledBundle } from '../../policy/types.ts';
import { bundleTag } from '../../policy/bundle-archive.ts';

export interface PublishedBundle {
  key: string;
  digest: string;
  /** The OPA-format bundle tar.gz. */
  archive: Uint8Array;
  bundle: CompiledBundle;
  /** When this replica published it (for the change-to-enforce figure). */
  publishedAt: number;
}

type Waiter = (b: PublishedBundle | undefined) => void;

/** The ETag of a published bundle: its digest, and the mode its bundle carries (bundleTag). */
export function publishedTag(b: PublishedBundle): string {
  return bundleTag({ digest: b.digest, mode: b.bundle.mode });
}

export class BundleStore {
  private readonly bundles = new Map<string, PublishedBundle>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  get(key: string): PublishedBundle | undefined {
    return this.bundles.get(key);
  }

  keys(): string[] {
    return [...this.bundles.keys()];
  }

  publish(b: PublishedBundle): void {
    const before = this.bundles.get(b.key);
    this.bundles.set(b.key, b);
    if (!before || publishedTag(before) !== publishedTag(b)) this.wake(b.key, b);
  }

  /** Stops serving a key (its PolicyBundle was deleted); sidecars keep what they run. */
  remove(key: string): void {
    if (this.bundles.delete(key)) this.wake(key, undefined);
  }

  private wake(key: string, b: PublishedBundle | undefined): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const w of set) w(b);
  }

  /**
   * Resolves with the bundle as soon as its tag (bundleTag: digest and mode) differs from `known`
   * (at once if it already does), or with the current one after `timeoutMs`.
   */
  waitForChange(key: string, known: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<PublishedBundle | undefined> {
    const now = this.bundles.get(key);
    if (now && publishedTag(now) !== known) return Promise.resolve(now);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done: Waiter = (b) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set!.delete(done);
        resolve(b);
      };
      const onAbort = (): void => done(this.bundles.get(key));
      const timer = setTimeout(() => done(this.bundles.get(key)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(done);
    });
  }

  waiting(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }
}
