import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.ts';

let dir: string;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Port 0 and no ledger: should the command get past its checks, it must not
  // collide with anything; the test then fails on the exit code it never returns.
  const env = { ...process.env, PORTCULLIS_PORT: '0', PORTCULLIS_ADMIN_PORT: '0', PORTCULLIS_COMPILER: 'portcullis' };
  const code = await main(args, { stdout, stderr, env, cwd: dir });
  return { code, stdout: out, stderr: err };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-dev-'));
  await writeFile(join(dir, 'a-file'), 'not a folder\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('portcullis dev --policies', () => {
  it('refuses a folder that does not exist with PORTCULLIS_CONFIG before listening, and no stack trace', async () => {
    const r = await run(['dev', '--policies', 'no-such-policies', '--no-ledger']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^portcullis dev: PORTCULLIS_CONFIG: the policy folder no-such-policies .* does not exist/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.doesNotMatch(r.stdout, /compiling|gating/);
  });

  it('refuses a file given as the folder with PORTCULLIS_CONFIG', async () => {
    const r = await run(['dev', '--policies', 'a-file', '--no-ledger']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PORTCULLIS_CONFIG: the policy folder a-file .* is not a folder/);
  });
});
