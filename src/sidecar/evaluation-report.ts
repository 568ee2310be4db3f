/** What every policy evaluation reports, whatever came of it: its time, and a fail-closed count. */
import type { Resolution } from '../gate/resolve.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { DecisionFrame } from './decision-frame.ts';

export interface EvaluationReportDeps {
  /** Evaluations slower than this are logged (never refused: see src/gate/evaluate.ts). */
  evalSlowMs: number;
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
}

export function reportEvaluation(d: EvaluationReportDeps, frame: DecisionFrame, res: Resolution): void {
  const { elapsedMs, digest, entrypoint, error } = res.evaluation;
  if (elapsedMs > d.evalSlowMs) {
    d.logger?.warn(
      { elapsedMs: Math.round(elapsedMs * 10) / 10, slowMs: d.evalSlowMs, digest, entrypoint },
      'a policy evaluation was slow (PORTCULLIS_EVAL_SLOW_MS); the decision stands — look for expensive comprehensions or iteration over large data',
    );
  }
  d.metrics?.evaluationSeconds.observe({ bundle: frame.bundleName }, elapsedMs / 1000);
  if (error) d.metrics?.failClosed.inc({ code: error.code });
}
