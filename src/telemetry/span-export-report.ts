/**
 * What became of exported spans, as metrics and as log lines that do not
 * flood: the first failure is logged at once, later ones at most once a
 * minute with how many spans were lost since.
 */
import type { Logger } from './logger.ts';
import type { PortcullisMetrics } from './metrics.ts';
import type { SpanExportReport } from './otlp-span-processor.ts';

const QUIET_MS = 60_000;

const QUEUE_FULL = 'the export queue is full (OTEL_BSP_MAX_QUEUE_SIZE): the collector does not keep up';

export function spanExportReport(metrics: PortcullisMetrics, logger: Logger, now: () => number = Date.now): SpanExportReport {
  let lastLogged = -Infinity;
  let lost = { failed: 0, dropped: 0 };
  // Called for every lost span while the collector is away: nothing is made unless a line is written.
  const log = (cause: unknown): void => {
    if (now() - lastLogged < QUIET_MS) return;
    lastLogged = now();
    logger.warn({ ...(cause instanceof Error ? { err: cause } : { reason: String(cause) }), ...lost }, 'spans could not be exported: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up');
    lost = { failed: 0, dropped: 0 };
  };
  return {
    exported: (n) => metrics.traceSpans.inc({ result: 'exported' }, n),
    failed: (n, error) => {
      metrics.traceSpans.inc({ result: 'failed' }, n);
      lost.failed += n;
      log(error);
    },
    dropped: (n) => {
      metrics.traceSpans.inc({ result: 'dropped' }, n);
      lost.dropped += n;
      log(QUEUE_FULL);
    },
  };
}
