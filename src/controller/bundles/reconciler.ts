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
import { setCondition } from '../conditions.ts';
import { canonicalJson } from '../../evidence/canonical.ts';
import { BuildCache, type BuildOutcome } from './build-bundle.ts';
import type { BundleStore } from './bundle-store.ts';
import type { LastGoodBundles } from './last-good.ts';
import { BuildSlots } from './build-slots.ts';

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
    const { logger, metrics } = this.deps;
    const started = performance.now();
    const outcome = await this.slots.run(() => this.builds.build(pb.spec ?? {}));
    if (this.states.get(key) !== st) return; // deleted meanwhile
    st.uid = pb.metadata.uid;
    st.generation = pb.metadata.generation;
    st.outcome = outcome;
    if (outcome.ok) {
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
    } else {
      metrics?.bundleReloads.inc({ bundle: key, result: 'failure' });
      if (!this.deps.store.get(key)) await this.restoreLastGood(key, st);
      const serving = this.deps.store.get(key)?.digest;
      logger.warn(
        { bundle: key, generation: pb.metadata.generation, reason: outcome.reason, code: outcome.code, serving },
        `PolicyBundle ${key} generation ${pb.metadata.generation} not published: ${outcome.message}`,
      );
    }
    st.status = this.statusFor(key, st, pb);
    await this.writeStatus(key, st, true);
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
    const now = this.clock();
    const gen = pb.metadata.generation;
    const o = st.outcome!;
    const prev = st.status ?? pb.status ?? {};
    let conditions = prev.conditions;
    const compiled = o.ok || o.stage === 'tests';
    conditions = setCondition(
      conditions,
      compiled
        ? { type: 'Compiled', status: 'True', reason: 'Compiled', message: `compiled by ${o.bundle!.compiler}`, observedGeneration: gen }
        : { type: 'Compiled', status: 'False', reason: 'CompileFailed', message: o.message, observedGeneration: gen },
      now,
    );
    conditions = setCondition(
      conditions,
      o.ok
        ? { type: 'TestsPassed', status: 'True', reason: 'TestsPassed', message: `${o.tests.passed} of ${o.tests.results.length} tests passed`, observedGeneration: gen }
        : o.stage === 'tests'
          ? { type: 'TestsPassed', status: 'False', reason: 'TestsFailed', message: o.message, observedGeneration: gen }
          : { type: 'TestsPassed', status: 'Unknown', reason: 'NotCompiled', message: 'tests run once the bundle compiles', observedGeneration: gen },
      now,
    );
    const served = this.deps.store.get(key);
    const keeping = served ? `; still serving ${served.digest} (generation ${st.servedGeneration})` : '; no bundle is served';
    conditions = setCondition(
      conditions,
      o.ok
        ? { type: 'Ready', status: 'True', reason: 'Published', message: `serving ${o.bundle.digest}`, observedGeneration: gen }
        : { type: 'Ready', status: 'False', reason: o.reason, message: `generation ${gen} is not served${keeping}`, observedGeneration: gen },
      now,
    );
    const tests = o.ok ? o.tests : o.stage === 'tests' ? o.tests : undefined;
    return {
      observedGeneration: gen,
      ...(o.ok || o.bundle ? { digest: o.bundle!.digest, compiler: o.bundle!.compiler } : {}),
      ...(tests ? { testSummary: `${tests.passed}/${tests.results.length}` } : {}),
      ...(served ? { servingDigest: served.digest } : {}),
      conditions,
    };
  }

  private async writeStatus(key: string, st: KeyState, changed = false): Promise<void> {
    if (!this.deps.isLeader() || !st.status || !st.latest) return;
    const current = st.latest.status;
    // Key order differs between what was sent and what the API server returns: compare canonical forms.
    if (!changed && current && canonicalJson(current) === canonicalJson(st.status)) return;
    const [namespace, name] = key.split('/') as [string, string];
    const pb = st.latest;
    try {
      await this.deps.kube.patchStatus(POLICY_BUNDLES, namespace, name, { ...nullsFor(current, st.status), ...st.status });
      if (changed && st.outcome) {
        const o = st.outcome;
        await this.deps.kube.recordEvent(
          {
            regarding: { apiVersion: API_VERSION, kind: 'PolicyBundle', namespace, name, uid: pb.metadata.uid },
            ...(o.ok
              ? { type: 'Normal' as const, reason: 'Published', message: `generation ${pb.metadata.generation} published as ${o.bundle.digest}` }
              : { type: 'Warning' as const, reason: o.reason, message: o.message }),
          },
          this.deps.component ?? 'portcullis-controller',
        );
      }
    } catch (e) {
      this.deps.logger.warn({ bundle: key, err: (e as Error).message }, 'PolicyBundle status write failed; it is retried on the next change or resync');
    }
  }
}

/** Merge patch: fields the new status drops must be sent as null to be removed. */
function nullsFor(current: PolicyBundleStatus | undefined, next: PolicyBundleStatus): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(current ?? {})) if (!(k in next)) out[k] = null;
  return out;
}
