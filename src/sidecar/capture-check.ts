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

export function watchCapture(listeners: CaptureListeners, o: { metrics?: PortcullisMetrics | undefined; logger?: Logger | undefined; retryMs?: number; recheckMs?: number }): CaptureWatch {
  let problem: string | undefined = 'capture has not been checked yet';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async (): Promise<void> => {
    const problems = await listeners.check();
    const now = problems.length ? `capture is not active: ${problems.join('; ')}` : undefined;
    if (now !== problem) {
      if (now) o.logger?.error({ code: 'PORTCULLIS_CAPTURE', problems }, now);
      else o.logger?.info('capture is active: the pod\'s rules send its TCP to the capture listeners');
    }
    problem = now;
    o.metrics?.captureActive.set(now ? 0 : 1);
    if (!stopped) timer = setTimeout(() => void check(), now ? (o.retryMs ?? 2000) : (o.recheckMs ?? 30_000)).unref();
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
