/**
 * Whether capture is active, for readiness and the `portcullis_capture_active`
 * gauge: the capture listeners' probes are sent at start and again until they
 * all pass (the init step installs the rules before the sidecar starts, so
 * the first check normally passes), then every `recheckMs` so that rules
 * removed later are seen.
 */
import type { Logger } from '../telemetry/logger.ts';
import type { PortcullisMetrics } from '../telemetry/metrics.ts';
import type { CaptureListeners } from './capture-listeners.ts';

export interface CaptureWatch {
  /** Why capture is not active, or undefined when it is. */
  problem(): string | undefined;
  /** Resolves after the first check. */
  readonly first: Promise<void>;
  stop(): void;
}

interface CaptureWatchOptions {
  metrics?: PortcullisMetrics | undefined;
  logger?: Logger | undefined;
  retryMs?: number;
  recheckMs?: number;
}

/** Logs a change of state only: a check that finds what the last one found says nothing. */
function logChange(logger: Logger | undefined, now: string | undefined, problems: readonly string[]): void {
  if (now) logger?.error({ code: 'PORTCULLIS_CAPTURE', problems }, now);
  else logger?.info('capture is active: the pod\'s rules send its TCP to the capture listeners');
}

/** Soon again while capture is not active; seldom once it is. */
function nextCheckMs(o: CaptureWatchOptions, now: string | undefined): number {
  return now ? (o.retryMs ?? 2000) : (o.recheckMs ?? 30_000);
}

export function watchCapture(listeners: CaptureListeners, o: CaptureWatchOptions): CaptureWatch {
  let problem: string | undefined = 'capture has not been checked yet';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async (): Promise<void> => {
    const problems = await listeners.check();
    const now = problems.length ? `capture is not active: ${problems.join('; ')}` : undefined;
    if (now !== problem) logChange(o.logger, now, problems);
    problem = now;
    o.metrics?.captureActive.set(now ? 0 : 1);
    if (!stopped) timer = setTimeout(() => void check(), nextCheckMs(o, now)).unref();
  };
  const first = check();
  return {
    problem: () => problem,
    first,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
