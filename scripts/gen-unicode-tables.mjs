// Generates src/policy/rego/runtime/builtins/unicode-tables.ts (the ranges
// behind \p{…} in the runtime's regular expressions) from the Unicode data
// of the running JavaScript engine:
//   node scripts/gen-unicode-tables.mjs > src/policy/rego/runtime/builtins/unicode-tables.ts
// The list is kept short on purpose: every compiled policy carries the table.
const cats = ['L', 'Lu', 'Ll', 'M', 'N', 'Nd', 'P', 'S', 'Z',
  'Latin', 'Greek', 'Cyrillic', 'Han', 'Arabic', 'Hebrew'];
const bytes = [];
const table = [];
const varint = (x) => { while (x >= 0x80) { bytes.push((x & 0x7f) | 0x80); x >>>= 7; } bytes.push(x); };
for (const c of cats) {
  const re = c.length <= 2 ? new RegExp(`\\p{${c}}`, 'u') : new RegExp(`\\p{Script=${c}}`, 'u');
  const ranges = [];
  let start = -1;
  for (let cp = 0; cp <= 0x110000; cp++) {
    const inside = cp < 0x110000 && !(cp >= 0xd800 && cp <= 0xdfff) && re.test(String.fromCodePoint(cp));
    if (inside && start < 0) start = cp;
    if (!inside && start >= 0) { ranges.push([start, cp - 1]); start = -1; }
  }
  const off = bytes.length;
  let prev = 0;
  for (const [lo, hi] of ranges) { varint(lo - prev); varint(hi - lo); prev = hi; }
  table.push([c, off, ranges.length]);
}
let s = `// Unicode general categories and scripts for \\p{…} in regular expressions:
// per name, its ranges as varint pairs (gap from the previous range's end,
// length - 1). Generated from the Unicode data of the JavaScript engine
// (Unicode 15, as Go's regexp) by scripts/gen-unicode-tables.mjs; do not
// edit by hand.

export const RANGE_BYTES = memory.data<u8>([
`;
for (let i = 0; i < bytes.length; i += 24) s += '  ' + bytes.slice(i, i + 24).join(', ') + ',\n';
s += ']);\n\n';
s += `export const NAMES: StaticArray<string> = [${table.map((o) => `'${o[0]}'`).join(', ')}];\n`;
s += `/** Byte offset of each name's ranges in RANGE_BYTES. */\nexport const OFFSETS: StaticArray<u32> = [${table.map((o) => o[1]).join(', ')}];\n`;
s += `/** Number of ranges of each name. */\nexport const COUNTS: StaticArray<u32> = [${table.map((o) => o[2]).join(', ')}];\n`;
process.stdout.write(s);
console.error('bytes', bytes.length);
