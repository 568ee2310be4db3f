/**
 * Installs a capture rule set with the `nft` command and reads it back to
 * check that the kernel holds what was generated. Needs CAP_NET_ADMIN in the
 * pod's network namespace (the capture init container has it; the sidecar
 * and the agent do not).
 */
import { spawn } from 'node:child_process';
import { ErrorCodes, PortcullisError } from '../errors.ts';
import { renderNftScript, type CaptureRuleSet } from './nft-rules.ts';

export interface NftOptions {
  /** The nft binary; `nft` on PATH by default. */
  nft?: string;
}

function run(nft: string, args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(nft, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) =>
      reject(new PortcullisError(ErrorCodes.CAPTURE, `cannot run ${nft} (${e.message}): the image needs the nftables package`, { nft }, { cause: e })),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // nft that stops before reading all of its input (it refused the rules)
    // closes the pipe: its exit status and stderr say why, not the EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** Applies the rule set in one transaction (`nft -f -`), replacing any earlier copy of the table. */
export async function applyRuleSet(set: CaptureRuleSet, o: NftOptions = {}): Promise<void> {
  const nft = o.nft ?? 'nft';
  const r = await run(nft, ['-f', '-'], renderNftScript(set));
  if (r.code !== 0) {
    const hint = /Operation not permitted/i.test(r.stderr) ? ': the init container needs the NET_ADMIN capability' : '';
    throw new PortcullisError(ErrorCodes.CAPTURE, `nft -f refused the capture rules (exit ${r.code})${hint}: ${r.stderr.trim().slice(0, 2000)}`, { stderr: r.stderr.slice(0, 4096) });
  }
}

interface NftJsonChain {
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

/** What the kernel holds for the table, per chain: its type, hook, priority, and how many rules. */
export async function readRuleSet(set: Pick<CaptureRuleSet, 'table'>, o: NftOptions = {}): Promise<Map<string, NftJsonChain & { rules: number }>> {
  const nft = o.nft ?? 'nft';
  const r = await run(nft, ['-j', 'list', 'table', 'inet', set.table], '');
  if (r.code !== 0) throw new PortcullisError(ErrorCodes.CAPTURE, `the capture table inet ${set.table} is not in place: ${r.stderr.trim().slice(0, 500)}`);
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  const chains = new Map<string, NftJsonChain & { rules: number }>();
  for (const item of items) {
    const c = item.chain as NftJsonChain | undefined;
    if (c) chains.set(c.name, { ...c, rules: 0 });
  }
  for (const item of items) {
    const rule = item.rule as { chain: string } | undefined;
    const c = rule ? chains.get(rule.chain) : undefined;
    if (c) c.rules++;
  }
  return chains;
}

/** Throws CAPTURE unless every chain of the set is installed with its hook, priority and number of rules. */
export async function verifyRuleSet(set: CaptureRuleSet, o: NftOptions = {}): Promise<void> {
  const held = await readRuleSet(set, o);
  for (const want of set.chains) {
    const got = held.get(want.name);
    const problem = !got
      ? 'is missing'
      : got.type !== want.type || got.hook !== 'output' || got.prio !== want.priority
        ? `is a ${got.type} chain on ${got.hook} at priority ${got.prio}, not ${want.type} on output at ${want.priority}`
        : got.rules !== want.rules.length
          ? `holds ${got.rules} rules, not ${want.rules.length}`
          : undefined;
    if (problem) throw new PortcullisError(ErrorCodes.CAPTURE, `capture chain inet ${set.table} ${want.name} ${problem}`, { chain: want.name });
  }
  if (held.size !== set.chains.length) {
    throw new PortcullisError(ErrorCodes.CAPTURE, `capture table inet ${set.table} holds other chains (${[...held.keys()].join(', ')})`);
  }
}
