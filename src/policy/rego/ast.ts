/**
 * The Rego v1 abstract syntax tree: what the parser produces and the planner
 * consumes. It follows OPA's own AST closely (same node kinds, same operator
 * names, same desugarings), so that OPA's planner and compiler documentation
 * maps onto it one to one:
 *
 * - Infix operators become calls to OPA's builtin names: `a + b` is
 *   `plus(a, b)`, `a == b` is `equal(a, b)`, `x in xs` is
 *   `internal.member_2(x, xs)`, `k, v in xs` is `internal.member_3(k, v, xs)`.
 * - At the top level of a body, `a := b` is the call expression
 *   `assign(a, b)` and `a = b` is `eq(a, b)`; a top-level call term becomes a
 *   `CallExpr` (as OPA does); nested calls stay `CallTerm`s.
 * - Every `_` becomes a fresh variable `$0`, `$1`, … (unique per module)
 *   flagged `wildcard: true`.
 * - Rules without a body get the body `true`; rules without a value get the
 *   value `true`; `default p := v` has the body `true`.
 * - Numbers keep the exact literal text (big integers, floats, exponents).
 *
 * Every node carries its source location (file, 1-based row and column).
 */

export interface Location {
  file: string;
  /** 1-based line. */
  row: number;
  /** 1-based column, counted in code points (a tab is one column), as OPA counts. */
  col: number;
  /** 0-based offset of the first character in the source text. */
  offset: number;
}

// ---------------------------------------------------------------- terms

interface TermBase {
  loc: Location;
}

export interface NullTerm extends TermBase {
  type: 'null';
}

export interface BooleanTerm extends TermBase {
  type: 'boolean';
  value: boolean;
}

/** A number, kept as the literal JSON number text (`-1`, `1.5e10`, `123456789012345678901234567890`). */
export interface NumberTerm extends TermBase {
  type: 'number';
  value: string;
}

/** A string, with escapes already decoded. `raw` is true for backtick strings. */
export interface StringTerm extends TermBase {
  type: 'string';
  value: string;
  raw?: boolean;
}

export interface VarTerm extends TermBase {
  type: 'var';
  /** The variable name; `$N` for a wildcard `_`. */
  name: string;
  /** True when the source said `_`. */
  wildcard?: boolean;
}

/**
 * A reference `head.path[0][path[1]]…`. `input.a.b` is head `var input` with
 * path `["a", "b"]` as string terms; `x[y]` has the var `y` in its path. The
 * head is usually a var but may be any term: `[1, 2][0]`, `f(x).y`, `{1}[x]`.
 */
export interface RefTerm extends TermBase {
  type: 'ref';
  head: Term;
  path: Term[];
}

export interface ArrayTerm extends TermBase {
  type: 'array';
  items: Term[];
}

/** `set()` and `{1, 2}`. */
export interface SetTerm extends TermBase {
  type: 'set';
  items: Term[];
}

export interface ObjectTerm extends TermBase {
  type: 'object';
  items: Array<[key: Term, value: Term]>;
}

export interface ArrayComprehensionTerm extends TermBase {
  type: 'arraycomprehension';
  term: Term;
  body: Body;
}

export interface SetComprehensionTerm extends TermBase {
  type: 'setcomprehension';
  term: Term;
  body: Body;
}

export interface ObjectComprehensionTerm extends TermBase {
  type: 'objectcomprehension';
  key: Term;
  value: Term;
  body: Body;
}

/**
 * A call nested inside a term: `f(x)`, `a.b.c(x)`, or an infix operator
 * (`x + 1` is `plus(x, 1)` with `infix: '+'`). The operator is a ref whose
 * head is a var: `plus`, `count`, `data.lib.f`, `internal.member_2`.
 */
export interface CallTerm extends TermBase {
  type: 'call';
  operator: RefTerm;
  args: Term[];
  /** The source operator symbol when the call was written infix (`+`, `==`, `in`). */
  infix?: string;
}

/**
 * A template string `$"a {x} b"`: literal text parts and embedded
 * expressions, in source order. An embedded expression that is undefined
 * renders as `<undefined>` (OPA's behaviour).
 */
export interface TemplateStringTerm extends TermBase {
  type: 'templatestring';
  parts: Array<StringTerm | Expr>;
  raw?: boolean;
}

export type ScalarTerm = NullTerm | BooleanTerm | NumberTerm | StringTerm;

export type Term =
  | ScalarTerm
  | VarTerm
  | RefTerm
  | ArrayTerm
  | SetTerm
  | ObjectTerm
  | ArrayComprehensionTerm
  | SetComprehensionTerm
  | ObjectComprehensionTerm
  | CallTerm
  | TemplateStringTerm;

export type TermType = Term['type'];

// ---------------------------------------------------------------- expressions

/** `with input.a as 1`, `with data.x as y`, `with count as mock_count`. */
export interface WithModifier {
  loc: Location;
  target: RefTerm;
  value: Term;
}

interface ExprBase {
  loc: Location;
  /** `not expr`. Never true for `some` and `every`. */
  negated: boolean;
  with: WithModifier[];
  /** True for expressions the parser made up (the body `true` of a bodiless rule). */
  generated?: boolean;
  /**
   * A negation in a module importing `future.keywords.not` (or all of
   * `future.keywords`): the whole expression is negated, its nested calls
   * and arguments included, instead of those being evaluated before it.
   */
  negationInside?: boolean;
}

/** A single term used as a statement: `input.allowed`, `x`, `true`. */
export interface TermExpr extends ExprBase {
  type: 'term';
  term: Term;
}

/**
 * A call used as a statement. Includes `assign(a, b)` for `a := b`,
 * `eq(a, b)` for `a = b`, infix operators (`x > 1` is `gt(x, 1)`), and plain
 * calls `f(x)`.
 */
export interface CallExpr extends ExprBase {
  type: 'call';
  operator: RefTerm;
  args: Term[];
  infix?: string;
}

/** `some x, y`: declares local variables. */
export interface SomeDeclExpr extends ExprBase {
  type: 'some';
  vars: VarTerm[];
}

/**
 * `some v in xs` (key undefined) or `some k, v in xs`. `key` and `value` are
 * terms, not only vars: `some [a, b] in pairs` destructures.
 */
export interface SomeInExpr extends ExprBase {
  type: 'somein';
  key: Term | undefined;
  value: Term;
  collection: Term;
}

/** `every v in xs { … }` (key undefined) or `every k, v in xs { … }`. */
export interface EveryExpr extends ExprBase {
  type: 'every';
  key: VarTerm | undefined;
  value: VarTerm;
  domain: Term;
  body: Body;
}

export type Expr = TermExpr | CallExpr | SomeDeclExpr | SomeInExpr | EveryExpr;

/** A rule or comprehension body: a conjunction of expressions, in order. */
export type Body = Expr[];

// ---------------------------------------------------------------- rules

/**
 * The kind of a rule, derived from its head:
 * - `single`: one value per (fully ground) ref: `p := 1`, `p if …`,
 *   `p[k] := v if …` (the former partial object), `a.b[c].d := 1`.
 * - `multi`: a set built from many bodies: `p contains x if …`
 *   (the former partial set `p[x]`).
 * - `function`: `f(x) := y if …`.
 */
export type RuleKind = 'single' | 'multi' | 'function';

export interface RuleHead {
  loc: Location;
  /**
   * The head reference, relative to the package: `p` is head var `p` with
   * an empty path; `a.b[c].d` is head var `a` with path `"b"`, var `c`, `"d"`.
   * For `p[k] := v` the last path element is `k`.
   */
  ref: RefTerm;
  /** The first segment of `ref` (`a` for `a.b.c`): the name OPA's v0 rules had. */
  name: string;
  /** Function arguments; defined only for functions. */
  args?: Term[];
  /** The element of a `contains` rule (`x` in `p contains x`); defined only for `multi`. */
  key?: Term;
  /** The rule's value; `true` (generated) when the head had none. Undefined for `multi`. */
  value?: Term;
  /** True for `:=`, false for `=` or no operator. */
  assign: boolean;
}

export interface Rule {
  loc: Location;
  kind: RuleKind;
  /** The `# METADATA` blocks right above the rule. */
  annotations?: Annotation[];
  default: boolean;
  head: RuleHead;
  /** The body; `[true]` (generated) for a rule written without one. */
  body: Body;
  /**
   * The next link of an `else` chain. Its head has the same ref (and the
   * same args, for functions) as this rule; its value is its own.
   */
  else?: Rule;
}

// ---------------------------------------------------------------- module

export interface Package {
  loc: Location;
  /** The `# METADATA` blocks right above the package statement. */
  annotations?: Annotation[];
  /** `package a.b` is head var `data` with path `"a"`, `"b"`. */
  path: RefTerm;
}

export interface Import {
  loc: Location;
  /** `data.x.y`, `input.a`, `rego.v1`, `future.keywords.in`. */
  path: RefTerm;
  /** `as z`; undefined when none was written. */
  alias?: string;
}

export interface Comment {
  loc: Location;
  /** The text after `#`, without the line break. */
  text: string;
}

/**
 * A `# METADATA` block: YAML in the comment lines below the header, bound to
 * the package or rule statement that follows it. `scope` defaults to the
 * kind of that statement.
 */
export interface Annotation {
  loc: Location;
  scope: 'rule' | 'document' | 'package' | 'subpackages';
  title?: string;
  description?: string;
  /** `entrypoint: true` asks `opa build` to make the annotated document an entrypoint. */
  entrypoint?: boolean;
  organizations?: string[];
  authors?: Array<{ name: string; email: string }>;
  relatedResources?: Array<{ ref: string; description?: string }>;
  schemas?: unknown[];
  custom?: Record<string, unknown>;
}

export interface Module {
  file: string;
  package: Package;
  /** All imports as written, including the no-op `rego.v1` and `future.keywords…`. */
  imports: Import[];
  rules: Rule[];
  /** Every comment, `# METADATA` blocks included. */
  comments: Comment[];
  /** Every `# METADATA` block, in source order (also attached to its package or rule). */
  annotations?: Annotation[];
}

// ---------------------------------------------------------------- operators

/**
 * OPA's names for the infix operators. The planner looks these names up as
 * builtins; `assign` and `eq` only appear as top-level `CallExpr`s.
 */
export const InfixOperators = {
  ':=': 'assign',
  '=': 'eq',
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
  '+': 'plus',
  '-': 'minus',
  '*': 'mul',
  '/': 'div',
  '%': 'rem',
  '&': 'and',
  '|': 'or',
} as const;

export type InfixSymbol = keyof typeof InfixOperators;

/** The operator names of `x in xs` and `k, v in xs`. */
export const MemberOperator = 'internal.member_2';
export const MemberWithKeyOperator = 'internal.member_3';

/** Dotted name of a call operator (`data.lib.f`, `internal.member_2`, `count`); undefined if a path element is not a string. */
export function operatorName(ref: RefTerm): string | undefined {
  if (ref.head.type !== 'var') return undefined;
  let name = ref.head.name;
  for (const seg of ref.path) {
    if (seg.type !== 'string') return undefined;
    name += '.' + seg.value;
  }
  return name;
}

/** True when the term holds no variables and no refs, calls or comprehensions. */
export function isGround(t: Term): boolean {
  switch (t.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
      return true;
    case 'array':
    case 'set':
      return t.items.every(isGround);
    case 'object':
      return t.items.every(([k, v]) => isGround(k) && isGround(v));
    default:
      return false;
  }
}
