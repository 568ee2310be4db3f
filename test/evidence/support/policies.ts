// Two versions of a small policy, compiled for real, and a ledger of decisions
// recorded with the first one, the way the gate records them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBundleDir } from '../../../src/policy/bundle-dir.ts';
import { PortcullisCompiler } from '../../../src/policy/compiler.ts';
import { OpaWasmEngine } from '../../../src/policy/engine.ts';
import type { CompiledBundle } from '../../../src/policy/types.ts';
import { Ledger } from '../../../src/evidence/ledger.ts';
import { inputHash } from '../../../src/evidence/hash.ts';
import { sampleInput, sampleIntent, sampleOutcome } from './records.ts';

export const POLICY_V1 = `package portcullis

decision := {"effect": "deny", "reason": "writes to /prod are denied"} if {
  startswith(input.action.mcp.arguments.path, "/prod/")
} else := {"effect": "allow", "reason": "ok"}
`;

/** v2 escalates writes to /prod/file-1… instead of denying them. */
export const POLICY_V2 = `package portcullis

decision := {"effect": "escalate", "reason": "needs approval", "escalation": {"approvers": ["group:ops"], "timeoutSeconds": 300}} if {
  startswith(input.action.mcp.arguments.path, "/prod/file-1")
} else := {"effect": "deny", "reason": "writes to /prod are denied"} if {
  startswith(input.action.mcp.arguments.path, "/prod/")
} else := {"effect": "allow", "reason": "ok"}
`;

export async function writePolicyDir(dir: string, rego: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'policy.rego'), rego);
  await writeFile(join(dir, 'portcullis.yaml'), 'entrypoint: portcullis/decision\n');
  return dir;
}

export async function compileDir(dir: string): Promise<CompiledBundle> {
  return new PortcullisCompiler().compile(await readBundleDir(dir));
}

/** Records `count` decisions made by `bundle` into a new ledger at `path`. */
export async function recordDecisions(path: string, bundle: CompiledBundle, count: number): Promise<void> {
  const engine = new OpaWasmEngine();
  await engine.load(bundle);
  const ledger = await Ledger.open({ path });
  for (let i = 0; i < count; i++) {
    const input = sampleInput(i);
    const raw = engine.evaluate(input).result ?? null;
    const effect = (raw as { effect: 'allow' | 'deny' }).effect;
    await ledger.append(
      'intent',
      sampleIntent(i, { input, inputHash: inputHash(input), decision: raw, effect, enforcedEffect: effect, policyDigest: bundle.digest, reason: (raw as { reason: string }).reason }),
    );
    await ledger.append('outcome', sampleOutcome(i));
  }
  await ledger.close();
}
