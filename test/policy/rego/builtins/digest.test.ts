// The runtime's digests and HMACs against node:crypto, across the padding
// boundaries of 64- and 128-byte blocks and keys longer than a block.
import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { loadRuntime, type Runtime } from './runtime-harness.ts';

let rt: Runtime;
before(async () => {
  rt = await loadRuntime();
});

const MESSAGES = ['', 'abc', 'héllo wörld', ...[55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 300].map((n) => 'a'.repeat(n))];

for (const alg of ['md5', 'sha1', 'sha256', 'sha384', 'sha512']) {
  it(`crypto.${alg} (and its HMAC) agree with node:crypto`, () => {
    for (const m of MESSAGES) {
      assert.equal(rt.call(`crypto.${alg}`, m), createHash(alg).update(m).digest('hex'), `${alg} of ${m.length} bytes`);
      if (alg === 'sha384') continue; // no crypto.hmac.sha384 in OPA
      for (const key of ['', 'key', 'k'.repeat(200)]) {
        assert.equal(rt.call(`crypto.hmac.${alg}`, m, key), createHmac(alg, key).update(m).digest('hex'), `hmac ${alg}`);
      }
    }
  });
}

it('crypto.hmac.equal compares exactly', () => {
  assert.equal(rt.call('crypto.hmac.equal', 'abc', 'abc'), true);
  assert.equal(rt.call('crypto.hmac.equal', 'abc', 'abd'), false);
  assert.equal(rt.call('crypto.hmac.equal', 'abc', 'ab'), false);
});
