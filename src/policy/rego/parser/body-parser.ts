/**
 * Expressions and bodies: `not`, `some`, `every`, `with`, `:=` and `=`, and
 * the separators between expressions (`;` or a line break).
 */
import type { Body, Expr, Location, RefTerm, Term, VarTerm, WithModifier } from '../ast.ts';
import { MemberOperator, MemberWithKeyOperator, operatorName } from '../ast.ts';
import { CompositeParser } from './composite-parser.ts';
import type { Token, TokenKind } from './tokens.ts';

export abstract class BodyParser extends CompositeParser {
  /** Set once the module imports `future.keywords.not` (or `future.keywords`): `not { … }` and whole-expression negation. */
  protected negationInside = false;

  protected parseBody(end: TokenKind): Body {
    if (this.at(end)) this.fail('found empty body');
    const body: Body = [];
    for (;;) {
      body.push(this.parseLiteral());
      if (this.at(';')) {
        this.advance();
        continue;
      }
      if (this.at(end)) return body;
      if (!this.tok.nlBefore) this.unexpected(`expected \\n or ; or ${end === 'eof' ? 'eof' : end}`);
    }
  }

  protected parseLiteral(): Expr {
    const start = this.tok;
    const loc = this.locOf(start);
    let negated = false;
    if (this.atKeyword('not')) {
      this.advance();
      negated = true;
    }
    const quantified = this.parseQuantifier(negated);
    if (quantified !== undefined) return quantified;
    const negatedBody = negated && this.negationInside;
    const expr = negatedBody && this.at('{') ? this.parseNegatedBody() : this.parseExpr();
    expr.loc = loc;
    expr.negated = negated;
    if (negatedBody) expr.negationInside = true;
    if (this.atKeyword('with')) expr.with = this.parseWith();
    return expr;
  }

  /** `some …` or `every …`, which cannot be negated; undefined for other expressions. */
  private parseQuantifier(negated: boolean): Expr | undefined {
    const word = this.atKeyword('some') ? 'some' : this.atKeyword('every') ? 'every' : undefined;
    if (word === undefined) return undefined;
    if (negated) this.unexpected(`illegal negation of '${word}'`);
    return word === 'some' ? this.parseSome() : this.parseEvery();
  }

  /**
   * The body of `not { … }`: true when the body has no solution. Planned as
   * `{true | body} != set()` under the negation, so the body's variables are
   * its own and the outer ones it reads must be bound, as OPA has it.
   */
  private parseNegatedBody(): Expr {
    const loc = this.loc();
    this.advance();
    const body = this.parseBody('}');
    this.advance();
    const solutions: Term = { type: 'setcomprehension', loc, term: { type: 'boolean', loc, value: true }, body };
    const none: Term = { type: 'set', loc, items: [] };
    return { type: 'call', loc, negated: false, with: [], operator: this.nameRef('neq', loc), args: [solutions, none], generated: true };
  }

  /** `a := b`, `a = b`, a call, or a single term. */
  private parseExpr(): Expr {
    const loc = this.loc();
    const lhs = this.parseTermInfix(true);
    if (this.at(':=') || this.at('=')) {
      const op = this.advance();
      const rhs = this.parseTermInfix(true);
      const name = op.kind === ':=' ? 'assign' : 'eq';
      return { type: 'call', loc, negated: false, with: [], operator: this.nameRef(name, this.locOf(op)), args: [lhs, rhs], infix: op.kind };
    }
    if (lhs.type === 'call') {
      const expr: Expr = { type: 'call', loc, negated: false, with: [], operator: lhs.operator, args: lhs.args };
      if (lhs.infix !== undefined) expr.infix = lhs.infix;
      return expr;
    }
    return { type: 'term', loc, negated: false, with: [], term: lhs };
  }

  private parseWith(): WithModifier[] {
    const mods: WithModifier[] = [];
    while (this.atKeyword('with')) {
      const loc = this.locOf(this.advance());
      if (!this.atPlainIdent()) this.unexpected('expected ident');
      const target = this.parseTerm();
      let ref: RefTerm;
      if (target.type === 'ref') ref = target;
      else if (target.type === 'var') ref = { type: 'ref', loc: target.loc, head: target, path: [] };
      else return this.fail('unexpected term: expected with target path');
      if (!this.atKeyword('as')) this.unexpected('expected as keyword');
      this.advance();
      mods.push({ loc, target: ref, value: this.parseTermInfix(true) });
    }
    return mods;
  }

  /** `some x, y` or `some [k,] v in xs`. */
  private parseSome(): Expr {
    const loc = this.locOf(this.advance());
    const s = this.save();
    const r = this.attempt(() => this.parseTermInfix(true));
    if (r.ok && r.value.type === 'call') {
      const call = r.value;
      const name = operatorName(call.operator);
      let expr: Expr;
      if (name === MemberOperator) {
        expr = { type: 'somein', loc, negated: false, with: [], key: undefined, value: call.args[0]!, collection: call.args[1]! };
      } else if (name === MemberWithKeyOperator) {
        expr = { type: 'somein', loc, negated: false, with: [], key: call.args[0]!, value: call.args[1]!, collection: call.args[2]! };
      } else {
        return this.unexpected('expected `x in xs` or `x, y in xs` expression');
      }
      if (this.atKeyword('with')) expr.with = this.parseWith();
      return expr;
    }
    this.restore(s);
    return this.parseSomeVars(loc);
  }

  private parseSomeVars(loc: Location): Expr {
    const vars: VarTerm[] = [];
    for (;;) {
      if (!this.atPlainIdent()) this.unexpected('expected var');
      const t = this.advance();
      const v: VarTerm = t.text === '_'
        ? { type: 'var', loc: this.locOf(t), name: this.genWildcard(), wildcard: true }
        : { type: 'var', loc: this.locOf(t), name: t.text };
      vars.push(v);
      if (!this.at(',')) break;
      this.advance();
    }
    return { type: 'some', loc, negated: false, with: [], vars };
  }

  /** `[k,] v in xs` after `every`: the key and value must be variables. */
  private parseEveryDomain(): { key: VarTerm | undefined; value: VarTerm; domain: Term } {
    const domainTok = this.tok;
    const term = this.parseTermInfix(true);
    const name = term.type === 'call' ? operatorName(term.operator) : undefined;
    if (term.type !== 'call' || (name !== MemberOperator && name !== MemberWithKeyOperator)) {
      return this.fail('unexpected term: expected `x[, y] in xs { ... }` expression', domainTok);
    }
    const withKey = name === MemberWithKeyOperator;
    const [first, second, third] = term.args;
    const key = withKey ? this.everyVar(first!, 'key', domainTok) : undefined;
    const value = this.everyVar((withKey ? second : first)!, 'value', domainTok);
    return { key, value, domain: (withKey ? third : second)! };
  }

  private everyVar(term: Term, role: 'key' | 'value', domainTok: Token): VarTerm {
    if (term.type !== 'var') return this.fail(`unexpected term: expected ${role} to be a variable`, domainTok);
    return term;
  }

  /** `every [k,] v in xs { body }`. */
  private parseEvery(): Expr {
    const loc = this.locOf(this.advance());
    const { key, value, domain } = this.parseEveryDomain();
    if (!this.at('{')) this.unexpected('missing body');
    this.advance();
    const body = this.parseBody('}');
    this.advance();
    const expr: Expr = { type: 'every', loc, negated: false, with: [], key, value, domain, body };
    if (this.atKeyword('with')) expr.with = this.parseWith();
    return expr;
  }
}
