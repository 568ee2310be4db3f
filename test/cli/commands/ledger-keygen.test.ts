import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.ts';
import { Ledger } from '../../../src/evidence/ledger.ts';
import { loadHeadSigner } from '../../../src/evidence/signing.ts';
import { sampleIntent } from '../../evidence/support/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-keygen-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await main(args, { stdout, stderr: new PassThrough(), env: {}, cwd: dir });
  return { code, stdout: out };
}

describe('portcullis ledger-keygen', () => {
  it('writes a key pair whose private half signs a ledger that verifies with the public half', async () => {
    const r = await run(['ledger-keygen', '--out', 'keys']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /key ID\s+sha256:[0-9a-f]{64}/);
    assert.equal((await stat(join(dir, 'keys', 'ledger-signing.key'))).mode & 0o777, 0o600);
    const signer = await loadHeadSigner(join(dir, 'keys', 'ledger-signing.key'));
    const ledger = await Ledger.open({ path: join(dir, 'ledger.jsonl'), signer });
    await ledger.append('intent', sampleIntent(1));
    await ledger.close();
    const v = await run(['verify', '--public-key', 'keys/ledger-signing.pub', 'ledger.jsonl']);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /signatures: 1 valid/);
  });

  it('never overwrites an existing key', async () => {
    assert.equal((await run(['ledger-keygen', '--out', 'keys2'])).code, 0);
    assert.equal((await run(['ledger-keygen', '--out', 'keys2'])).code, 1);
  });
});
