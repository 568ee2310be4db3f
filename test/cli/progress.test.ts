import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress } from '../../src/cli/progress.ts';

describe('createProgress', () => {
  it('stays quiet for the first second, then reports at most once a second', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (d: Buffer) => (text += d.toString()));
    let now = 0;
    const p = createProgress({ stdout: new PassThrough(), stderr, env: {}, cwd: '/' }, 'verify', () => now);
    p.update(10, 100, '10 entries');
    now = 1500;
    p.update(50, 100, '50 entries');
    now = 1900;
    p.update(60, 100, '60 entries');
    now = 2600;
    p.update(90, 100, '90 entries');
    p.done();
    assert.equal(text, 'verify: 50 entries (50%)\nverify: 90 entries (90%)\n');
  });
});
