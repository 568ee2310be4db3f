/**
 * Every Prometheus metric Portcullis exposes, in one place so that names stay
 * consistent (`portcullis_…_total` for counters, `_seconds` for durations) and
 * dashboards can be written against one list. `createMetrics()` makes a fresh
 * registry each time: nothing is registered globally, so tests and several
 * instances in one process do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Buckets for in-process work (policy evaluation): 10 µs … 100 ms. */
const FAST_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
/** Buckets for whole requests and I/O: 100 µs … 30 s. */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PortcullisMetrics {
  readonly registry: Registry;
  // Decisions
  /** One per decision: effect as decided, tool, mode, bundle. */
  readonly decisions: Counter<'effect' | 'tool' | 'mode' | 'bundle'>;
  /** Decisions the gate failed closed on, by error code. */
  readonly failClosed: Counter<'code'>;
  /** Time spent in the policy engine for one evaluation. */
  readonly evaluationSeconds: Histogram<'bundle'>;
  /** From the request arriving to the response ending, by enforced effect. */
  readonly requestSeconds: Histogram<'effect' | 'mode'>;
  /** Upstream call duration, by tool and outcome (`ok`, `error`). */
  readonly upstreamSeconds: Histogram<'tool' | 'outcome'>;
  /** Escalations by verdict (`approved`, `rejected`, `timeout`). */
  readonly approvals: Counter<'verdict'>;
  /** 1 while the pod's capture rules send its TCP to the sidecar (probed), 0 when capture is off or not active. */
  readonly captureActive: Gauge;
  // Bundles
  /** 1 for the loaded bundle, labelled with its digest and compiler. */
  readonly bundleInfo: Gauge<'bundle' | 'digest' | 'compiler'>;
  /** Bundle loads and reloads by result (`success`, `failure`). */
  readonly bundleReloads: Counter<'bundle' | 'result'>;
  /** Compilation time of a bundle. */
  readonly bundleCompileSeconds: Histogram<'compiler'>;
  // Ledger
  /** Entries made durable, by kind (`intent`, `outcome`). */
  readonly ledgerAppends: Counter<'kind'>;
  /** Duration of one group commit (write + fdatasync). */
  readonly ledgerFsyncSeconds: Histogram;
  /** Entries per group commit. */
  readonly ledgerBatchSize: Histogram;
  /** With `write` durability: one periodic fdatasync of what was written since the last. */
  readonly ledgerSyncSeconds: Histogram;
  /** Sequence number of the last entry known to be on stable storage (the head under `fsync` durability). */
  readonly ledgerSyncedSeq: Gauge;
  /** Failed appends, by kind. */
  readonly ledgerErrors: Counter<'kind'>;
  /** Entries that could not be recorded but whose action went ahead (observe mode). */
  readonly ledgerLost: Counter<'kind'>;
  /** Sequence number of the last committed entry (durable under `fsync`, written under `write`). */
  readonly ledgerHeadSeq: Gauge;
  /**
   * The first 48 bits of the last durable entry's hash, as a number: lets a
   * metrics pipeline witness the head without a new series per append (the
   * full hash and its signature are on the admin API, GET /v1/ledger/head).
   */
  readonly ledgerHeadHashPrefix: Gauge;
  /** Size of the active ledger file. */
  readonly ledgerFileBytes: Gauge;
  /** Ledger file rotations. */
  readonly ledgerRotations: Counter;
  /** Closed ledger segments uploaded to object storage and confirmed. */
  readonly ledgerShippedSegments: Counter;
  /** Bytes of those segments. */
  readonly ledgerShippedBytes: Counter;
  /** Upload of one segment, from the first byte sent to the confirming HEAD. */
  readonly ledgerShipSeconds: Histogram;
  /** Closed segments on the volume waiting for an upload. */
  readonly ledgerSegmentsWaiting: Gauge;
  /** Failed shipping attempts, by what failed (segment, bundle, head, witness). */
  readonly ledgerShipFailures: Counter<'what'>;
  /** Sequence number of the last head the witness accepted. */
  readonly ledgerWitnessedSeq: Gauge;
  // Traces
  /** Spans sent to the OTLP collector, by result (`exported`, `failed`, `dropped` when the export queue was full). */
  readonly traceSpans: Counter<'result'>;
}

export interface MetricsOptions {
  /** Also collect Node.js process metrics (event loop lag, heap, CPU). Default true. */
  processMetrics?: boolean;
  /** Labels added to every series, e.g. `{ pod: 'agent-0' }`. */
  defaultLabels?: Record<string, string>;
}

export function createMetrics(options: MetricsOptions = {}): PortcullisMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'portcullis_' });
  const registers = [registry];
  return {
    registry,
    decisions: new Counter({
      name: 'portcullis_decisions_total',
      help: 'Policy decisions, by effect as decided, tool (catalog name; external for forward-proxy calls to no catalog tool), mode and bundle.',
      labelNames: ['effect', 'tool', 'mode', 'bundle'] as const,
      registers,
    }),
    failClosed: new Counter({
      name: 'portcullis_fail_closed_total',
      help: 'Actions refused because no valid decision or record could be made, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    evaluationSeconds: new Histogram({
      name: 'portcullis_policy_evaluation_seconds',
      help: 'Time spent evaluating the policy for one decision.',
      labelNames: ['bundle'] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'portcullis_request_duration_seconds',
      help: 'End-to-end duration of a proxied call, from request to the end of the response.',
      labelNames: ['effect', 'mode'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: 'portcullis_upstream_duration_seconds',
      help: 'Duration of the upstream call, by tool (as for decisions) and outcome.',
      labelNames: ['tool', 'outcome'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    approvals: new Counter({
      name: 'portcullis_approvals_total',
      help: 'Escalations resolved, by verdict (approved, rejected, timeout; refused: a verdict the broker could not trust; abandoned: the agent went away).',
      labelNames: ['verdict'] as const,
      registers,
    }),
    captureActive: new Gauge({
      name: 'portcullis_capture_active',
      help: 'Traffic capture: 1 while the pod\'s rules send its TCP to the sidecar (checked by probe), 0 when capture is off or not active.',
      registers,
    }),
    bundleInfo: new Gauge({
      name: 'portcullis_bundle_info',
      help: 'The loaded policy bundle (value is always 1).',
      labelNames: ['bundle', 'digest', 'compiler'] as const,
      registers,
    }),
    bundleReloads: new Counter({
      name: 'portcullis_bundle_reloads_total',
      help: 'Bundle loads, by result (success, failure).',
      labelNames: ['bundle', 'result'] as const,
      registers,
    }),
    bundleCompileSeconds: new Histogram({
      name: 'portcullis_bundle_compile_seconds',
      help: 'Time to compile a policy bundle.',
      labelNames: ['compiler'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ledgerAppends: new Counter({
      name: 'portcullis_ledger_appends_total',
      help: 'Ledger entries made durable, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    ledgerFsyncSeconds: new Histogram({
      name: 'portcullis_ledger_fsync_seconds',
      help: 'Duration of one ledger group commit (write and fdatasync; with PORTCULLIS_LEDGER_DURABILITY=write, the write alone).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    ledgerBatchSize: new Histogram({
      name: 'portcullis_ledger_batch_entries',
      help: 'Entries made durable by one group commit.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    }),
    ledgerSyncSeconds: new Histogram({
      name: 'portcullis_ledger_sync_seconds',
      help: 'With PORTCULLIS_LEDGER_DURABILITY=write: one periodic fdatasync of the entries written since the last.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    ledgerSyncedSeq: new Gauge({
      name: 'portcullis_ledger_synced_seq',
      help: 'Sequence number of the last ledger entry known to be on stable storage (equal to portcullis_ledger_head_seq under fsync durability).',
      registers,
    }),
    ledgerErrors: new Counter({
      name: 'portcullis_ledger_errors_total',
      help: 'Ledger appends that failed, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    traceSpans: new Counter({
      name: 'portcullis_trace_spans_total',
      help: 'Spans exported over OTLP/HTTP, by result: exported, failed (the collector refused or could not be reached), dropped (the export queue was full).',
      labelNames: ['result'] as const,
      registers,
    }),
    ledgerLost: new Counter({
      name: 'portcullis_ledger_lost_total',
      help: 'Entries not recorded whose action went ahead anyway (observe mode).',
      labelNames: ['kind'] as const,
      registers,
    }),
    ledgerHeadSeq: new Gauge({
      name: 'portcullis_ledger_head_seq',
      help: 'Sequence number of the last committed ledger entry (durable under fsync durability, written under write).',
      registers,
    }),
    ledgerHeadHashPrefix: new Gauge({
      name: 'portcullis_ledger_head_hash_prefix',
      help: 'First 12 hex digits (48 bits) of the hash of the last durable ledger entry, as a number.',
      registers,
    }),
    ledgerFileBytes: new Gauge({
      name: 'portcullis_ledger_file_bytes',
      help: 'Size of the active ledger file.',
      registers,
    }),
    ledgerRotations: new Counter({
      name: 'portcullis_ledger_rotations_total',
      help: 'Ledger file rotations.',
      registers,
    }),
    ledgerShippedSegments: new Counter({
      name: 'portcullis_ledger_shipped_segments_total',
      help: 'Closed ledger segments uploaded to object storage and confirmed (then deleted locally).',
      registers,
    }),
    ledgerShippedBytes: new Counter({
      name: 'portcullis_ledger_shipped_bytes_total',
      help: 'Bytes of the ledger segments uploaded and confirmed.',
      registers,
    }),
    ledgerShipSeconds: new Histogram({
      name: 'portcullis_ledger_ship_seconds',
      help: 'Upload of one ledger segment, from the first byte sent to the confirming HEAD.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ledgerSegmentsWaiting: new Gauge({
      name: 'portcullis_ledger_segments_waiting',
      help: 'Closed ledger segments on the volume not yet confirmed in object storage.',
      registers,
    }),
    ledgerShipFailures: new Counter({
      name: 'portcullis_ledger_ship_failures_total',
      help: 'Failed shipping attempts: segment (upload or confirmation), bundle (a recorded policy), head (head.json), witness (the controller refused or was unreachable).',
      labelNames: ['what'],
      registers,
    }),
    ledgerWitnessedSeq: new Gauge({
      name: 'portcullis_ledger_witnessed_seq',
      help: 'Sequence number of the last ledger head the witness (controller) accepted.',
      registers,
    }),
  };
}

/** The number `portcullis_ledger_head_hash_prefix` shows for a `sha256:` hash. */
export function headHashPrefix(hash: string): number {
  return Number.parseInt(hash.slice('sha256:'.length, 'sha256:'.length + 12), 16);
}

/** Points the head gauges at a new head. */
export function setLedgerHead(metrics: PortcullisMetrics, seq: number, hash: string): void {
  metrics.ledgerHeadSeq.set(seq);
  metrics.ledgerHeadHashPrefix.set(headHashPrefix(hash));
}

/** Points the bundle info gauge at the loaded bundle (one series, replacing the last). */
export function setBundleInfo(metrics: PortcullisMetrics, bundle: string, digest: string, compiler: string): void {
  metrics.bundleInfo.reset();
  metrics.bundleInfo.set({ bundle, digest, compiler }, 1);
}
