/**
 * Reconciles PolicyBundles: on every new generation, build (compile + tests)
 * and only then publish to the bundle store; a failed build leaves the last
 * good bundle serving. Every replica builds and serves (builds are
 * deterministic); only the leader writes status and Events.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../telemetry/logger.ts';
import type { PortcullisMetrics } from '../../telemetry/metrics.ts';
import type { PolicyCompiler } from '../../policy/types.ts';
import type { BundleSigner } from '../../policy/bundle-signing.ts';
import { writeBundleArchive } from '../../policy/bundle-archive.ts';
import type { KubeApi } from '../k8s/kube-api.ts';
import { API_VERSION, POLICY_BUNDLES, type PolicyBundle, type PolicyBundleStatus } from '../resources.ts';
import { canonicalJson } from '../../evidence/canonical.ts';
import { BuildCache, type BuildOutcome } from './build-bundle.ts';
import type { BundleStore } from './bundle-store.ts';
import type { LastGoodBundles } from './last-good.ts';
import { BuildSlots } from './build-slots.ts';
import { bundleStatus } from './bundle-status.ts';

export interface ReconcilerDeps {
  kube: KubeApi;
  compiler: PolicyCompiler;
  /** Shared with the validating webhook so a bundle it just built is not built again. */
  builds?: BuildCache;
  store: BundleStore;
  /** Where the leader keeps each bundle's last good build (survives restarts). */
  lastGood?: LastGoodBundles;
  logger: Logger;
  metrics?: PortcullisMetrics;
  clock?: () => Date;
  isLeader: () => boolean;
  /** Event source name. */
  component?: string;
  /** Builds run at once at most (default 2). */
  buildConcurrency?: number;
  /** Signs every archive served (certs/bundle-signing-key.ts); sidecars verify it. Unset: served unsigned. */
  signer?: BundleSigner;
}

interface KeyState {
  uid?: string;
  generation?: number;
  outcome?: BuildOutcome;
  /** The generation whose bundle is served. */
  servedGeneration?: number;
  status?: PolicyBundleStatus;
  pending?: PolicyBundle;
  running?: Promise<void>;
  /** Latest object seen, for status writes on leadership changes. */
  latest?: PolicyBundle;
}

/** One build being reconciled: the bundle's key and state, the object built, and when the build started. */
interface Reconciling {
  key: string;
  st: KeyState;
  pb: PolicyBundle;
  started: number;
}

type Built = Extract<BuildOutcome, { ok: true }>;
type NotBuilt = Extract<BuildOutcome, { ok: false }>;

export function bundleKey(pb: PolicyBundle): string {
  return `${pb.metadata.namespace}/${pb.metadata.name}`;
}

export class PolicyBundleReconciler {
  private readonly states = new Map<string, KeyState>();
  private readonly clock: () => Date;
  private readonly builds: BuildCache;
  readonly slots: BuildSlots;

  constructor(private readonly deps: ReconcilerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.builds = deps.builds ?? new BuildCache(deps.compiler);
    this.slots = new BuildSlots(deps.buildConcurrency ?? 2);
  }

  upsert(pb: PolicyBundle): void {
    const key = bundleKey(pb);
    let st = this.states.get(key);
    if (!st) this.states.set(key, (st = {}));
    st.latest = pb;
    if (st.uid === pb.metadata.uid && st.generation === pb.metadata.generation && !st.pending) {
      // A status write or a metadata change: nothing to build. A new leader may owe the status.
      void this.writeStatus(key, st);
      return;
    }
    st.pending = pb;
    st.running ??= this.drain(key, st);
  }

  remove(pb: PolicyBundle): void {
    const key = bundleKey(pb);
    this.states.delete(key);
    this.deps.store.remove(key);
    if (this.deps.isLeader() && this.deps.lastGood) {
      this.deps.lastGood.forget(key).catch((e) => this.deps.logger.warn({ bundle: key, err: (e as Error).message }, 'could not delete the stored last good bundle'));
    }
    this.deps.logger.info({ bundle: key }, 'PolicyBundle deleted: no longer served (sidecars keep what they run)');
  }

  /** The bundles known so far (`namespace/name`). */
  pendingKeys(): string[] {
    return [...this.states.keys()];
  }

  /** Resolves when no build is running (readiness, tests and the benchmark). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.states.values()].map((s) => s.running).filter(Boolean);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** After winning the election: write every status this replica knows. */
  async onLeadership(): Promise<void> {
    await Promise.all([...this.states.entries()].map(([key, st]) => this.writeStatus(key, st)));
  }

  private async drain(key: string, st: KeyState): Promise<void> {
    try {
      while (st.pending) {
        const pb = st.pending;
        st.pending = undefined;
        await this.reconcile(key, st, pb);
      }
    } finally {
      st.running = undefined;
    }
  }

  private async reconcile(key: string, st: KeyState, pb: PolicyBundle): Promise<void> {
    const started = performance.now();
    const outcome = await this.slots.run(() => this.builds.build(pb.spec ?? {}));
    if (this.states.get(key) !== st) return; // deleted meanwhile
    st.uid = pb.metadata.uid;
    st.generation = pb.metadata.generation;
    st.outcome = outcome;
    const r: Reconciling = { key, st, pb, started };
    if (outcome.ok) await this.publish(r, outcome);
    else await this.keepServing(r, outcome);
    st.status = this.statusFor(key, st, pb);
    await this.writeStatus(key, st, true);
  }

  /** A good build: signed, served, kept as the last good one (leader), logged. */
  private async publish({ key, st, pb, started }: Reconciling, outcome: Built): Promise<void> {
    const { logger, metrics } = this.deps;
    metrics?.bundleCompileSeconds.observe({ compiler: outcome.bundle.compiler }, outcome.compileMs / 1000);
    const archive = await writeBundleArchive(outcome.bundle, { signer: this.deps.signer });
    this.deps.store.publish({ key, digest: outcome.bundle.digest, archive, bundle: outcome.bundle, publishedAt: performance.now() });
    st.servedGeneration = pb.metadata.generation;
    metrics?.bundleReloads.inc({ bundle: key, result: 'success' });
    if (this.deps.isLeader() && this.deps.lastGood) {
      await this.deps.lastGood
        .save(key, archive, outcome.bundle.digest, pb.metadata.generation ?? 0)
        .catch((e) => logger.warn({ bundle: key, err: (e as Error).message }, 'could not store the last good bundle; it still serves'));
    }
    logger.info({ bundle: key, generation: pb.metadata.generation, digest: outcome.bundle.digest, ms: Math.round(performance.now() - started) }, 'PolicyBundle published');
  }

  /** A failed build: what serves stays (the stored last good one when nothing does yet), and the failure is logged. */
  private async keepServing({ key, st, pb }: Reconciling, outcome: NotBuilt): Promise<void> {
    this.deps.metrics?.bundleReloads.inc({ bundle: key, result: 'failure' });
    if (!this.deps.store.get(key)) await this.restoreLastGood(key, st);
    const serving = this.deps.store.get(key)?.digest;
    this.deps.logger.warn(
      { bundle: key, generation: pb.metadata.generation, reason: outcome.reason, code: outcome.code, serving },
      `PolicyBundle ${key} generation ${pb.metadata.generation} not published: ${outcome.message}`,
    );
  }

  /** After a restart nothing is served yet: bring back the stored last good build, if there is one. */
  private async restoreLastGood(key: string, st: KeyState): Promise<void> {
    try {
      const stored = await this.deps.lastGood?.load(key);
      if (!stored || this.states.get(key) !== st || this.deps.store.get(key)) return;
      // Signed again with today's key: the stored one may predate a key rotation.
      const archive = await writeBundleArchive(stored.bundle, { signer: this.deps.signer });
      this.deps.store.publish({ key, digest: stored.bundle.digest, archive, bundle: stored.bundle, publishedAt: performance.now() });
      st.servedGeneration = stored.generation;
      this.deps.logger.info({ bundle: key, digest: stored.bundle.digest, generation: stored.generation }, 'serving the stored last good bundle');
    } catch (e) {
      this.deps.logger.warn({ bundle: key, err: (e as Error).message }, 'the stored last good bundle could not be used');
    }
  }

  private statusFor(key: string, st: KeyState, pb: PolicyBundle): PolicyBundleStatus {
    const served = this.deps.store.get(key);
    return bundleStatus({
      outcome: st.outcome!,
      generation: pb.metadata.generation,
      previous: st.status ?? pb.status ?? {},
      served: served && { digest: served.digest, generation: st.servedGeneration },
      now: this.clock(),
    });
  }

  private async writeStatus(key: string, st: KeyState, changed = false): Promise<void> {
    if (!this.deps.isLeader() || !st.status || !st.latest) return;
    const current = st.latest.status;
    if (!changed && alreadyWritten(current, st.status)) return;
    const [namespace, name] = key.split('/') as [string, string];
    const pb = st.latest;
    try {
      await this.deps.kube.patchStatus(POLICY_BUNDLES, namespace, name, { ...nullsFor(current, st.status), ...st.status });
      if (changed && st.outcome) await this.recordOutcome({ namespace, name }, pb, st.outcome);
    } catch (e) {
      this.deps.logger.warn({ bundle: key, err: (e as Error).message }, 'PolicyBundle status write failed; it is retried on the next change or resync');
    }
  }

  /** The Event people see with `kubectl describe`: published, or why not. */
  private async recordOutcome(at: { namespace: string; name: string }, pb: PolicyBundle, o: BuildOutcome): Promise<void> {
    await this.deps.kube.recordEvent(
      {
        regarding: { apiVersion: API_VERSION, kind: 'PolicyBundle', namespace: at.namespace, name: at.name, uid: pb.metadata.uid },
        ...(o.ok
          ? { type: 'Normal' as const, reason: 'Published', message: `generation ${pb.metadata.generation} published as ${o.bundle.digest}` }
          : { type: 'Warning' as const, reason: o.reason, message: o.message }),
      },
      this.deps.component ?? 'portcullis-controller',
    );
  }
}

/** Whether the object's status is already `next`; key order differs between what was sent and what the API server returns, so canonical forms are compared. */
function alreadyWritten(current: PolicyBundleStatus | undefined, next: PolicyBundleStatus): boolean {
  return !!current && canonicalJson(current) === canonicalJson(next);
}

/** Merge patch: fields the new status drops must be sent as null to be removed. */
function nullsFor(current: PolicyBundleStatus | undefined, next: PolicyBundleStatus): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(current ?? {})) if (!(k in next)) out[k] = null;
  return out;
}
