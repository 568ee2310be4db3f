// Builtins implemented by the OPA SDK in JavaScript (sprintf, regex.split,
// yaml.*, …), reached through the `opa_builtinN` imports. The SDK passes
// the arguments as JSON and returns the result's address from
// `opa_json_parse` (0 for undefined).

// @ts-ignore: decorator
@external('env', 'opa_builtin0')
declare function opa_builtin0(id: i32, ctx: i32): usize;
// @ts-ignore: decorator
@external('env', 'opa_builtin1')
declare function opa_builtin1(id: i32, ctx: i32, a: usize): usize;
// @ts-ignore: decorator
@external('env', 'opa_builtin2')
declare function opa_builtin2(id: i32, ctx: i32, a: usize, b: usize): usize;
// @ts-ignore: decorator
@external('env', 'opa_builtin3')
declare function opa_builtin3(id: i32, ctx: i32, a: usize, b: usize, c: usize): usize;
// @ts-ignore: decorator
@external('env', 'opa_builtin4')
declare function opa_builtin4(id: i32, ctx: i32, a: usize, b: usize, c: usize, d: usize): usize;

export function rt_sdk_builtin0(id: i32): usize { return opa_builtin0(id, 0); }
export function rt_sdk_builtin1(id: i32, a: usize): usize { return opa_builtin1(id, 0, a); }
export function rt_sdk_builtin2(id: i32, a: usize, b: usize): usize { return opa_builtin2(id, 0, a, b); }
export function rt_sdk_builtin3(id: i32, a: usize, b: usize, c: usize): usize { return opa_builtin3(id, 0, a, b, c); }
export function rt_sdk_builtin4(id: i32, a: usize, b: usize, c: usize, d: usize): usize { return opa_builtin4(id, 0, a, b, c, d); }
