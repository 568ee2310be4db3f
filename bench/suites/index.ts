/**
 * The registry of benchmark suites. To add one: write `bench/suites/<name>.ts`
 * exporting `suite: BenchSuite`, and add one line here. Suites are imported
 * only when they run.
 */
import type { BenchSuite } from '../suite.ts';

export const SUITES: Record<string, () => Promise<{ suite: BenchSuite }>> = {
  controller: () => import('./controller.ts'),
  evidence: () => import('./evidence.ts'),
  policy: () => import('./policy.ts'),
  proxy: () => import('./proxy.ts'),
};
