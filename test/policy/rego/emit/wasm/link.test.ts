import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes } from '../../../../../src/policy/rego/emit/wasm/encode.ts';
import { Reader, readRuntimeImage } from '../../../../../src/policy/rego/emit/wasm/runtime-image.ts';
import { RUNTIME_START, link } from '../../../../../src/policy/rego/emit/wasm/link.ts';
import { w } from '../../../../../src/policy/rego/emit/wasm/builder.ts';
import { Wasm } from '../ir-builders.ts';

/**
 * A hand-assembled stand-in for the runtime: imports memory, has a start
 * function (sets global 0 to 5), a one-entry function table, a data segment
 * at 16 ("hi"), and exports `seven` (returns 7), `bump` (global 0 + `one`())
 * and `unused`.
 */
function tinyRuntime(): Uint8Array {
  const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const sec = (id: number, body: Bytes): void => {
    out.byte(id).u32(body.length).append(body);
  };
  sec(1, new Bytes().u32(2).byte(0x60).u32(0).u32(1).byte(0x7f).byte(0x60).u32(0).u32(0));
  sec(2, new Bytes().u32(1).name('env').name('memory').byte(0x02).byte(0x00).u32(1));
  sec(3, new Bytes().u32(5).u32(0).u32(1).u32(0).u32(0).u32(0)); // seven, start, bump, one, unused
  sec(4, new Bytes().u32(1).byte(0x70).byte(0x01).u32(1).u32(1));
  sec(6, new Bytes().u32(1).byte(0x7f).byte(0x01).byte(0x41).i32(0).byte(0x0b));
  sec(7, new Bytes().u32(3).name('seven').byte(0).u32(0).name('bump').byte(0).u32(2).name('unused').byte(0).u32(4));
  sec(8, new Bytes().u32(1));
  sec(9, new Bytes().u32(1).u32(0).byte(0x41).i32(0).byte(0x0b).u32(1).u32(0));
  const body = (code: number[]): number[] => [0, ...code, 0x0b];
  const code = new Bytes().u32(5);
  code.vec(body([0x41, 7]));
  code.vec(body([0x41, 5, 0x24, 0]));
  code.vec(body([0x23, 0, 0x10, 3, 0x6a]));
  code.vec(body([0x41, 1]));
  code.vec(body([0x41, 2]));
  sec(10, code);
  sec(11, new Bytes().u32(1).u32(0).byte(0x41).i32(16).byte(0x0b).vec([0x68, 0x69]));
  return new Uint8Array(out.out);
}

/** The number of functions a module defines (its function section's count). */
function definedFunctions(wasm: Uint8Array): number {
  const r = new Reader(wasm);
  r.pos = 8;
  while (r.pos < wasm.length) {
    const id = r.byte();
    const body = r.bytes(r.u32());
    if (id === 3) return new Reader(body).u32();
  }
  return 0;
}

describe('link', () => {
  it('appends functions, globals, table entries, data and a start function to a runtime', async () => {
    const image = readRuntimeImage(tinyRuntime());
    assert.equal(image.tableSize, 1);
    assert.equal(image.startFunc, 1);
    const wasm = link({
      image,
      functions: [
        { name: 'nine', params: 0, result: 'i32', vars: 0, body: w.const(9) },
        // runtime table entry 0 (seven) + policy entry 1 (nine) + the runtime's start effect + data
        {
          name: 'sum',
          params: 0,
          result: 'i32',
          vars: 0,
          body: w.add(
            w.add(w.callIndirect(w.const(0), [], 'i32'), w.callIndirect(w.const(1), [], 'i32')),
            w.add(w.call('bump', [], 'i32'), w.add(w.load8u(w.const(16)), w.globalGet('mine'))),
          ),
        },
        {
          name: 'start',
          params: 0,
          result: 'none',
          vars: 0,
          body: w.block(null, [w.call(RUNTIME_START, [], 'none'), w.globalSet('mine', w.const(100))]),
        },
      ],
      globals: [{ name: 'mine', mutable: true, init: 0 }],
      table: ['nine'],
      exportFuncs: [['sum', 'sum']],
      exportGlobals: [],
      start: 'start',
      data: { offset: 70000, bytes: new Uint8Array([42]) },
    });
    const memory = new Wasm.Memory({ initial: 1 });
    const { instance } = await Wasm.instantiate(wasm, { env: { memory } });
    const sum = (instance.exports as unknown as { sum(): number }).sum;
    // 7 + 9 + (5 + 1) + 'h' (104) + 100
    assert.equal(sum(), 7 + 9 + 6 + 104 + 100);
    assert.equal(new Uint8Array(memory.buffer)[70000], 42, 'memory grew to hold data beyond the initial page');
    // seven (table), start, bump and one (called by bump) stay; unused goes. Plus 4 of the policy's.
    assert.equal(definedFunctions(wasm), 4 + 4);
  });
});
