/**
 * Random Rego terms of a wanted type, for the differential fuzzer. Terms
 * are typed so that what is generated passes OPA's type checker: a builtin
 * gets arguments of the types it declares, or values read from `input` and
 * `data` (which the checker cannot type). Every compound term carries
 * simpler replacements (a constant, or an operand of the same type) for the
 * shrinker.
 */
import { node, type Node } from './tree.ts';
import { NUMBERS, STRINGS, chance, pick, type Rng } from './inputs.ts';

export type Ty = 'str' | 'num' | 'bool' | 'arr' | 'set' | 'obj' | 'any';

/**
 * A variable bound at this point of a body, with the type of its values.
 * `any` is kept for variables the type checker cannot type either (bound
 * from input or data): those may go anywhere.
 */
export interface Var {
  name: string;
  ty: Ty;
}

/** A rule or function already generated, which later ones may use. */
export interface Defined {
  name: string;
  ty: Ty;
  /** Set for functions: the types of their parameters. */
  params?: Ty[];
}

/** What terms may refer to, and where fresh names come from. */
export interface TermContext {
  r: Rng;
  scope: Var[];
  defined: Defined[];
  fresh(prefix: string): string;
}

const INPUT: Record<Ty, string[]> = {
  str: [
    'input.action.type', 'input.action.tool', 'input.action.mcp.server', 'input.action.mcp.method', 'input.action.mcp.name',
    'input.action.mcp.arguments.path', 'input.action.http.method', 'input.action.http.path', 'input.user.name',
    'input.context.mode', 'input.context.approval.verdict', 'input.action.http.headers["x-user"]',
  ],
  num: ['input.action.http.body.amount', 'input.user.level', 'input.context.attempt'],
  bool: ['input.action.mcp.arguments.recursive', 'input.context.dry_run'],
  arr: ['input.user.roles', 'input.action.http.body.tags', 'input.context.labels'],
  obj: ['input.action.mcp.arguments', 'input.action.http.headers', 'input.action.http.body', 'input.user', 'input.context.approval'],
  set: [],
  any: ['input.action', 'input.context', 'input.user.roles[0]', 'input.action.http.body.tags[1]'],
};

const DATA: Partial<Record<Ty, string[]>> = {
  arr: ['data.cfg.tools', 'data.cfg.admins', 'data.cfg.blocked.paths', 'data.cfg.blocked.methods'],
  obj: ['data.cfg.limits', 'data.cfg.blocked'],
  num: ['data.cfg.limits.fs', 'data.cfg.limits.payments'],
};

/**
 * Numbers beyond f64 or i64, written as text: OPA keeps them exact. They go
 * into comparisons, `abs`, `sprintf` and ranges, not into float arithmetic,
 * where Portcullis rounds to 15 digits (docs/verification.md).
 */
const BIG_NUMBERS = [
  '18446744073709551617', '18446744073709551616', '9223372036854775808', '(-9223372036854775809)', '1e400', '1e399', '1e-400',
  '0.1234567890123456789', '0.1234567890123456790', '123456789012345678901234567890', '100000000000000000000000.0',
];

export function bigNumber(c: TermContext): string {
  return pick(c.r, BIG_NUMBERS);
}

const CIDRS = ['"10.0.0.0/8"', '"192.168.0.0/16"', '"10.1.0.0/16"', '"::1/128"', '"2001:db8::/32"'];
const IPS = ['"10.1.2.3"', '"192.168.1.1"', '"8.8.8.8"', '"::1"', '"2001:db8::7"', '"10.0.0.0/24"'];
const TIMESTAMPS = ['"2024-01-02T03:04:05Z"', '"2024-02-29T23:59:59.123456789+01:00"', '"1999-12-31T23:59:60Z"', '"2024-13-01T00:00:00Z"'];
/** JSON Schemas for tool arguments: what json.match_schema checks in tool-call policies. */
const SCHEMAS = [
  '{"type": "object", "required": ["path"], "properties": {"path": {"type": "string", "pattern": "^/tmp/"}}}',
  '{"type": "object", "properties": {"recursive": {"type": "boolean"}, "content": {"maxLength": 8}}, "additionalProperties": false}',
  '{"type": "object", "properties": {"path": {"enum": ["fs", "/tmp/notes.txt"]}}, "minProperties": 2}',
];

const PLAIN: Record<Ty, string> = { str: '"fs"', num: '1', bool: 'true', arr: '[]', set: 'set()', obj: '{}', any: 'null' };

const REGEXES = ['`^/prod/`', '`^(pii|secret)-`', '`[a-z]+_file$`', '`^\\d+$`', '`a.b`', '`^$`', '`(?i)^get$`'];
const GLOBS = ['"/prod/*"', '"*.yaml"', '"**/etc/**"', '"/tmp/**"', '"*_file"'];

export function str(s: string): string {
  return JSON.stringify(s);
}

/** Negative numbers in parentheses: a line that starts with `-` continues the line before it. */
function num(n: number): string {
  return n < 0 ? `(${n})` : String(n);
}

/** A constant of the type. */
export function constant(c: TermContext, ty: Ty): string {
  const r = c.r;
  switch (ty) {
    case 'str': return str(pick(r, STRINGS));
    case 'num': return num(pick(r, NUMBERS));
    case 'bool': return pick(r, ['true', 'false']);
    case 'arr': return pick(r, ['[]', `[${str(pick(r, STRINGS))}, ${str(pick(r, STRINGS))}]`, `[${num(pick(r, NUMBERS))}, ${num(pick(r, NUMBERS))}]`]);
    case 'set': return pick(r, ['set()', `{${str(pick(r, STRINGS))}, ${str(pick(r, STRINGS))}}`]);
    case 'obj': return pick(r, ['{}', `{${str(pick(r, STRINGS))}: ${num(pick(r, NUMBERS))}}`, `{"fs": ${str(pick(r, STRINGS))}, "x": true}`]);
    case 'any': return pick(r, ['null', str(pick(r, STRINGS)), num(pick(r, NUMBERS)), 'false']);
  }
}

/** A term the type checker cannot type (a value from input or data): it may be compared with anything. */
export function dynamic(c: TermContext): Node {
  const r = c.r;
  const vars = c.scope.filter((v) => v.ty === 'any');
  if (vars.length > 0 && chance(r, 0.4)) return pick(r, vars).name;
  if (chance(r, 0.15)) return pick(r, [...DATA.arr!, ...DATA.num!]);
  return pick(r, Object.values(INPUT).flat());
}

/** A term without operands: a constant, a variable, a value from input or data, a rule. */
export function leaf(c: TermContext, ty: Ty): Node {
  const r = c.r;
  const vars = c.scope.filter((v) => v.ty === ty || v.ty === 'any' || ty === 'any');
  const rules = c.defined.filter((d) => !d.params && (d.ty === ty || ty === 'any'));
  const options: (() => Node)[] = [() => constant(c, ty)];
  if (vars.length > 0) options.push(() => pick(r, vars).name, () => pick(r, vars).name);
  if (INPUT[ty].length > 0) options.push(() => pick(r, INPUT[ty]), () => pick(r, INPUT[ty]));
  else options.push(() => pick(r, Object.values(INPUT).flat()));
  if (DATA[ty]) options.push(() => pick(r, DATA[ty]!));
  if (rules.length > 0) options.push(() => pick(r, rules).name);
  return pick(r, options)();
}

/** A term of the type, at most `depth` calls or comprehensions deep. */
export function term(c: TermContext, ty: Ty, depth: number): Node {
  if (depth <= 0 || chance(c.r, 0.35)) return leaf(c, ty);
  const make = COMPOUND[ty];
  const t = make(c, depth - 1);
  return typeof t === 'string' ? node([t], [PLAIN[ty]]) : t;
}

type Make = (c: TermContext, d: number) => Node;

/** `f(args)` whose simpler forms are the plain constant and the operands of the same type. */
function call(ty: Ty, f: string, args: { ty: Ty; n: Node }[]): Node {
  const parts: Node[] = [`${f}(`];
  args.forEach((a, i) => parts.push(...(i > 0 ? [', ', a.n] : [a.n])));
  parts.push(')');
  return node(parts, [PLAIN[ty], ...args.filter((a) => a.ty === ty).map((a) => a.n)]);
}

function infix(ty: Ty, op: string, a: Node, b: Node, operandTy: Ty): Node {
  return node(['(', a, ` ${op} `, b, ')'], [PLAIN[ty], ...(operandTy === ty ? [a, b] : [])]);
}

function userCall(c: TermContext, ty: Ty, d: number): Node | undefined {
  const fs = c.defined.filter((f) => f.params && f.ty === ty);
  if (fs.length === 0) return undefined;
  const f = pick(c.r, fs);
  return call(ty, f.name, f.params!.map((p) => ({ ty: p, n: term(c, p, d) })));
}

/** `[x | some x in coll; cond]` and friends: the element variable is local to the comprehension. */
function comprehension(c: TermContext, kind: 'arr' | 'set' | 'obj', d: number): Node {
  const coll = collection(c);
  const x = c.fresh('x');
  const k = c.fresh('k');
  const inner: TermContext = { ...c, scope: [...c.scope, ...(kind === 'obj' ? [{ name: k, ty: coll.key }] : []), { name: x, ty: coll.elem }] };
  const cond = chance(c.r, 0.7) ? ['; ', condition(inner, d)] : [];
  if (kind === 'obj') {
    return node(['{', k, ': ', x, ' | some ', k, ', ', x, ' in ', coll.n, ...cond, '}'], [PLAIN.obj]);
  }
  const head = chance(c.r, 0.6) ? x : term(inner, 'any', d);
  const [open, close] = kind === 'arr' ? ['[', ']'] : ['{', '}'];
  return node([open, head, ' | some ', x, ' in ', coll.n, ...cond, close], [PLAIN[kind]]);
}

/** A collection to iterate, with the types of its keys and elements (`any` only where the checker cannot know). */
export function collection(c: TermContext): { n: Node; key: Ty; elem: Ty } {
  const r = c.r;
  const sets = c.defined.filter((x) => !x.params && x.ty === 'set');
  const k = Math.floor(r() * 5);
  if (k === 0 && sets.length > 0) return { n: pick(r, sets).name, key: 'str', elem: 'str' };
  if (k === 1) return { n: `[${str(pick(r, STRINGS))}, ${str(pick(r, STRINGS))}, ${str(pick(r, STRINGS))}]`, key: 'num', elem: 'str' };
  if (k === 2) return { n: pick(r, DATA.arr!), key: 'any', elem: 'any' };
  if (k === 3) return { n: pick(r, INPUT.obj), key: 'any', elem: 'any' };
  return { n: pick(r, INPUT.arr), key: 'any', elem: 'any' };
}

/** A boolean condition on the last variable in scope (comprehension and `every` bodies must use theirs). */
export function condition(c: TermContext, d: number): Node {
  const x = c.scope[c.scope.length - 1]!;
  const r = c.r;
  switch (Math.floor(r() * 4)) {
    case 0: return node([x.name, pick(r, [' == ', ' != ']), constant(c, x.ty === 'any' ? 'str' : x.ty)], ['true']);
    // A typed element goes only into a collection of unknown type: OPA refuses `1 in ["a"]` (match error).
    case 1: return node([x.name, ' in ', x.ty === 'any' ? term(c, 'arr', d) : pick(r, INPUT.arr)], ['true']);
    case 2: return x.ty === 'str' ? node(['startswith(', x.name, ', ', term(c, 'str', d), ')'], ['true']) : node(['is_string(', x.name, ')'], ['true']);
    default: return node([x.name, pick(r, [' < ', ' >= ']), term(c, 'num', d)], ['true']);
  }
}

/** An array the checker types as numbers (or cannot type): what `sum` and friends accept. */
function numbers(c: TermContext, d: number): Node {
  return chance(c.r, 0.5) ? node(['[', term(c, 'num', d), ', ', term(c, 'num', d), ']'], ['[]']) : pick(c.r, [...INPUT.arr, ...DATA.arr!]);
}

const COMPOUND: Record<Ty, Make> = {
  str: (c, d) => {
    const s = (): { ty: Ty; n: Node } => ({ ty: 'str', n: term(c, 'str', d) });
    const lit = (): { ty: Ty; n: Node } => ({ ty: 'str', n: constant(c, 'str') });
    const n = (): { ty: Ty; n: Node } => ({ ty: 'num', n: term(c, 'num', d) });
    const options: (() => Node)[] = [
      () => call('str', pick(c.r, ['lower', 'upper', 'trim_space']), [s()]),
      () => call('str', 'concat', [lit(), { ty: 'arr', n: node(['[', term(c, 'str', d), ', ', term(c, 'str', d), ']'], ['[]']) }]),
      () => call('str', 'sprintf', [{ ty: 'str', n: pick(c.r, ['"%s:%v"', '"%v/%v"', '"%d-%s"']) }, { ty: 'arr', n: node(['[', term(c, 'any', d), ', ', term(c, 'any', d), ']'], ['[]']) }]),
      // Never an empty `old`: opa eval then inserts between the bytes of a character, and OPA's wasm never returns.
      () => call('str', 'replace', [s(), { ty: 'str', n: str(pick(c.r, STRINGS.filter((x) => x !== ''))) }, lit()]),
      () => call('str', 'substring', [s(), { ty: 'num', n: pick(c.r, ['0', '1', '2']) }, { ty: 'num', n: pick(c.r, ['-1', '1', '3']) }]),
      () => call('str', pick(c.r, ['trim_prefix', 'trim_suffix', 'trim']), [s(), lit()]),
      () => call('str', 'object.get', [{ ty: 'obj', n: term(c, 'obj', d) }, lit(), lit()]),
      () => call('str', 'json.marshal', [{ ty: 'any', n: term(c, 'any', d) }]),
      () => call('str', 'format_int', [n(), { ty: 'num', n: pick(c.r, ['10', '16', '2']) }]),
      () => node(['$"', pick(c.r, ['', 'tool ', '/']), '{', dynamic(c), '}-{', dynamic(c), '}"'], [PLAIN.str]),
      () => call('str', 'strings.replace_n', [{ ty: 'obj', n: `{${constant(c, 'str')}: ${constant(c, 'str')}, ${pick(c.r, ['"/"', '""', '"a"'])}: "-"}` }, s()]),
      () => call('str', 'sprintf', [{ ty: 'str', n: pick(c.r, ['"%v"', '"%v|%v"']) }, { ty: 'arr', n: node(['[', bigNumber(c), ', ', term(c, 'num', d), ']'], ['[]']) }]),
      // abs only of numbers a 64-bit mantissa holds: OPA's abs rounds to one (docs/verification.md).
      () => call('str', 'json.marshal', [{ ty: 'any', n: node(['[', bigNumber(c), ', abs(', pick(c.r, ['9223372036854775808', '(-9223372036854775809)', '18446744073709551616', '1e400', '(-1e-400)']), ')]'], ['[]']) }]),
    ];
    return userCall(c, 'str', d) ?? pick(c.r, options)();
  },
  num: (c, d) => {
    const n = (): Node => term(c, 'num', d);
    const options: (() => Node)[] = [
      () => call('num', 'count', [{ ty: 'any', n: term(c, pick(c.r, ['arr', 'set', 'obj', 'str'] as Ty[]), d) }]),
      () => infix('num', pick(c.r, ['+', '-', '*']), n(), n(), 'num'),
      // No `/`: quotients with more than 15 digits differ (docs/verification.md, the OPA oracle).
      () => infix('num', '%', n(), n(), 'num'),
      () => call('num', pick(c.r, ['abs', 'round', 'ceil', 'floor']), [{ ty: 'num', n: n() }]),
      () => call('num', pick(c.r, ['sum', 'max', 'min', 'product']), [{ ty: 'arr', n: numbers(c, d) }]),
      () => call('num', 'indexof', [{ ty: 'str', n: term(c, 'str', d) }, { ty: 'str', n: constant(c, 'str') }]),
      () => call('num', 'to_number', [{ ty: 'str', n: term(c, 'str', d) }]),
      () => call('num', 'time.parse_rfc3339_ns', [{ ty: 'str', n: pick(c.r, TIMESTAMPS) }]),
      // At most three steps: OPA builds any range it is asked for.
      () => call('num', 'count', [{ ty: 'arr', n: pick(c.r, [
        'numbers.range_step(0, 18446744073709551617, 9223372036854775808)', 'numbers.range_step(1e400, 0, 1e400)',
        'numbers.range_step(36893488147419103232, 0, 18446744073709551616)', 'numbers.range(18446744073709551616, 18446744073709551618)',
      ]) }]),
    ];
    return userCall(c, 'num', d) ?? pick(c.r, options)();
  },
  bool: (c, d) => {
    const s = (): { ty: Ty; n: Node } => ({ ty: 'str', n: term(c, 'str', d) });
    const options: (() => Node)[] = [
      () => call('bool', pick(c.r, ['startswith', 'endswith', 'contains']), [s(), s()]),
      () => call('bool', 'regex.match', [{ ty: 'str', n: pick(c.r, REGEXES) }, s()]),
      () => call('bool', 'glob.match', [{ ty: 'str', n: pick(c.r, GLOBS) }, { ty: 'arr', n: pick(c.r, ['["/"]', '[]']) }, s()]),
      () => call('bool', pick(c.r, ['is_string', 'is_number', 'is_array', 'is_object', 'is_null']), [{ ty: 'any', n: term(c, 'any', d) }]),
      // One side of unknown type: OPA refuses comparing values of different static types (`1 == "a"`).
      () => infix('bool', pick(c.r, ['==', '!=', '<', '>=']), dynamic(c), term(c, 'any', d), 'any'),
      () => infix('bool', 'in', dynamic(c), term(c, pick(c.r, ['arr', 'set', 'obj'] as Ty[]), d), 'any'),
      () => infix('bool', pick(c.r, ['<', '>', '==', '!=']), bigNumber(c), chance(c.r, 0.5) ? bigNumber(c) : term(c, 'num', d), 'num'),
      () => call('bool', 'net.cidr_contains', [{ ty: 'str', n: pick(c.r, CIDRS) }, { ty: 'str', n: pick(c.r, IPS) }]),
      () => node(['json.match_schema(', pick(c.r, ['input.action.mcp.arguments', 'input.action.http.body', 'input.user']), ', ', pick(c.r, SCHEMAS), ')[0]'], ['true']),
    ];
    return userCall(c, 'bool', d) ?? pick(c.r, options)();
  },
  arr: (c, d) => {
    const a = (): { ty: Ty; n: Node } => ({ ty: 'arr', n: term(c, 'arr', d) });
    const options: (() => Node)[] = [
      () => node(['[', term(c, 'any', d), ', ', term(c, 'any', d), ']'], [PLAIN.arr]),
      () => comprehension(c, 'arr', d),
      () => comprehension(c, 'arr', d),
      () => call('arr', 'array.concat', [a(), a()]),
      () => call('arr', 'array.slice', [a(), { ty: 'num', n: pick(c.r, ['0', '1']) }, { ty: 'num', n: pick(c.r, ['1', '2', '5']) }]),
      () => call('arr', 'split', [{ ty: 'str', n: term(c, 'str', d) }, { ty: 'str', n: pick(c.r, ['"/"', '"-"', '""']) }]),
      () => call('arr', 'sort', [a()]),
      () => call('arr', 'array.reverse', [a()]),
      () => call('arr', 'strings.split_n', [{ ty: 'str', n: term(c, 'str', d) }, { ty: 'str', n: pick(c.r, ['"/"', '""']) }, { ty: 'num', n: pick(c.r, ['2', '(-1)', '0', '5']) }]),
      () => node(['sort([', bigNumber(c), ', ', bigNumber(c), ', ', term(c, 'num', d), '])'], ['[]']),
    ];
    return userCall(c, 'arr', d) ?? pick(c.r, options)();
  },
  set: (c, d) => {
    const s = (): Node => term(c, 'set', d);
    const options: (() => Node)[] = [
      () => node(['{', term(c, 'any', d), ', ', term(c, 'str', d), '}'], [PLAIN.set]),
      () => comprehension(c, 'set', d),
      () => comprehension(c, 'set', d),
      () => infix('set', pick(c.r, ['|', '&', '-']), s(), s(), 'set'),
      () => call('set', 'object.keys', [{ ty: 'obj', n: term(c, 'obj', d) }]),
    ];
    return pick(c.r, options)();
  },
  obj: (c, d) => {
    const o = (): { ty: Ty; n: Node } => ({ ty: 'obj', n: term(c, 'obj', d) });
    const options: (() => Node)[] = [
      () => node(['{', constant(c, 'str'), ': ', term(c, 'any', d), ', "n": ', term(c, 'num', d), '}'], [PLAIN.obj]),
      () => comprehension(c, 'obj', d),
      () => call('obj', 'object.union', [o(), o()]),
      () => call('obj', pick(c.r, ['object.remove', 'object.filter']), [o(), { ty: 'arr', n: `[${constant(c, 'str')}]` }]),
    ];
    return userCall(c, 'obj', d) ?? pick(c.r, options)();
  },
  any: (c, d) => {
    const options: (() => Node)[] = [
      () => call('any', 'object.get', [{ ty: 'any', n: 'input' }, { ty: 'arr', n: pick(c.r, ['["action", "tool"]', '["user", "roles", 0]', '["context", "approval", "verdict"]']) }, { ty: 'any', n: constant(c, 'any') }]),
      () => node([pick(c.r, [...DATA.obj!, ...INPUT.obj]), '[', term(c, 'str', d), ']'], [PLAIN.any]),
      // Only arrays of unknown length are indexed: OPA refuses `["x"][5]` (undefined ref), and `[x | …][0]` in some heads.
      () => node([pick(c.r, [...INPUT.arr, ...DATA.arr!]), '[', pick(c.r, ['0', '1']), ']'], [PLAIN.any]),
      () => node(['split(', term(c, 'str', d), ', "/")[', pick(c.r, ['0', '1']), ']'], [PLAIN.any]),
      () => term(c, pick(c.r, ['str', 'num', 'bool', 'arr', 'obj'] as Ty[]), d),
    ];
    return userCall(c, 'any', d) ?? pick(c.r, options)();
  },
};
