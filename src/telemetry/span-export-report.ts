/**
 * What became of exported spans, as metrics and as log lines that do not
 * flood: the first failure is logged at once, later ones at most once a
 * minute with how many spans went since.
 */
import type { Logger } from './logger.ts';
import type { PortcullisMetrics } from './metrics.ts';
import type { SpanExportReport } from './otlp-span-processor.ts';

const QUIET_MS = 60_000;

export function spanExportReport(metrics: PortcullisMetrics, logger: Logger, now: () => number = Date.now): SpanExportReport {
  let lastLogged = -Infinity;
  let unlogged = { failed: 0, dropped: 0 };
  const log = (error: unknown): void => {
    if (now() - lastLogged < QUIET_MS) return;
    lastLogged = now();
    logger.warn({ err: error, ...unlogged }, 'spans could not be exported: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up');
    unlogged = { failed: 0, dropped: 0 };
  };
  return {
    exported: (n) => metrics.traceSpans.inc({ result: 'exported' }, n),
    failed: (n, error) => {
      metrics.traceSpans.inc({ result: 'failed' }, n);
      unlogged.failed += n;
      log(error);
    },
    dropped: (n) => {
      metrics.traceSpans.inc({ result: 'dropped' }, n);
      unlogged.dropped += n;
      log(new Error(`the export queue is full (OTEL_BSP_MAX_QUEUE_SIZE): the collector does not keep up`));
    },
  };
}
