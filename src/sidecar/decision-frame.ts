/**
 * What one decision is made against, fixed when it starts: the bundle (the
 * engine pinned to it), the bundle's name and the mode. A bundle swap while a
 * call waits for approval must not give one decision two modes, or evaluate
 * the approved call on a policy that never saw it held.
 */
import type { Mode } from '../gate/types.ts';
import type { CompiledBundle, PolicyEngine, PolicyView } from '../policy/types.ts';

export interface DecisionFrame {
  /** Evaluates on the bundle loaded when the decision started. */
  readonly policy: PolicyView;
  readonly bundle: CompiledBundle | undefined;
  readonly bundleName: string;
  readonly mode: Mode;
}

export interface FrameSources {
  engine: PolicyEngine;
  /** The mode a bundle runs in (a bundle may carry its own: PORTCULLIS_MODE_FROM_BUNDLE). */
  modeOf: (bundle: CompiledBundle | undefined) => Mode;
  bundleName: () => string;
}

export function frameNow(s: FrameSources): DecisionFrame {
  const policy = s.engine.pin?.() ?? s.engine;
  const bundle = policy.current();
  return Object.freeze({ policy, bundle, bundleName: s.bundleName(), mode: s.modeOf(bundle) });
}
