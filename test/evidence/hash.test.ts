import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingTransform, OutputHasher, isSha256 } from '../../src/evidence/hash.ts';

describe('output hashing while streaming', () => {
  it('passes every byte through unchanged and hashes them without buffering', async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const expected = 'sha256:' + createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    const hashing = new HashingTransform();
    let passed = 0;
    let maxHeld = 0;
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _e, cb) {
        passed += chunk.byteLength;
        maxHeld = Math.max(maxHeld, hashing.readableLength + hashing.writableLength);
        setImmediate(cb);
      },
    });
    await pipeline(Readable.from(chunks), hashing, sink);
    const r = await hashing.result;
    assert.equal(passed, 4 * 1024 * 1024);
    assert.deepEqual(r, { hash: expected, bytes: 4 * 1024 * 1024 });
    assert.ok(maxHeld <= 256 * 1024, `held at most ${maxHeld} bytes`);
  });

  it('rejects its result when the stream is destroyed before the end', async () => {
    const hashing = new HashingTransform();
    hashing.write('partial');
    hashing.destroy(new Error('client went away'));
    await assert.rejects(hashing.result, /client went away/);
    assert.equal(hashing.hasher.bytes, 7);
  });

  it('hashes chunks fed by hand; empty bodies have the empty hash', () => {
    const h = new OutputHasher();
    h.update('hello ');
    h.update(Buffer.from('world'));
    assert.equal(h.digest(), 'sha256:' + createHash('sha256').update('hello world').digest('hex'));
    assert.equal(h.digest(), h.digest());
    assert.equal(h.bytes, 11);
    assert.throws(() => h.update('more'));
    assert.equal(new OutputHasher().digest(), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.ok(isSha256(h.digest()));
    assert.equal(isSha256('sha256:xyz'), false);
  });
});
