// Records for ledger tests: realistic shape, deterministic content.
import type { IntentRecord, OutcomeRecord } from '../../../src/evidence/recorder.ts';
import { inputHash } from '../../../src/evidence/hash.ts';
import type { PolicyInput } from '../../../src/gate/types.ts';

export function sampleInput(i: number, mode: 'enforce' | 'observe' = 'enforce'): PolicyInput {
  return {
    action: {
      type: 'mcp',
      tool: 'write_file',
      mcp: { server: 'fs', method: 'tools/call', name: 'write_file', arguments: { path: `/prod/file-${i}.yaml`, content: 'x: 1' }, id: i },
    },
    agent: { namespace: 'agents', pod: 'agent-0', serviceAccount: 'agent', labels: { app: 'agent' }, annotations: {} },
    context: { time: '2026-01-01T00:00:00Z', mode, traceId: '0af7651916cd43dd8448eb211c80319c', approval: null },
  };
}

export function sampleIntent(i: number, overrides: Partial<IntentRecord> = {}): IntentRecord {
  const input = sampleInput(i);
  return {
    decisionId: `d-${i}`,
    time: '2026-01-01T00:00:00.000Z',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    mode: 'enforce',
    effect: 'deny',
    enforcedEffect: 'deny',
    reason: 'writes to /prod are denied',
    policyDigest: 'sha256:' + 'ab'.repeat(32),
    bundle: 'default',
    entrypoint: 'portcullis/decision',
    inputHash: inputHash(input),
    input,
    decision: { effect: 'deny', reason: 'writes to /prod are denied' },
    ...overrides,
  };
}

export function sampleOutcome(i: number): OutcomeRecord {
  return { decisionId: `d-${i}`, time: '2026-01-01T00:00:00.010Z', status: 200, outputHash: 'sha256:' + 'cd'.repeat(32), bytes: 12, latencyMs: 3.5 };
}
