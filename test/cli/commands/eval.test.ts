import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.ts';
import { POLICY_V1, writePolicyDir } from '../../evidence/support/policies.ts';

let dir: string;

async function run(args: string[], stdinText: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdin = Readable.from([Buffer.from(stdinText)]);
  const code = await main(args, { stdout, stderr, stdin, env: { ...process.env, PORTCULLIS_COMPILER: 'portcullis' }, cwd: dir });
  return { code, stdout: out, stderr: err };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portcullis-cli-eval-'));
  await writePolicyDir(join(dir, 'policy'), POLICY_V1);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('portcullis eval --input -', () => {
  it('reads YAML from stdin, as its help says', async () => {
    const yaml = 'action:\n  mcp:\n    arguments:\n      path: /prod/config.yaml\n';
    const r = await run(['eval', '--bundle', 'policy', '--input', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { result: { effect: string }; defined: boolean };
    assert.equal(out.defined, true);
    assert.equal(out.result.effect, 'deny');
  });

  it('reads JSON from stdin', async () => {
    const r = await run(['eval', '--bundle', 'policy', '--input', '-'], '{"action":{"mcp":{"arguments":{"path":"/tmp/x"}}}}');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { result: { effect: string } }).result.effect, 'allow');
  });

  it('refuses stdin that is neither, with a code', async () => {
    const r = await run(['eval', '--bundle', 'policy', '--input', '-'], 'a: [1\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PORTCULLIS_BAD_REQUEST/);
  });
});
