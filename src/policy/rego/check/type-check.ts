/**
 * A conservative static type check, OPA's `rego_type_error` for the cases
 * that can be decided from the policy alone: builtin calls whose arguments
 * have a type the builtin cannot take (`count(1)`, `"a" + "b"`,
 * `sprintf("%s", "x")`), and refs into values known to be scalars
 * (`x := 1; x.y`, `p.x` for `p := 1`). Types come from literals, builtin
 * results, `:=`/`some … in` bindings in scope, and the values of rules and
 * functions (through `Globals`); input, base data and function arguments
 * are `any` and never an error. As in OPA, the expressions of an `every`
 * body are not checked, only the comprehensions inside them.
 */
import type { Body, CallExpr, CallTerm, Expr, Location, ObjectTerm, RefTerm, Rule, SomeInExpr, Term } from '../ast.ts';
import { termParts } from '../ast-parts.ts';
import { operatorName } from '../ast.ts';
import { signatureOf } from './signatures.ts';
import {
  ANY, BOOLEAN, NULL, NUMBER, STRING, isScalar, keyType, memberType, overlaps, showType, union, type RegoType,
} from './types.ts';

export interface TypeFinding {
  loc: Location;
  message: string;
}

/** What a local variable was bound to, typed on demand. */
type Binding = { term: Term; scope: Scope; part: 'value' | 'member' | 'key' } | { type: RegoType };

class Scope {
  private readonly vars = new Map<string, Binding>();
  constructor(readonly parent: Scope | undefined) {}

  bind(name: string, b: Binding): void {
    this.vars.set(name, b);
  }

  lookup(name: string): Binding | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }
}

/** What a module's rules see beyond their own local variables. */
export interface Globals {
  /** The call operator names the builtin (no rule or import of the module takes the name). */
  isBuiltin(name: string): boolean;
  /** The type of a name no local variable binds: a rule of the package, an import; `any` otherwise. */
  nameType(name: string): RegoType;
  /** The type of the document at `data.<path…>` and how many path segments named it; undefined when unknown. */
  dataType(path: string[]): { type: RegoType; consumed: number } | undefined;
  /** The result type of a call to a user function (`f`, `data.lib.f`). */
  functionResult(name: string): RegoType;
}

/** The types a rule (one link of its else chain) gives its head terms. */
export interface HeadTypes {
  value: RegoType;
  key: RegoType;
  /** The type of the first ref path element (`k` in `p[k] := v`). */
  pathKey: RegoType;
}

export class TypeChecker {
  readonly findings: TypeFinding[] = [];
  private readonly inProgress = new Set<Term>();

  constructor(private readonly globals: Globals) {}

  checkRule(rule: Rule): void {
    for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
      const scope = this.ruleScope(r);
      this.body(r.body, scope);
      const h = r.head;
      for (const t of [...h.ref.path, ...(h.key ? [h.key] : []), ...(h.value ? [h.value] : [])]) this.term(t, scope);
    }
  }

  /** The types of one rule's head terms, in the scope of its body. */
  headTypes(r: Rule): HeadTypes {
    const scope = this.ruleScope(r);
    for (const e of r.body) this.declare(e, scope);
    const h = r.head;
    return {
      value: h.value ? this.typeOf(h.value, scope) : ANY,
      key: h.key ? this.typeOf(h.key, scope) : ANY,
      pathKey: h.ref.path[0] ? this.typeOf(h.ref.path[0], scope) : ANY,
    };
  }

  /** A rule's own scope: function arguments are variables of unknown type. */
  private ruleScope(r: Rule): Scope {
    const scope = new Scope(undefined);
    for (const a of r.head.args ?? []) bindAllAny(a, scope);
    return scope;
  }

  private body(body: Body, scope: Scope): void {
    for (const e of body) this.declare(e, scope);
    for (const e of body) this.expr(e, scope);
  }

  /** Binds the variables an expression introduces, so later uses see their types. */
  private declare(e: Expr, scope: Scope): void {
    if (e.type === 'some') for (const v of e.vars) scope.bind(v.name, { type: ANY });
    if (e.type === 'somein') declareSomeIn(e, scope);
    if (e.type === 'call' && operatorName(e.operator) === 'assign') declareAssigned(e, scope);
  }

  private expr(e: Expr, scope: Scope): void {
    // As OPA, the expression is judged with the builtins' own types even when a `with` replaces one.
    for (const w of e.with) this.term(w.value, scope);
    switch (e.type) {
      case 'term':
        this.term(e.term, scope);
        break;
      case 'call':
        e.args.forEach((a) => this.term(a, scope));
        this.checkCall(e.operator, e.args, e.loc, scope);
        break;
      case 'somein':
        this.term(e.collection, scope);
        this.checkIterated(e.collection, scope);
        break;
      case 'every': {
        this.term(e.domain, scope);
        const inner = new Scope(scope);
        if (e.key) inner.bind(e.key.name, { term: e.domain, scope, part: 'key' });
        inner.bind(e.value.name, { term: e.domain, scope, part: 'member' });
        this.closuresOnly(e.body, inner);
        break;
      }
      case 'some':
        break;
    }
  }

  /**
   * An `every` body as OPA checks it: not its own expressions (OPA accepts
   * `every x in xs { count(1) == x }`), only the comprehensions in them,
   * which are checked whole.
   */
  private closuresOnly(body: Body, scope: Scope): void {
    for (const e of body) this.declare(e, scope);
    for (const e of body) {
      if (e.type === 'every') {
        comprehensionsIn(e.domain).forEach((c) => this.term(c, scope));
        this.closuresOnly(e.body, new Scope(scope));
        continue;
      }
      const terms = e.type === 'term' ? [e.term] : e.type === 'call' ? e.args : e.type === 'somein' ? [e.collection] : [];
      for (const t of [...terms, ...e.with.map((w) => w.value)]) comprehensionsIn(t).forEach((c) => this.term(c, scope));
    }
  }

  /** Checks the calls and refs inside a term. */
  private term(t: Term, scope: Scope): void {
    if (isComprehension(t)) return this.comprehension(t, scope);
    if (t.type === 'templatestring') {
      for (const p of t.parts) if (p.type !== 'string') this.expr(p, new Scope(scope));
      return;
    }
    for (const x of termParts(t).terms) this.term(x, scope);
    if (t.type === 'ref') this.checkRef(t, scope);
    if (t.type === 'call') this.checkCall(t.operator, t.args, t.loc, scope);
  }

  /** A comprehension's body, then its head, in a scope of its own. */
  private comprehension(t: ComprehensionTerm, scope: Scope): void {
    const inner = new Scope(scope);
    this.body(t.body, inner);
    const heads = t.type === 'objectcomprehension' ? [t.key, t.value] : [t.term];
    for (const h of heads) this.term(h, inner);
  }

  private checkCall(operator: RefTerm, args: Term[], loc: Location, scope: Scope): void {
    const name = operatorName(operator);
    if (name === undefined || !this.globals.isBuiltin(name)) return;
    const sig = signatureOf(name);
    // Arity is the planner's check; with an output argument the extra one is the result.
    if (sig === undefined || args.length < sig.args.length || args.length > sig.args.length + 1) return;
    const have = sig.args.map((_, i) => this.typeOf(args[i]!, scope));
    if (have.every((t, i) => overlaps(t, sig.args[i]!))) return;
    this.findings.push({
      loc,
      message: `${name}: invalid argument(s): have (${have.map(showType).join(', ')}), want (${sig.args.map(showType).join(', ')})`,
    });
  }

  /**
   * `some x in c` reads `c[k]`: OPA refuses it when `c` is a variable, ref
   * or call of a scalar type (`y := 1; some x in y`), as it refuses `y[_]`.
   * A scalar literal (`some x in true`) it accepts, and so does this check.
   */
  private checkIterated(c: Term, scope: Scope): void {
    if (c.type !== 'var' && c.type !== 'ref' && c.type !== 'call') return;
    const t = this.typeOf(c, scope);
    if (!isScalar(t)) return;
    const text = c.type === 'var' ? c.name : c.type === 'ref' ? refText(c) : `${operatorName(c.operator) ?? '<call>'}(…)`;
    this.findings.push({ loc: c.loc, message: `undefined ref: ${text}[_] (${text} has type ${showType(t)})` });
  }

  private checkRef(ref: RefTerm, scope: Scope): void {
    if (ref.path.length === 0 || ref.head.type !== 'var') return;
    let { type: t, consumed } = this.refBase(ref, scope);
    for (let i = consumed; i < ref.path.length; i++) {
      if (isScalar(t)) {
        this.findings.push({ loc: ref.loc, message: `undefined ref: ${refText(ref)} (${refText(ref, i)} has type ${showType(t)})` });
        return;
      }
      t = memberType(t);
    }
  }

  /** The type of the part of a ref that names a document: a local, a rule, `data.pkg.rule`; and how many path elements it took. */
  private refBase(ref: RefTerm, scope: Scope): { type: RegoType; consumed: number } {
    if (ref.head.type !== 'var') return { type: this.typeOf(ref.head, scope), consumed: 0 };
    const name = ref.head.name;
    if (name === 'data' && scope.lookup(name) === undefined) {
      const strings: string[] = [];
      for (const p of ref.path) {
        if (p.type !== 'string') break;
        strings.push(p.value);
      }
      return this.globals.dataType(strings) ?? { type: ANY, consumed: ref.path.length };
    }
    return { type: this.varType(name, scope), consumed: 0 };
  }

  /** The static type of a term in a scope; `any` when not known. */
  typeOf(t: Term, scope: Scope): RegoType {
    const of = TypeChecker.TYPES_OF[t.type] as (c: TypeChecker, t: Term, scope: Scope) => RegoType;
    return of(this, t, scope);
  }

  /** How each kind of term is typed. */
  private static readonly TYPES_OF: { [K in Term['type']]: (c: TypeChecker, t: Extract<Term, { type: K }>, scope: Scope) => RegoType } = {
    null: () => NULL,
    boolean: () => BOOLEAN,
    number: () => NUMBER,
    string: () => STRING,
    templatestring: () => STRING,
    var: (c, t, scope) => c.varType(t.name, scope),
    ref: (c, t, scope) => c.refType(t, scope),
    array: (c, t, scope) => ({ kind: 'array', of: c.itemsType(t.items, scope) }),
    set: (c, t, scope) => ({ kind: 'set', of: c.itemsType(t.items, scope) }),
    object: (c, t, scope) => c.objectType(t, scope),
    arraycomprehension: (c, t, scope) => ({ kind: 'array', of: c.typeOf(t.term, c.comprehensionScope(t.body, scope)) }),
    setcomprehension: (c, t, scope) => ({ kind: 'set', of: c.typeOf(t.term, c.comprehensionScope(t.body, scope)) }),
    objectcomprehension: (c, t, scope) => {
      const inner = c.comprehensionScope(t.body, scope);
      return { kind: 'object', key: c.typeOf(t.key, inner), value: c.typeOf(t.value, inner) };
    },
    call: (c, t) => c.callType(t),
  };

  /** A ref's document, then a member of it per remaining path element (`any` below a scalar). */
  private refType(t: RefTerm, scope: Scope): RegoType {
    let { type, consumed } = this.refBase(t, scope);
    for (let i = consumed; i < t.path.length && type.kind !== 'any'; i++) type = isScalar(type) ? ANY : memberType(type);
    return type;
  }

  private itemsType(items: Term[], scope: Scope): RegoType {
    return items.length === 0 ? ANY : union(items.map((i) => this.typeOf(i, scope)));
  }

  private objectType(t: ObjectTerm, scope: Scope): RegoType {
    if (t.items.length === 0) return { kind: 'object', key: ANY, value: ANY };
    return {
      kind: 'object',
      key: union(t.items.map(([k]) => this.typeOf(k, scope))),
      value: union(t.items.map(([, v]) => this.typeOf(v, scope))),
    };
  }

  /** A builtin's result type from its signature; a user function's from its rules. */
  private callType(t: CallTerm): RegoType {
    const name = operatorName(t.operator);
    if (name === undefined) return ANY;
    if (!this.globals.isBuiltin(name)) return this.globals.functionResult(name);
    return signatureOf(name)?.result ?? ANY;
  }

  private comprehensionScope(body: Body, scope: Scope): Scope {
    const inner = new Scope(scope);
    for (const e of body) this.declare(e, inner);
    return inner;
  }

  private varType(name: string, scope: Scope): RegoType {
    const b = scope.lookup(name);
    if (b === undefined) return this.globals.nameType(name);
    if ('type' in b) return b.type;
    // A binding that refers to itself (`x := x + 1` reading an outer x) is not typed.
    if (this.inProgress.has(b.term)) return ANY;
    this.inProgress.add(b.term);
    try {
      const t = this.typeOf(b.term, b.scope);
      return b.part === 'value' ? t : b.part === 'member' ? memberType(t) : keyType(t);
    } finally {
      this.inProgress.delete(b.term);
    }
  }
}

type ComprehensionTerm = Extract<Term, { type: 'arraycomprehension' | 'setcomprehension' | 'objectcomprehension' }>;

function isComprehension(t: Term): t is ComprehensionTerm {
  return t.type === 'arraycomprehension' || t.type === 'setcomprehension' || t.type === 'objectcomprehension';
}

/** `some k, v in c`: a variable key or value is typed from `c`; a pattern's variables get no type. */
function declareSomeIn(e: SomeInExpr, scope: Scope): void {
  if (e.value.type === 'var') scope.bind(e.value.name, { term: e.collection, scope, part: 'member' });
  else bindAllAny(e.value, scope);
  if (e.key?.type === 'var') scope.bind(e.key.name, { term: e.collection, scope, part: 'key' });
  else if (e.key) bindAllAny(e.key, scope);
}

/** `x := v`: `x` is typed from `v`; a pattern's variables get no type. */
function declareAssigned(e: CallExpr, scope: Scope): void {
  const [lhs, rhs] = e.args;
  if (lhs?.type === 'var' && rhs) scope.bind(lhs.name, { term: rhs, scope, part: 'value' });
  else if (lhs) bindAllAny(lhs, scope);
}

/** The comprehensions in a term, outermost only. */
function comprehensionsIn(t: Term): Term[] {
  switch (t.type) {
    case 'arraycomprehension':
    case 'setcomprehension':
    case 'objectcomprehension':
      return [t];
    case 'ref':
      return [t.head, ...t.path].flatMap(comprehensionsIn);
    case 'array':
    case 'set':
      return t.items.flatMap(comprehensionsIn);
    case 'object':
      return t.items.flat().flatMap(comprehensionsIn);
    case 'call':
      return t.args.flatMap(comprehensionsIn);
    default:
      return [];
  }
}

/** Vars of a destructuring pattern (`[a, b] := …`) get no type. */
function bindAllAny(t: Term, scope: Scope): void {
  switch (t.type) {
    case 'var':
      scope.bind(t.name, { type: ANY });
      break;
    case 'array':
    case 'set':
      t.items.forEach((i) => bindAllAny(i, scope));
      break;
    case 'object':
      for (const [, v] of t.items) bindAllAny(v, scope);
      break;
    default:
      break;
  }
}

/** `a.b[x]["c-d"]`, up to path element `upTo` (exclusive) when given. */
function refText(ref: RefTerm, upTo = ref.path.length): string {
  let s = ref.head.type === 'var' ? ref.head.name : '<term>';
  for (const p of ref.path.slice(0, upTo)) {
    if (p.type === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.value)) s += `.${p.value}`;
    else if (p.type === 'string') s += `[${JSON.stringify(p.value)}]`;
    else if (p.type === 'var') s += `[${p.wildcard ? '_' : p.name}]`;
    else if (p.type === 'number') s += `[${p.value}]`;
    else s += '[…]';
  }
  return s;
}
