// lower/upper against JavaScript's case mapping on the scripts the runtime
// covers, wherever both map a code point to a single code point (the simple
// mappings of UnicodeData, which Go's unicode.ToLower/ToUpper also use).
import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntime, type Runtime } from './runtime-harness.ts';

let rt: Runtime;
before(async () => {
  rt = await loadRuntime();
});

const RANGES = [[0x41, 0x7a], [0xc0, 0x17f], [0x386, 0x3ce], [0x400, 0x52f], [0x531, 0x586], [0x10a0, 0x10c5], [0x2d00, 0x2d25], [0x1e00, 0x1eff], [0xff21, 0xff5a]];

it('maps case like Unicode on Latin, Greek, Cyrillic, Armenian, Georgian, Vietnamese and fullwidth letters', () => {
  let compared = 0;
  for (const [lo, hi] of RANGES) {
    for (let c = lo!; c <= hi!; c++) {
      const s = String.fromCodePoint(c);
      for (const [builtin, map] of [['lower', (x: string) => x.toLowerCase()], ['upper', (x: string) => x.toUpperCase()]] as const) {
        const want = map(s);
        if ([...want].length !== 1 || c === 0x130) continue;
        assert.equal(rt.call(builtin, s), want, `${builtin}(U+${c.toString(16)})`);
        compared++;
      }
    }
  }
  assert.ok(compared > 2000);
});
