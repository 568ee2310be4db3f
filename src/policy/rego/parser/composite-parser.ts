/**
 * Composite terms: arrays, sets, objects, their comprehensions, and template
 * strings. `{a | b}` and `[a | b]` read as comprehensions when they can, as
 * OPA reads them; only a failing body followed by `,` falls back to a list
 * with an `or` call.
 */
import type { ArrayTerm, Body, Expr, Location, ObjectTerm, SetTerm, StringTerm, TemplateStringTerm, Term } from '../ast.ts';
import type { CursorState } from './cursor.ts';
import { TermParser } from './term-parser.ts';
import type { Token } from './tokens.ts';

export abstract class CompositeParser extends TermParser {
  private parsePairList(items: Array<[Term, Term]>): Array<[Term, Term]> {
    if (this.at('}')) return items;
    for (;;) {
      const key = this.parseTermInfix(false);
      this.expect(':', 'expected ":"');
      items.push([key, this.parseTermInfix(false)]);
      if (this.at('}')) return items;
      if (!this.at(',')) this.unexpected('expected "," or "}"');
      this.advance();
      if (this.at('}')) return items;
    }
  }

  /** `[]`, `[a, b]`, `[x | body]`. A single term followed by `|` is a comprehension, not `or`. */
  protected parseArray(): Term {
    const loc = this.locOf(this.advance());
    if (this.at(']')) {
      this.advance();
      return { type: 'array', loc, items: [] };
    }
    // `[, x]`: a leading comma rules out a comprehension.
    const potentialComprehension = !this.at(',');
    if (!potentialComprehension) this.advance();
    const s = this.save();
    const head = this.parseTerm();
    const read = this.parseArrayAfterHead(loc, head, potentialComprehension);
    if (read !== undefined) return read;
    this.restore(s);
    if (!potentialComprehension) return this.finishArray(loc, []);
    const c = this.orInfixHeadComprehension(() => this.finishArray(loc, []), ']');
    return 'plain' in c ? c.plain : { type: 'arraycomprehension', loc, term: c.head, body: c.body };
  }

  /**
   * `[x]`, `[x, …]` or `[x | body]` after the first term `x`; undefined when
   * the text must be read again another way (an infix head or a union).
   */
  private parseArrayAfterHead(loc: Location, head: Term, potentialComprehension: boolean): Term | undefined {
    if (this.at(']')) {
      this.advance();
      return { type: 'array', loc, items: [head] };
    }
    if (this.at(',')) {
      this.advance();
      return this.finishArray(loc, [head]);
    }
    if (!this.at('|') || !potentialComprehension) return undefined;
    this.advance();
    const r = this.attempt(() => this.parseBody(']'));
    if (r.ok) {
      this.advance();
      return { type: 'arraycomprehension', loc, term: head, body: r.value };
    }
    if (this.tokens[r.error.tokenIndex]?.kind !== ',') throw r.error;
    return undefined;
  }

  /**
   * OPA reads `[x * 2 | body]` as a list holding the union `x * 2 | body`,
   * which fails when `body` is not a term (`some x in xs`, `x := …`). Only
   * then is the text read as a comprehension whose head ends at the
   * top-level `|`, so every text OPA accepts keeps OPA's reading. When both
   * fail, the error that got further is the one worth reporting.
   */
  private orInfixHeadComprehension<T>(plain: () => T, end: ']' | '}'): { plain: T } | { head: Term; body: Body } {
    const p = this.attempt(plain);
    if (p.ok) return { plain: p.value };
    const c = this.attempt(() => {
      const head = this.parseComprehensionHead();
      this.expect('|', 'expected "|"');
      const body = this.parseBody(end);
      this.advance();
      return { head, body };
    });
    if (c.ok) return c.value;
    throw c.error.tokenIndex > p.error.tokenIndex ? c.error : p.error;
  }

  private finishArray(loc: Location, items: Term[]): ArrayTerm {
    const all = this.parseTermList(']', items);
    this.advance();
    return { type: 'array', loc, items: all };
  }

  /** `{}` (empty object), sets, objects and their comprehensions. */
  protected parseSetOrObject(): Term {
    const loc = this.locOf(this.advance());
    if (this.at('}')) {
      this.advance();
      return { type: 'object', loc, items: [] };
    }
    let potentialComprehension = true;
    if (this.at(',')) {
      potentialComprehension = false;
      this.advance();
    }
    const s = this.save();
    const head = this.parseTerm();
    if ((this.at('|') && potentialComprehension) || this.at('}') || this.at(',')) {
      return this.parseSetRest(loc, s, head, potentialComprehension);
    }
    if (this.at(':')) return this.parseObjectRest(loc, head, potentialComprehension);
    this.restore(s);
    if (!potentialComprehension) return this.parseSetOrObjectInfix(loc, s, false);
    const c = this.orInfixHeadComprehension(() => this.parseSetOrObjectInfix(loc, s, true), '}');
    return 'plain' in c ? c.plain : { type: 'setcomprehension', loc, term: c.head, body: c.body };
  }

  /** `{a + 1, …}`, `{a + 1: …}`: the first element or key has infix operators. */
  private parseSetOrObjectInfix(loc: Location, s: CursorState, potentialComprehension: boolean): Term {
    const head = this.parseTermInfix(false);
    if (this.at('}') || this.at(',')) return this.parseSetRest(loc, s, head, false);
    if (this.at(':')) return this.parseObjectRest(loc, head, potentialComprehension);
    return this.unexpected('non-terminated set');
  }

  private parseSetRest(loc: Location, s: CursorState, head: Term, potentialComprehension: boolean): Term {
    if (this.at('}')) {
      this.advance();
      return { type: 'set', loc, items: [head] };
    }
    if (this.at(',')) {
      this.advance();
      return this.finishSet(loc, [head]);
    }
    if (potentialComprehension) {
      this.advance();
      const r = this.attempt(() => this.parseBody('}'));
      if (r.ok) {
        this.advance();
        return { type: 'setcomprehension', loc, term: head, body: r.value };
      }
      if (this.tokens[r.error.tokenIndex]?.kind !== ',') throw r.error;
    }
    this.restore(s);
    return this.finishSet(loc, []);
  }

  private finishSet(loc: Location, items: Term[]): SetTerm {
    const all = this.parseTermList('}', items);
    this.advance();
    return { type: 'set', loc, items: all };
  }

  private parseObjectRest(loc: Location, key: Term, potentialComprehension: boolean): Term {
    this.advance();
    const s = this.save();
    const value = this.parseTerm();
    if (this.at('}') || this.at(',')) return this.finishObject(loc, key, value);
    if (this.at('|') && potentialComprehension) {
      this.advance();
      const r = this.attempt(() => this.parseBody('}'));
      if (r.ok) {
        this.advance();
        return { type: 'objectcomprehension', loc, key, value, body: r.value };
      }
      this.restore(s);
      const fallback = this.attempt(() => this.finishObjectInfix(loc, key));
      if (!fallback.ok) throw r.error;
      return fallback.value;
    }
    this.restore(s);
    if (!potentialComprehension) return this.finishObjectInfix(loc, key);
    const c = this.orInfixHeadComprehension(() => this.finishObjectInfix(loc, key), '}');
    return 'plain' in c ? c.plain : { type: 'objectcomprehension', loc, key, value: c.head, body: c.body };
  }

  private finishObjectInfix(loc: Location, key: Term): ObjectTerm {
    const value = this.parseTermInfix(false);
    if (!this.at('}') && !this.at(',')) this.unexpected('non-terminated object');
    return this.finishObject(loc, key, value);
  }

  private finishObject(loc: Location, key: Term, value: Term): ObjectTerm {
    if (this.at('}')) {
      this.advance();
      return { type: 'object', loc, items: [[key, value]] };
    }
    this.advance();
    const items = this.parsePairList([[key, value]]);
    this.advance();
    return { type: 'object', loc, items };
  }

  /** `$"a {x} b"`: literal parts and embedded expressions. */
  protected parseTemplate(): TemplateStringTerm {
    const first = this.tok;
    const parts: Array<StringTerm | Expr> = [];
    for (;;) {
      const t = this.advance();
      if (t.value.length > 0) parts.push({ type: 'string', loc: this.locOf(t), value: t.value });
      if (t.kind === 'template-end') break;
      if (t.kind === 'illegal') this.fail(t.value, t);
      const exprTok = this.tok;
      const expr = this.parseLiteral();
      this.checkTemplateExpr(expr, exprTok);
      parts.push(expr);
      if (!this.at('template-mid') && !this.at('template-end')) this.unexpected('expected } to end template string expression');
    }
    const term: TemplateStringTerm = { type: 'templatestring', loc: this.locOf(first), parts };
    if (first.raw) term.raw = true;
    return term;
  }

  private checkTemplateExpr(expr: Expr, at: Token): void {
    let what: string | undefined;
    if (expr.negated) what = "negation ('not')";
    else if (expr.type === 'call' && expr.infix === '=') what = "unification ('=')";
    else if (expr.type === 'call' && expr.infix === ':=') what = "assignment (':=')";
    else if (expr.type === 'every') what = "'every'";
    else if (expr.type === 'some' || expr.type === 'somein') what = "'some'";
    if (what !== undefined) this.fail(`unexpected ${what} in template-string expression`, at);
  }
}
