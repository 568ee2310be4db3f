import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseCommandArgs } from '../../src/cli/args.ts';
import type { CommandIO } from '../../src/cli/command.ts';

function io(): { io: CommandIO; err: () => string } {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c) => (err += String(c)));
  return { io: { stdout: new PassThrough(), stderr, env: {}, cwd: '/' } as unknown as CommandIO, err: () => err };
}

const options = { out: { type: 'string', short: 'o' }, json: { type: 'boolean' } } as const;

test('parses the arguments into typed values and positionals', () => {
  const t = io();
  const parsed = parseCommandArgs(t.io, 'thing', 'Usage: portcullis thing', { args: ['-o', 'x', '--json', 'dir'], allowPositionals: true, options });
  assert.notEqual(typeof parsed, 'number');
  if (typeof parsed === 'number') return;
  assert.equal(parsed.values.out, 'x');
  assert.equal(parsed.values.json, true);
  assert.deepEqual(parsed.positionals, ['dir']);
  assert.equal(t.err(), '');
});

test('a wrong argument prints the problem and the usage and gives exit code 2', () => {
  const t = io();
  const parsed = parseCommandArgs(t.io, 'thing', 'Usage: portcullis thing', { args: ['--nope'], allowPositionals: true, options });
  assert.equal(parsed, 2);
  assert.match(t.err(), /^portcullis thing: .*--nope.*\n\nUsage: portcullis thing\n$/s);
});
