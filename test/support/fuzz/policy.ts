/**
 * Random Rego v1 modules in the style of tool-call policies, for the
 * differential fuzzer: a `decision` with a default and an else chain, boolean
 * rules, sets of reasons, objects, general ref heads ending in sets, value
 * rules and functions, whose bodies compare, match strings, iterate with
 * `some … in`, quantify with `every`, negate (a quarter of the modules
 * import future.keywords.not and also write `not { … }`), and assign. Rules use only rules generated before them (no
 * recursion), and every variable is bound before it is read, so what is
 * generated is valid, safe Rego; what remains to differ is semantics.
 */
import { node, type Node } from './tree.ts';
import { chance, pick, type Rng } from './inputs.ts';
import { collection, condition, constant, dynamic, leaf, str, term, type Defined, type TermContext, type Ty, type Var } from './terms.ts';

export const PACKAGE = 'fz';

interface Literal {
  n: Node;
  binds: Var[];
}

class ModuleGen {
  readonly defined: Defined[] = [];
  #next = 0;

  /** The module imports future.keywords.not: whole-expression negation, and `not { … }` bodies. */
  constructor(
    readonly r: Rng,
    readonly futureNot = false,
  ) {}

  fresh(prefix: string): string {
    return `${prefix}${this.#next++}`;
  }

  ctx(scope: Var[]): TermContext {
    return { r: this.r, scope, defined: this.defined, fresh: (p) => this.fresh(p) };
  }

  /**
   * A literal that binds nothing and may be negated: a comparison,
   * membership, predicate or rule. Under `not`, no constant `true`/`false`
   * (nor one as a shrinking step): OPA defines `a := lower("A") if { not true }`.
   */
  test(scope: Var[], d: number, negated = false): Node {
    const c = this.ctx(scope);
    const T = negated ? '1 == 2' : 'true';
    const r = this.r;
    const bools = this.defined.filter((x) => !x.params && x.ty === 'bool');
    const preds = this.defined.filter((x) => x.params && x.ty === 'bool');
    switch (Math.floor(r() * 7)) {
      case 0:
      case 1: {
        // Same static type on both sides, or one side the checker cannot type: OPA refuses `1 == "a"`.
        const ty = pick(r, ['str', 'num', 'any'] as Ty[]);
        const op = ty === 'num' ? pick(r, ['==', '!=', '<', '<=', '>', '>=']) : pick(r, ['==', '!=', '==', '<']);
        return node([ty === 'any' ? dynamic(c) : term(c, ty, d), ` ${op} `, term(c, ty, d)], [T]);
      }
      case 2:
        if (chance(r, 0.7)) return node([dynamic(c), ' in ', term(c, pick(r, ['arr', 'set', 'obj'] as Ty[]), d)], [T]);
        return node([term(c, pick(r, ['str', 'num'] as Ty[]), d), ' in ', pick(r, ['input.user.roles', 'input.action.mcp.arguments', 'data.cfg.tools'])], [T]);
      case 3:
        return node([negated ? negatable(term(c, 'bool', d + 1)) : term(c, 'bool', d + 1)], [T]);
      case 4:
        if (bools.length > 0) return pick(r, bools).name;
        return node(['count(', term(c, pick(r, ['arr', 'set'] as Ty[]), d), ') > 0'], [T]);
      case 5:
        if (preds.length > 0) {
          const f = pick(r, preds);
          return node([f.name, '(', ...f.params!.flatMap((p, i) => (i > 0 ? [', ', term(c, p, d)] : [term(c, p, d)])), ')'], [T]);
        }
        return node(['count(', term(c, 'set', d), ') == 0'], [T]);
      default:
        return node([negated ? dynamic(c) : leaf(c, pick(r, ['bool', 'any'] as Ty[]))], [T]);
    }
  }

  /** One body literal; `binds` are the variables it leaves bound. */
  literal(scope: Var[], d: number): Literal {
    const r = this.r;
    const c = this.ctx(scope);
    const k = Math.floor(r() * 15);
    if (k < 3) return { n: this.test(scope, d), binds: [] };
    if (k < 5 && this.futureNot && d > 0 && chance(r, 0.4)) {
      // `not { … }`: its variables are its own; it reads those bound before it.
      const inner = this.body(scope, d - 1, 1 + Math.floor(r() * 2));
      const lines = inner.lines.map((l) => node(['\t\t', l, '\n'], ['']));
      return { n: node(['not {\n', ...lines, '\t}'], ['true']), binds: [] };
    }
    if (k < 5) return { n: node(['not ', this.test(scope, d, true)], ['true']), binds: [] };
    if (k < 7) {
      const ty = pick(r, ['str', 'num', 'bool', 'arr', 'set', 'obj'] as Ty[]);
      const v = this.fresh('v');
      return { n: node([v, ' := ', term(c, ty, d + 1)]), binds: [{ name: v, ty }] };
    }
    if (k < 9) {
      const coll = collection(c);
      const v = this.fresh('e');
      if (chance(r, 0.4)) {
        const key = this.fresh('k');
        return { n: node(['some ', key, ', ', v, ' in ', coll.n]), binds: [{ name: key, ty: coll.key }, { name: v, ty: coll.elem }] };
      }
      return { n: node(['some ', v, ' in ', coll.n]), binds: [{ name: v, ty: coll.elem }] };
    }
    if (k === 9 && d > 0) return { n: this.every(scope, d - 1), binds: [] };
    if (k === 10) {
      const [a, b] = [this.fresh('p'), this.fresh('p')];
      return { n: node(['[', a, ', ', b, '] := split(', term(c, 'str', d), ', "/")']), binds: [{ name: a, ty: 'str' }, { name: b, ty: 'str' }] };
    }
    if (k === 11) {
      const v = this.fresh('w');
      return { n: node([v, ' := ', pick(r, ['input.user.roles', 'input.context.labels', 'data.cfg.tools']), '[_]']), binds: [{ name: v, ty: 'any' }] };
    }
    if (k === 12) {
      const i = this.fresh('i');
      const arr = pick(r, ['input.user.roles', 'input.context.labels', 'input.action.http.body.tags']);
      return { n: node(['some ', i, '\n\t', arr, '[', i, '] == ', term(c, 'str', d)], ['true']), binds: [{ name: i, ty: 'any' }] };
    }
    if (k === 13) {
      const v = this.fresh('u');
      const [pattern, from] = pick(r, [['{"verdict": ', 'input.context.approval'], ['{"method": ', 'input.action.http'], ['{"server": ', 'input.action.mcp']]);
      return { n: node([pattern!, v, '} = ', from!]), binds: [{ name: v, ty: 'any' }] };
    }
    return { n: this.withModified(scope, d), binds: [] };
  }

  /** A test of rules evaluated under `with`: another input or data document for the rules it reaches. */
  withModified(scope: Var[], d: number): Node {
    const r = this.r;
    const c = this.ctx(scope);
    const rules = this.defined.filter((x) => !x.params);
    const rule = rules.length > 0 ? pick(r, rules) : undefined;
    let target: Node;
    // OPA types `input` from the replacement within the expression (`input.a == 1 with input.a as "x"` is a
    // type error): without a rule to test, the test reads a path no replacement touches.
    if (rule === undefined) target = node(['input.context.dry_run != ', constant(c, 'bool')], ['true']);
    else if (rule.name === 'decision') target = node(['decision.effect == ', str(pick(r, ['allow', 'deny', 'escalate']))], ['true']);
    else if (rule.ty === 'str' || rule.ty === 'num') target = node([rule.name, pick(r, [' == ', ' != ']), constant(c, rule.ty)], ['true']);
    else if (rule.ty === 'bool') target = rule.name;
    else target = node(['count(', rule.name, ') > 0'], ['true']);
    const [path, ty] = pick(r, [
      ['input.action.tool', 'str'], ['input.user.roles', 'arr'], ['input.context.mode', 'str'], ['input.action.http.body.amount', 'num'],
      ['input.action', 'obj'], ['data.cfg.tools', 'arr'], ['data.cfg.limits.fs', 'num'],
    ] as [string, Ty][]);
    return node([target, ' with ', path, ' as ', constant(c, ty)], ['true']);
  }

  every(scope: Var[], d: number): Node {
    const coll = collection(this.ctx(scope));
    const v = this.fresh('a');
    const scopeIn = [...scope, { name: v, ty: coll.elem }];
    // The first literal reads the variable: an `every` whose body ignores it is refused (declared var unused).
    const first = condition(this.ctx(scopeIn), d);
    const inner = this.body(scopeIn, d, Math.floor(this.r() * 2));
    const lines = [first, ...inner.lines].map((l) => node(['\t\t', l, '\n'], ['']));
    return node(['every ', v, ' in ', coll.n, ' {\n', ...lines, '\t}'], ['true']);
  }

  /** Literals one after another, each seeing the variables the earlier ones bound. */
  body(scope: Var[], d: number, size: number): { lines: Node[]; scope: Var[] } {
    const lines: Node[] = [];
    let s = scope;
    for (let i = 0; i < size; i++) {
      const l = this.literal(s, d);
      lines.push(l.n);
      s = [...s, ...l.binds];
    }
    return { lines, scope: s };
  }

  /** `head if { body }`: the head is made from the variables the body binds. */
  rule(head: (scope: Var[]) => Node[], scope: Var[] = []): Node {
    const b = this.body(scope, 2, 1 + Math.floor(this.r() * 3));
    const lines = b.lines.map((l) => node(['\t', l, '\n'], ['']));
    return node([...head(b.scope), ' if {\n', ...lines, '}'], ['']);
  }

  /** `decision`: a default and one or two rules with else chains. */
  decision(): Node[] {
    const r = this.r;
    const effect = (): string => str(pick(r, ['allow', 'deny', 'escalate']));
    const value = (s: Var[]): Node[] => ['{"effect": ', effect(), ', "reason": ', term(this.ctx(s), 'str', 1), '}'];
    const out: Node[] = [node(['default decision := {"effect": "deny", "reason": "default"}\n\n'], [''])];
    for (let i = chance(r, 0.25) ? 2 : 1; i > 0; i--) {
      const parts: Node[] = [this.rule((s) => ['decision := ', ...value(s)])];
      for (let e = Math.floor(r() * 3); e > 0; e--) {
        parts.push(node([' else ', this.rule((s) => [':= ', ...value(s)])], ['']));
      }
      if (chance(r, 0.3)) parts.push(node([' else := {"effect": ', effect(), ', "reason": "last"}'], ['']));
      out.push(node([...parts, '\n\n'], ['']));
    }
    this.defined.push({ name: 'decision', ty: 'obj' });
    return out;
  }

  /** One more rule or function of a random kind. */
  another(): Node {
    const r = this.r;
    const name = this.fresh(pick(r, ['allow', 'deny', 'info', 'lim', 'is_', 'f']));
    const kinds: (() => { text: Node; ty: Ty; params?: Ty[] })[] = [
      () => this.booleanRule(name),
      () => ({ ty: 'set', text: node([0, ...(chance(r, 0.5) ? [1] : [])].flatMap(() => [this.rule((s) => [name, ' contains ', term(this.ctx(s), 'str', 1)]), '\n\n'])) }),
      () => ({ ty: 'obj', text: node([objectRule(this, name), '\n\n']) }),
      () => ({ ty: 'obj', text: node([refHeadSets(this, name), '\n\n']) }),
      () => this.valueRule(name),
      () => {
        const ty = pick(r, ['str', 'num', 'set', 'obj', 'arr'] as Ty[]);
        return { ty, text: node([name, ' := ', term(this.ctx([]), ty, 3), '\n\n']) };
      },
      () => this.func(name, 'bool'),
      () => this.func(name, pick(r, ['str', 'num'] as Ty[])),
    ];
    const { text, ty, params } = pick(r, kinds)();
    this.defined.push({ name, ty, ...(params ? { params } : {}) });
    return node([text], ['']);
  }

  /** `name if { … }`, once or twice, perhaps with `default name := false`. */
  booleanRule(name: string): { text: Node; ty: Ty } {
    const defs = [this.rule(() => [name]), ...(chance(this.r, 0.4) ? [this.rule(() => [name])] : [])];
    const dflt = chance(this.r, 0.3) ? [node([`default ${name} := false\n\n`], [''])] : [];
    return { ty: 'bool', text: node([...dflt, ...defs.flatMap((d) => [d, '\n\n'])]) };
  }

  /** `name := value if { … }`, perhaps `else :=` a constant. */
  valueRule(name: string): { text: Node; ty: Ty } {
    const ty = pick(this.r, ['str', 'num', 'arr'] as Ty[]);
    const first = this.rule((s) => [name, ' := ', term(this.ctx(s), ty, 2)]);
    const rest = chance(this.r, 0.4) ? [node([' else := ', constant(this.ctx([]), ty)], [''])] : [];
    return { ty, text: node([first, ...rest, '\n\n']) };
  }

  /**
   * A function of one parameter, once or twice defined, perhaps with an
   * `else` and a `default`. OPA types a parameter from how the body uses it:
   * callers pass the type it was made for.
   */
  func(name: string, ty: Ty): { text: Node; ty: Ty; params: Ty[] } {
    const r = this.r;
    const params = [pick(r, ['str', 'num'] as Ty[])];
    const p = this.fresh('x');
    const paramScope: Var[] = [{ name: p, ty: params[0]! }];
    const head = (s: Var[]): Node[] => (ty === 'bool' ? [name, '(', p, ')'] : [name, '(', p, ') := ', term(this.ctx(s), ty, 1)]);
    const defs = [this.rule(head, paramScope), ...(chance(r, 0.3) ? [this.rule(head, paramScope)] : [])];
    const dflt = ty === 'bool' ? 'false' : constant(this.ctx([]), ty);
    const orElse = chance(r, 0.25) ? [node([' else := ', dflt], [''])] : [];
    const fallback = chance(r, 0.3) ? [node([`default ${name}(_) := `, dflt, '\n\n'], [''])] : [];
    return { ty, params, text: node([...fallback, defs[0]!, ...orElse, '\n\n', ...defs.slice(1).flatMap((d) => [d, '\n\n'])]) };
  }
}

/** A boolean term fit to follow `not`: never the constant `true` or `false`, not even after shrinking. */
function negatable(n: Node): Node {
  if (n === 'true' || n === 'false') return '1 == 2';
  if (typeof n === 'string') return n;
  return { parts: n.parts, simpler: (n.simpler ?? []).map((x) => (x === 'true' || x === 'false' ? '1 == 2' : x)) };
}

/** `name[key] := value if { some key, value in coll; … }`: keys from one collection, so no two clash. */
function objectRule(g: ModuleGen, name: string): Node {
  const coll = collection(g.ctx([]));
  const [key, val] = [g.fresh('k'), g.fresh('v')];
  const b = g.body([{ name: key, ty: coll.key }, { name: val, ty: coll.elem }], 1, Math.floor(g.r() * 2));
  const lines = [node(['\tsome ', key, ', ', val, ' in ', coll.n, '\n']), ...b.lines.map((l) => node(['\t', l, '\n'], ['']))];
  return node([name, '[', key, '] := ', term(g.ctx(b.scope), 'any', 1), ' if {\n', ...lines, '}'], ['']);
}

/**
 * General ref heads ending in a set: `name[key] contains value` beside
 * `name.fs contains …` (one set where the keys meet, as OPA merges them).
 */
function refHeadSets(g: ModuleGen, name: string): Node {
  const coll = collection(g.ctx([]));
  const [key, val] = [g.fresh('k'), g.fresh('v')];
  const b = g.body([{ name: key, ty: coll.key }, { name: val, ty: coll.elem }], 1, Math.floor(g.r() * 2));
  const lines = [node(['\tsome ', key, ', ', val, ' in ', coll.n, '\n']), ...b.lines.map((l) => node(['\t', l, '\n'], ['']))];
  const fixed = chance(g.r, 0.7) ? [node([`\n\n${name}.fs contains `, constant(g.ctx([]), 'str')], [''])] : [];
  return node([name, '[', key, '] contains ', term(g.ctx(b.scope), 'any', 1), ' if {\n', ...lines, '}', ...fixed], ['']);
}

/** A random module of package `fz`: its text as a shrinkable tree. */
export function randomModule(r: Rng): Node {
  const futureNot = chance(r, 0.25);
  const g = new ModuleGen(r, futureNot);
  const rules: Node[] = futureNot ? ['import future.keywords.not\n\n'] : [];
  for (let i = Math.floor(r() * 3); i > 0; i--) rules.push(g.another());
  rules.push(...g.decision());
  for (let i = Math.floor(r() * 3); i > 0; i--) rules.push(g.another());
  return node([`package ${PACKAGE}\n\n`, ...rules]);
}
