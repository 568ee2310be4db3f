// Errors at evaluation time. `opa_abort` (imported from the SDK) throws the
// NUL-terminated message it is given, so every error ends evaluation with a
// message that starts with OPA's error code (`eval_type_error: …`).

import { heapGet, heapSet, ensureMemory } from './memory';

// @ts-ignore: decorator
@external('env', 'opa_abort')
declare function opa_abort(addr: usize): void;

let msgPtr: usize = 0;
let msgLen: usize = 0;

/** Appends one byte to the message. */
export function msgByte(b: u32): void {
  ensureMemory(msgPtr + msgLen + 1);
  store<u8>(msgPtr + msgLen, <u8>b);
  msgLen++;
}

/** Appends an ASCII/UTF-16 literal to the message being built. */
export function msgStr(s: string): void {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u16>(p + (i << 1));
    if (c < 0x80) msgByte(c);
    else if (c < 0x800) {
      msgByte(0xc0 | (c >> 6));
      msgByte(0x80 | (c & 0x3f));
    } else {
      msgByte(0xe0 | (c >> 12));
      msgByte(0x80 | ((c >> 6) & 0x3f));
      msgByte(0x80 | (c & 0x3f));
    }
  }
}

/** Starts building an error message at the top of the heap. */
export function msgBegin(): void {
  msgPtr = heapGet();
  msgLen = 0;
}

/** Ends the message and aborts evaluation with it. */
export function msgAbort(): void {
  msgByte(0);
  heapSet((msgPtr + msgLen + 7) & ~(<usize>7));
  opa_abort(msgPtr);
  unreachable();
}

/** Aborts evaluation with `<code>: <message>`. */
export function evalError(code: string, message: string): void {
  msgBegin();
  msgStr(code);
  msgStr(': ');
  msgStr(message);
  msgAbort();
}

/** Aborts with `<code>: <builtin>: <message>`; `detail` (raw UTF-8) is appended when non-empty. */
export function builtinError(code: string, builtin: string, message: string, detail: usize = 0, detailLen: usize = 0): void {
  msgBegin();
  msgStr(code);
  msgStr(': ');
  msgStr(builtin);
  msgStr(': ');
  msgStr(message);
  for (let i: usize = 0; i < detailLen; i++) msgByte(<u32>load<u8>(detail + i));
  msgAbort();
}

/** Appends raw UTF-8 bytes to the message. */
export function msgBytes(ptr: usize, len: usize): void {
  for (let i: usize = 0; i < len; i++) msgByte(<u32>load<u8>(ptr + i));
}

/** Appends a decimal integer to the message. */
export function msgInt(x: i64): void {
  if (x < 0) { msgByte(0x2d); x = -x; }
  if (x >= 10) msgInt(x / 10);
  msgByte(<u32>(0x30 + x % 10));
}

/** Aborts with a raw UTF-8 message (for messages built at run time). */
export function abortRaw(ptr: usize, len: usize): void {
  msgBegin();
  for (let i: usize = 0; i < len; i++) msgByte(<u32>load<u8>(ptr + i));
  msgAbort();
}

/** An internal failure of the runtime itself. */
export function fatal(message: string): void {
  evalError('internal_error', message);
}

/** Target of AssemblyScript's `abort` (asc --use abort=…). */
export function runtimeAbort(message: string | null, file: string | null, line: u32, col: u32): void {
  msgBegin();
  msgStr('internal_error: runtime abort');
  if (message !== null) {
    msgStr(': ');
    msgStr(message);
  }
  msgAbort();
}
