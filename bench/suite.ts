/**
 * What a benchmark suite is. Every figure is reported beside a baseline the
 * suite measures in the same run, as a ratio, because absolute numbers on a
 * shared machine say little; the ratio to a known floor says what the code
 * under test adds.
 */

export interface BenchContext {
  /** Fewer iterations: for CI and busy machines. */
  quick: boolean;
  /** The project root (benchmarks read fixtures and shipped files from it). */
  root: string;
  /** Progress lines go here (stderr), never into the results. */
  log(line: string): void;
}

export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The baseline metric of the same suite this one is compared with. */
  baseline?: string;
  /** Set by the harness: value / baseline value. */
  ratio?: number;
  /** Lower is better (latency, memory) unless this says otherwise (throughput). */
  higherIsBetter?: boolean;
  /** When `value` is the median over rounds: the least and the greatest round. */
  low?: number;
  high?: number;
  /** The target this figure is held to, as text (`≤ 2`), and whether this run met it. */
  goal?: string;
  meets?: boolean;
}

/** A table a suite prints after the metrics (figures that read best side by side). */
export interface SuiteTable {
  title: string;
  header: string[];
  rows: string[][];
}

export interface SuiteResult {
  metrics: Metric[];
  /** Anything the reader needs to interpret the figures (what was measured, on what). */
  notes?: string[];
  tables?: SuiteTable[];
  /** Every measurement behind the metrics, for --json only. */
  data?: unknown;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<SuiteResult>;
}
