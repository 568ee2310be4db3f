/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the
 * holder renews every retry period; another replica takes over once it has
 * seen the same record unchanged for a whole lease duration (local time, so
 * clock skew between nodes does not matter). Only the leader writes status
 * and cleans up approvals; every replica serves bundles and webhooks.
 */
import type { Logger } from '../telemetry/logger.ts';
import { kubeStatusCode, type KubeApi, type Lease } from './k8s/kube-api.ts';

export interface LeaderElectionOptions {
  kube: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  logger: Logger;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  now?: () => number;
}

/**
 * A Lease's times are MicroTime: RFC 3339 with exactly six fractional digits.
 * The API server refuses the three digits of Date#toISOString with a 400.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private observed = '';
  private observedAt = 0;
  private lastRenew = 0;
  private running: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.now = o.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.running = this.tryAcquireOrRenew().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, (this.o.retryPeriodSeconds ?? 2) * 1000);
      });
    };
    tick();
  }

  /**
   * Stops campaigning; a leader releases the lease so another replica takes
   * over at once (`release: false` leaves it to expire, as a crash would).
   */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (!this.leader) return;
    if (!release) return this.setLeader(false);
    try {
      const lease = await this.o.kube.readLease(this.o.namespace, this.o.name);
      if (lease?.spec.holderIdentity === this.o.identity) {
        await this.o.kube.replaceLease({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } });
      }
    } catch {
      // The lease expires by itself.
    }
    this.setLeader(false);
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    this.o.logger.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, v ? 'became leader' : 'stopped leading');
    if (v) this.o.onStartedLeading?.();
    else this.o.onStoppedLeading?.();
  }

  private record(spec: Lease['spec']): Lease['spec'] {
    const at = microTime(this.now());
    return { ...spec, holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 15, renewTime: at };
  }

  private async tryAcquireOrRenew(): Promise<void> {
    try {
      const lease = await this.o.kube.readLease(this.o.namespace, this.o.name);
      const now = this.now();
      if (!lease) return await this.create(now);
      const heldByMe = lease.spec.holderIdentity === this.o.identity;
      if (!heldByMe && !this.expired(lease, now)) return this.setLeader(false);
      await this.take(lease, { now, heldByMe });
    } catch (e) {
      this.failed(e);
    }
  }

  /** No lease yet: ours, first transition. */
  private async create(now: number): Promise<void> {
    const { namespace, name } = this.o;
    await this.o.kube.createLease({ metadata: { name, namespace }, spec: { ...this.record({}), acquireTime: microTime(now), leaseTransitions: 0 } });
    this.lastRenew = now;
    this.setLeader(true);
  }

  /**
   * Whether the lease may be taken: no holder, or the same record seen
   * unchanged for a whole lease duration of this replica's own clock.
   */
  private expired(lease: Lease, now: number): boolean {
    const key = `${lease.spec.holderIdentity}|${lease.spec.renewTime}`;
    if (key !== this.observed) {
      this.observed = key;
      this.observedAt = now;
    }
    const seconds = lease.spec.leaseDurationSeconds || (this.o.leaseDurationSeconds ?? 15);
    const duration = seconds * 1000;
    return !lease.spec.holderIdentity || this.observedAt + duration <= now;
  }

  /** Renews our lease, or takes over an expired one (a new transition). */
  private async take(lease: Lease, { now, heldByMe }: { now: number; heldByMe: boolean }): Promise<void> {
    const spec = heldByMe
      ? this.record(lease.spec)
      : { ...this.record(lease.spec), acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 };
    await this.o.kube.replaceLease({ ...lease, spec });
    this.lastRenew = now;
    this.setLeader(true);
  }

  /** A leader that could not renew within the renew deadline steps down; a conflict (409) is another replica winning, not news. */
  private failed(e: unknown): void {
    const deadline = (this.o.renewDeadlineSeconds ?? 10) * 1000;
    if (this.leader && this.now() - this.lastRenew > deadline) this.setLeader(false);
    if (kubeStatusCode(e) !== 409) this.o.logger.warn({ err: (e as Error).message }, 'leader election: lease update failed');
  }
}
