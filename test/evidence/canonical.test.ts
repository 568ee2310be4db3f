import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { canonicalJson } from '../../src/evidence/canonical.ts';
import { canonicalInput, inputHash, sha256 } from '../../src/evidence/hash.ts';
import { rng } from '../support/random.ts';


const STRINGS = ['', 'a', 'é', '\u20ac', '\ud83d\ude00', '\u0000', '\n\t"\\', '\u007f', '\u2028', 'zz', 'A', 'aa', '\ue000', '10', '1', 'ß', 'a-b', 'x.y', 'p/q', 'k:v', 'u@h', '_', 'a b', '~'];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, 333333333.3333333, 4.5, -1e-7, 2 ** 53];

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (k) {
    case 0:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 1:
      return NUMBERS[Math.floor(r() * NUMBERS.length)];
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) o[STRINGS[Math.floor(r() * STRINGS.length)]! + (r() < 0.3 ? 'x' : '')] = value(r, depth + 1);
      return o;
    }
  }
}

describe('canonicalJson', () => {
  it('matches the reference implementation (canonicalize) on 5,000 random values', () => {
    const r = rng(8785);
    for (let i = 0; i < 5000; i++) {
      const v = value(r, 0);
      assert.equal(canonicalJson(v), canonicalize(v), JSON.stringify(v));
    }
  });

  it('follows RFC 8785: sorted keys by UTF-16 units, ES number form, minimal escapes', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 1, '\ud83d\ude00': 2, '\ue000': 3 }), '{"a":[true,null,"x"],"b":1,"\u20ac":1,"\ud83d\ude00":2,"\ue000":3}');
    assert.equal(canonicalJson([1e21, 1e-7, -0, 0.000001]), '[1e+21,1e-7,0,0.000001]');
    assert.equal(canonicalJson({ a: undefined, b: () => 1 }), '{}');
    assert.equal(canonicalJson('\u001f\u2028'), '"\\u001f\u2028"');
  });

  it('splices in canonical texts already known for objects, by identity', () => {
    const input = { b: [1, { y: 'z', x: null }], a: 'é' };
    const record = { z: 1, input, copy: { ...input } };
    const known = new Map<object, string>([[input, canonicalJson(input)]]);
    assert.equal(canonicalJson(record, known), canonicalJson(record));
    // The known text is used as given (the copy, a different object, is serialised).
    const marked = canonicalJson(record, new Map([[input, '"known"']]));
    assert.equal(marked, `{"copy":${canonicalJson(input)},"input":"known","z":1}`);
  });

  it('refuses what JSON cannot hold', () => {
    assert.throws(() => canonicalJson(undefined), TypeError);
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson({ x: Infinity }), TypeError);
    assert.throws(() => canonicalJson('\ud800'), TypeError);
    assert.throws(() => canonicalJson({ ['\udc00']: 1 }), TypeError);
    assert.throws(() => canonicalJson(10n), TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), TypeError);
  });
});

describe('input hash', () => {
  it('does not depend on key order', () => {
    assert.equal(inputHash({ a: 1, b: { c: 2, d: 3 } }), inputHash({ b: { d: 3, c: 2 }, a: 1 }));
    assert.notEqual(inputHash({ a: 1 }), inputHash({ a: 2 }));
  });

  it('is the sha256 of the canonical text', () => {
    const c = canonicalInput({ z: 1, a: 'x' });
    assert.equal(c.canonical, '{"a":"x","z":1}');
    assert.equal(c.hash, sha256('{"a":"x","z":1}'));
    // A known vector: sha256("abc").
    assert.equal(sha256('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.match(c.hash, /^sha256:[0-9a-f]{64}$/);
  });
});
