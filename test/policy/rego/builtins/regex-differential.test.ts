// The runtime's regex engine against JavaScript's RegExp on random patterns
// from the syntax both read alike (ASCII text, no case folding, no \s): the
// first match's bounds must agree, since both are leftmost-first.
import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntime, type Runtime } from './runtime-harness.ts';
import { rng } from '../../../support/random.ts';

let rt: Runtime;
before(async () => {
  rt = await loadRuntime();
});


function pattern(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const atom = (): string => {
    const k = r();
    if (depth > 0 && k < 0.15) return `(${pattern(r, depth - 1)})`;
    if (depth > 0 && k < 0.22) return `(?:${pattern(r, depth - 1)}|${pattern(r, depth - 1)})`;
    return pick(['a', 'b', 'c', '.', '[ab]', '[^a]', '[a-c]', '\\d', '\\w', '\\W', 'x', '\\.', '^', '$', '\\b']);
  };
  let out = '';
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    let a = atom();
    // Groups are not quantified: a quantified body that can match empty is
    // where Go (like Perl) and RegExp differ on purpose.
    if (!a.startsWith('(') && a !== '^' && a !== '$' && a !== '\\b') {
      a += pick(['', '', '', '*', '+', '?', '*?', '+?', '??', '{2}', '{1,2}', '{0,}', '{1,3}?']);
    }
    out += a;
  }
  return r() < 0.15 ? `${out}|${pattern(r, Math.max(0, depth - 1))}` : out;
}

function text(r: () => number): string {
  const chars = 'aabbc x.1_-\n';
  let s = '';
  const n = Math.floor(r() * 10);
  for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

it('agrees with RegExp on the first match of 3000 random patterns', () => {
  const r = rng(20261124);
  let compared = 0;
  for (let i = 0; i < 3000; i++) {
    const p = pattern(r, 2);
    const s = text(r);
    const m = new RegExp(p).exec(s);
    const got = rt.call('regex.find_n', p, s, 1) as string[];
    const want = m === null ? [] : [m[0]];
    assert.deepEqual(got, want, `pattern ${JSON.stringify(p)} on ${JSON.stringify(s)}`);
    assert.equal(rt.call('regex.match', p, s), m !== null, `match ${JSON.stringify(p)} on ${JSON.stringify(s)}`);
    compared++;
  }
  assert.equal(compared, 3000);
});

it('agrees with RegExp on \\p{…} categories and scripts', () => {
  const r = rng(7);
  const names = ['L', 'Lu', 'Ll', 'N', 'Nd', 'P', 'S', 'Z', 'M', 'Greek', 'Cyrillic', 'Han', 'Arabic', 'Latin'];
  for (const name of names) {
    const js = name.length <= 2 ? new RegExp(`^\\p{${name}}$`, 'u') : new RegExp(`^\\p{Script=${name}}$`, 'u');
    for (let i = 0; i < 300; i++) {
      // Mostly the BMP, some astral code points; no surrogates.
      let cp = r() < 0.8 ? Math.floor(r() * 0x10000) : 0x10000 + Math.floor(r() * 0x30000);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      const s = String.fromCodePoint(cp);
      assert.equal(rt.call('regex.match', `^\\p{${name}}$`, s), js.test(s), `\\p{${name}} on U+${cp.toString(16)}`);
    }
  }
});
