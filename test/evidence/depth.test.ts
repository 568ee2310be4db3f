// No body the gate accepts may make the ledger unverifiable: the gate's JSON
// nesting limit and the canonical form's limit are held together here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/evidence/ledger.ts';
import { canonicalInput } from '../../src/evidence/hash.ts';
import { MAX_DEPTH, MAX_INPUT_DEPTH } from '../../src/evidence/canonical.ts';
import { verifyLedger } from '../../src/evidence/verify.ts';
import { MAX_JSON_DEPTH, parseStrictJson } from '../../src/gate/strict-json.ts';
import { isPortcullisError } from '../../src/errors.ts';
import { sampleInput, sampleIntent, sampleOutcome } from './support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-depth-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A tools/call whose arguments nest `depth` levels deep (the body two more). */
function toolsCall(depth: number): string {
  let args = '"leaf"';
  for (let i = 0; i < depth; i++) args = `{"a":${args}}`;
  return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":${args}}}`;
}

describe('nesting the gate accepts is nesting the ledger verifies', () => {
  for (const depth of [MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH - 1, 509, 510]) {
    it(`arguments ${depth} deep: refused by the gate, or recorded and verifiable`, async () => {
      let message: { params: { arguments: unknown } };
      try {
        message = parseStrictJson(toolsCall(depth)) as typeof message;
      } catch (e) {
        assert.ok(isPortcullisError(e) && e.code === 'PORTCULLIS_BAD_REQUEST', String(e));
        assert.ok(depth > MAX_JSON_DEPTH - 2, `a body within MAX_JSON_DEPTH (arguments ${depth} deep) was refused`);
        return;
      }
      const base = sampleInput(0);
      const input = { ...base, action: { ...base.action, mcp: { server: 'fs', method: 'tools/call', name: 'echo', arguments: message.params.arguments as Record<string, unknown>, id: 1 } } };
      // As the gate records: the input's canonical text is computed once for its
      // hash and spliced into the entry.
      const { canonical, hash } = canonicalInput(input);
      const path = join(dir, `depth-${depth}.jsonl`);
      const ledger = await Ledger.open({ path });
      await ledger.append('intent', sampleIntent(0, { input, inputHash: hash, effect: 'allow', enforcedEffect: 'allow' }), new Map([[input, canonical]]));
      await ledger.append('outcome', sampleOutcome(0));
      await ledger.close();
      const report = await verifyLedger([path]);
      assert.equal(report.ok, true, JSON.stringify(report.findings ?? report).slice(0, 500));
    });
  }
});

describe('an input built in memory (a policy rewrite), not parsed from a body', () => {
  for (const depth of [MAX_INPUT_DEPTH - 4, MAX_DEPTH - 3, MAX_DEPTH - 2]) {
    it(`arguments ${depth} deep: refused when hashed, or recorded and verifiable`, async () => {
      let args: unknown = 'leaf';
      for (let i = 0; i < depth; i++) args = { a: args };
      const base = sampleInput(0);
      const input = { ...base, action: { ...base.action, mcp: { server: 'fs', method: 'tools/call', name: 'echo', arguments: args as Record<string, unknown>, id: 1 } } };
      let hashed: ReturnType<typeof canonicalInput>;
      try {
        hashed = canonicalInput(input);
      } catch (e) {
        assert.match(String(e), /nesting deeper/);
        assert.ok(depth > MAX_INPUT_DEPTH - 4, 'an input within MAX_INPUT_DEPTH was refused');
        return;
      }
      const path = join(dir, `built-${depth}.jsonl`);
      const ledger = await Ledger.open({ path });
      // As a compute decision is recorded: the rewritten input one level deeper.
      const record = { ...sampleIntent(0, { input, inputHash: hashed.hash }), rewritten: { input, inputHash: hashed.hash, decision: null } };
      await ledger.append('intent', record, new Map([[input, hashed.canonical]]));
      await ledger.close();
      const report = await verifyLedger([path]);
      assert.equal(report.ok, true, JSON.stringify(report.findings).slice(0, 500));
    });
  }
});
