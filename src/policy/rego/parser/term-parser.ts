/**
 * Terms: scalars, vars, refs and calls, and the infix operators with OPA's
 * binding strength, loosest first: `in`, relations (`==` `!=` `<` `<=` `>`
 * `>=`), `|`, `&`, `+` `-`, `*` `/` `%`. Every level is left-associative.
 * Composite terms are parsed by the subclass in composite-parser.ts.
 */
import type { Body, CallTerm, Expr, Location, NumberTerm, RefTerm, StringTerm, Term } from '../ast.ts';
import { InfixOperators, MemberOperator, MemberWithKeyOperator, type InfixSymbol } from '../ast.ts';
import { TokenCursor, type CursorState } from './cursor.ts';
import { KEYWORDS, type Token, type TokenKind } from './tokens.ts';

/** Binary operator levels, loosest first; `in` sits above all of them. */
const LEVELS: ReadonlyArray<ReadonlySet<TokenKind>> = [
  new Set<TokenKind>(['==', '!=', '<', '>', '<=', '>=']),
  new Set<TokenKind>(['|']),
  new Set<TokenKind>(['&']),
  new Set<TokenKind>(['+', '-']),
  new Set<TokenKind>(['*', '/', '%']),
];
const LAST_LEVEL = LEVELS.length - 1;
/** The level of `|`, which ends a comprehension head read by parseComprehensionHead. */
const UNION_LEVEL = 1;

/** How deeply terms may nest (`[[[…]]]`); far beyond real policies, well within Node's stack. */
const MAX_DEPTH = 200;

/** Terms whose value may be indexed or called (OPA refuses refs on scalars). */
const REF_HEADS = new Set<Term['type']>([
  'var', 'array', 'object', 'set', 'arraycomprehension', 'objectcomprehension', 'setcomprehension', 'call',
]);

/** Which method parses a term that starts with a token of this kind. */
const TERM_HEADS: Partial<Record<TokenKind, TermHeadParser>> = {
  ident: 'parseIdentTerm',
  number: 'parseNumber',
  '-': 'parseNumber',
  '.': 'parseNumber',
  string: 'parseStringTerm',
  'template-part': 'parseTemplate',
  'template-end': 'parseTemplate',
  '[': 'parseArray',
  '{': 'parseSetOrObject',
  '(': 'parseParenthesised',
};

type TermHeadParser =
  | 'parseIdentTerm' | 'parseNumber' | 'parseStringTerm' | 'parseTemplate' | 'parseArray' | 'parseSetOrObject' | 'parseParenthesised';

/** `01` is refused; `0`, `0.5` and `0e3` are not. */
function hasLeadingZero(lit: string): boolean {
  if (lit.length < 2 || lit[0] !== '0') return false;
  const decimal = lit[1] === '.';
  const scientific = lit.length > 2 && (lit[1] === 'e' || lit[1] === 'E');
  return !decimal && !scientific;
}

/** A term parsed at a token index, reused when an ambiguity makes the parser read it again. */
interface CachedTerm {
  term: Term;
  wildcardsBefore: number;
  after: CursorState;
}

export abstract class TermParser extends TokenCursor {
  private readonly termCache = new Map<number, CachedTerm>();
  /** Nesting depth of terms being parsed; bounded so hostile input cannot exhaust the stack. */
  private depth = 0;
  /** The depth at which `|` ends a comprehension head instead of making a union; -1 outside one. */
  private headDepth = -1;

  /** Parses expressions up to (not including) `end`. */
  protected abstract parseBody(end: TokenKind): Body;
  /** Parses one expression (`not`, `some`, `every`, `with` included). */
  protected abstract parseLiteral(): Expr;

  /** A term with infix operators. `keyVal` admits `k, v in xs` (not inside lists). */
  protected parseTermInfix(keyVal: boolean): Term {
    let left = this.parseLevel(0);
    for (;;) {
      if (keyVal && this.at(',')) {
        const lhs = left;
        const r = this.attempt(() => {
          this.advance();
          const mhs = this.parseLevel(0);
          if (!this.atKeyword('in')) this.unexpected('expected in');
          const op = this.advance();
          return this.makeCall(MemberWithKeyOperator, op, [lhs, mhs, this.parseLevel(0)], 'in');
        });
        if (r.ok) {
          left = r.value;
          continue;
        }
      }
      if (!this.atKeyword('in')) return left;
      const op = this.advance();
      left = this.makeCall(MemberOperator, op, [left, this.parseLevel(0)], 'in');
    }
  }

  /**
   * A comprehension head with infix operators (`x * 2` in `[x * 2 | …]`): the
   * `|` at its top level ends it; a `|` inside parentheses or nested terms
   * is still a union, as those are parsed one term deeper.
   */
  protected parseComprehensionHead(): Term {
    const saved = this.headDepth;
    this.headDepth = this.depth;
    try {
      return this.parseTermInfix(false);
    } finally {
      this.headDepth = saved;
    }
  }

  private parseLevel(n: number): Term {
    let lhs = n === LAST_LEVEL ? this.parseTerm() : this.parseLevel(n + 1);
    const ops = LEVELS[n]!;
    if (n === UNION_LEVEL && this.depth === this.headDepth) return lhs;
    while (ops.has(this.tok.kind)) {
      const op = this.advance();
      const rhs = n === LAST_LEVEL ? this.parseTerm() : this.parseLevel(n + 1);
      const symbol = op.kind as InfixSymbol;
      lhs = this.makeCall(InfixOperators[symbol], op, [lhs, rhs], symbol);
    }
    return lhs;
  }

  /** An operator's call; it sits where its first operand starts. */
  protected makeCall(name: string, op: Token, args: [Term, ...Term[]], infix: string): CallTerm {
    return { type: 'call', loc: args[0].loc, operator: this.nameRef(name, this.locOf(op)), args, infix };
  }

  /** `internal.member_2` as a ref: var `internal`, path `"member_2"`. */
  protected nameRef(name: string, loc: Location): RefTerm {
    const [head, ...rest] = name.split('.');
    return {
      type: 'ref',
      loc,
      head: { type: 'var', loc, name: head! },
      path: rest.map((value): StringTerm => ({ type: 'string', loc, value })),
    };
  }

  /** One term without infix operators, with its ref and call suffixes. */
  protected parseTerm(): Term {
    const start = this.index;
    const cached = this.termCache.get(start);
    if (cached !== undefined && cached.wildcardsBefore === this.wildcards) {
      this.restore(cached.after);
      return cached.term;
    }
    const wildcardsBefore = this.wildcards;
    if (++this.depth > MAX_DEPTH) this.fail('max parsing recursion depth reached');
    try {
      const term = this.parseTermFinish(this.parseTermHead());
      this.termCache.set(start, { term, wildcardsBefore, after: this.save() });
      return term;
    } finally {
      this.depth--;
    }
  }

  /** Forgets cached terms; called between top-level statements, which never share tokens. */
  protected clearTermCache(): void {
    this.termCache.clear();
  }

  private parseTermHead(): Term {
    const parse = TERM_HEADS[this.tok.kind];
    if (parse === undefined) return this.unexpected();
    return this[parse]();
  }

  private parseStringTerm(): StringTerm {
    const t = this.advance();
    const term: StringTerm = { type: 'string', loc: this.locOf(t), value: t.value };
    if (t.raw) term.raw = true;
    return term;
  }

  /** `( term )`: parentheses only group. */
  private parseParenthesised(): Term {
    this.advance();
    const inner = this.parseTermInfix(true);
    if (!this.at(')')) this.fail('non-terminated expression');
    this.advance();
    return inner;
  }

  private parseIdentTerm(): Term {
    const t = this.tok;
    const loc = this.locOf(t);
    if (KEYWORDS.has(t.text) && !this.startsRef(1)) {
      if (t.text === 'true' || t.text === 'false') {
        this.advance();
        return { type: 'boolean', loc, value: t.text === 'true' };
      }
      if (t.text === 'null') {
        this.advance();
        return { type: 'null', loc };
      }
      // `contains` outside rule heads is the builtin's name.
      if (t.text !== 'contains') this.unexpected();
    }
    this.advance();
    if (t.text === '_') return { type: 'var', loc, name: this.genWildcard(), wildcard: true };
    return { type: 'var', loc, name: t.text };
  }

  /** Ref and call suffixes that follow a term with no space in between. */
  protected parseTermFinish(head: Term): Term {
    const t = this.tok;
    if (!t.spaceBefore && (t.kind === '.' || t.kind === '[' || t.kind === '(')) return this.parseRef(head, false);
    return this.rootRef(head);
  }

  /** `data` and `input` on their own are refs, as in OPA. */
  protected rootRef(term: Term): Term {
    if (term.type === 'var' && (term.name === 'data' || term.name === 'input')) {
      return { type: 'ref', loc: term.loc, head: term, path: [] };
    }
    return term;
  }

  /** `head.a[b](c).d…`; `spacedFirst` lets the first step follow a space (rule heads). */
  protected parseRef(head: Term, spacedFirst: boolean): Term {
    if (!REF_HEADS.has(head.type)) this.fail(`illegal ref (head cannot be ${head.type})`);
    const path: Term[] = [];
    for (let first = true; ; first = false) {
      if (this.tok.spaceBefore && !(first && spacedFirst)) break;
      if (this.at('(')) return this.parseCallSuffix({ type: 'ref', loc: head.loc, head, path });
      const segment = this.parseRefSegment();
      if (segment === undefined) break;
      path.push(segment);
    }
    return { type: 'ref', loc: head.loc, head, path };
  }

  /** `.name` or `[term]`; undefined when neither follows. */
  private parseRefSegment(): Term | undefined {
    if (this.at('.')) {
      this.advance();
      const seg = this.tok;
      if (seg.kind !== 'ident' || seg.spaceBefore) this.unexpected('expected ident');
      this.advance();
      return { type: 'string', loc: this.locOf(seg), value: seg.text };
    }
    if (!this.at('[')) return undefined;
    this.advance();
    const key = this.parseTermInfix(true);
    this.expect(']', 'expected ]');
    return key;
  }

  /** `ref(args)`, and the ref steps that may follow the call's result. */
  private parseCallSuffix(operator: RefTerm): Term {
    const call = this.parseCall(operator);
    const next = this.tok;
    if (!next.spaceBefore && (next.kind === '.' || next.kind === '[')) return this.parseRef(call, false);
    return call;
  }

  private parseCall(operator: RefTerm): Term {
    this.advance();
    if (this.at(')')) {
      this.advance();
      if (operator.head.type === 'var' && operator.head.name === 'set' && operator.path.length === 0) {
        return { type: 'set', loc: operator.loc, items: [] };
      }
      return { type: 'call', loc: operator.loc, operator, args: [] };
    }
    const args = this.parseTermList(')', []);
    this.advance();
    return { type: 'call', loc: operator.loc, operator, args };
  }

  /** Comma-separated terms up to `end` (not consumed); a trailing comma is allowed. */
  protected parseTermList(end: TokenKind, items: Term[]): Term[] {
    if (this.at(end)) return items;
    for (;;) {
      items.push(this.parseTermInfix(false));
      if (this.at(end)) return items;
      if (!this.at(',')) this.unexpected(`expected "," or "${end}"`);
      this.advance();
      if (this.at(end)) return items;
    }
  }

  private parseNumber(): NumberTerm {
    const loc = this.loc();
    const prefix = this.parseNumberPrefix();
    const lit = this.tok.text;
    if (!prefix.endsWith('.') && hasLeadingZero(lit)) this.unexpected('expected number without leading zero');
    const exp = /[eE]([+-]?\d+)$/.exec(lit);
    // OPA caps the binary exponent at 1e5, about 30103 decimal digits.
    if (exp !== null && Math.abs(Number(exp[1])) > 30000) this.fail('number too big');
    this.advance();
    return { type: 'number', loc, value: prefix + lit };
  }

  /** The `-` and `.` a number may start with, which the lexer reads as tokens of their own. */
  private parseNumberPrefix(): string {
    let prefix = '';
    if (this.at('-')) {
      this.advance();
      prefix = '-';
      if (!this.at('number') && !this.at('.')) this.unexpected('expected number');
    }
    if (this.at('.')) {
      this.advance();
      prefix += '.';
      if (!this.at('number')) this.unexpected('expected number');
    }
    return prefix;
  }

  /** `[…]`: arrays and array comprehensions. */
  protected abstract parseArray(): Term;
  /** `{…}`: objects, sets and their comprehensions. */
  protected abstract parseSetOrObject(): Term;
  /** `$"…"`: template strings. */
  protected abstract parseTemplate(): Term;
}
