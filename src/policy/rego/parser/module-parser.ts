/**
 * Modules: the package, imports and rules of Rego v1. Rule bodies need `if`;
 * multi-value rules need `contains`; `import rego.v1` and
 * `import future.keywords…` are kept in the module and change nothing.
 */
import type { Body, Import, Location, Module, Package, RefTerm, Rule, RuleHead, Term } from '../ast.ts';
import { isGround } from '../ast.ts';
import { attachAnnotations } from './annotations.ts';
import { BodyParser } from './body-parser.ts';
import type { LexedComment } from './lexer.ts';
import { importProblem, importsFutureNot } from './import-checks.ts';
import { checkDefaultRule } from './rule-checks.ts';
import { cloneWithFreshWildcards } from './wildcards.ts';
import type { Token, TokenKind } from './tokens.ts';

const IMPORT_ROOTS = new Set(['data', 'input', 'future', 'rego']);
/** How a token changes the bracket depth. */
const NESTING: Partial<Record<TokenKind, number>> = { '{': 1, '[': 1, '(': 1, '}': -1, ']': -1, ')': -1 };
/** OPA's v1 message: `if` keyword is required before rule body / function body. */
const ifRequired = (head: RuleHead): string => `\`if\` keyword is required before ${head.args === undefined ? 'rule' : 'function'} body`;

/** A rule head, and whether `contains` or an explicit value followed it. */
interface ParsedHead {
  head: RuleHead;
  contains: boolean;
  explicitValue: boolean;
}

export class ModuleParser extends BodyParser {
  constructor(
    tokens: Token[],
    file: string,
    private readonly lexedComments: LexedComment[],
  ) {
    super(tokens, file);
  }

  parseModule(): Module {
    if (this.at('eof')) this.fail('empty module');
    if (!this.atKeyword('package')) this.fail('package expected');
    const pkg = this.parsePackage();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (!this.at('eof')) {
      this.clearTermCache();
      if (this.atKeyword('package')) this.fail('unexpected package');
      if (this.atKeyword('import')) imports.push(this.parseImport());
      else rules.push(this.parseRule());
    }
    const comments = this.lexedComments.map((c) => ({
      loc: { file: this.file, row: c.row, col: c.col, offset: c.offset },
      text: c.text,
    }));
    const module: Module = { file: this.file, package: pkg, imports, rules, comments };
    const annotations = attachAnnotations(module);
    if (annotations.length > 0) module.annotations = annotations;
    return module;
  }

  /** The top-level body of a query (`data.x.p = x; y`). */
  parseQueryBody(): Body {
    const body = this.parseBody('eof');
    if (!this.at('eof')) this.unexpected();
    return body;
  }

  /** A single term, for tests and tools. */
  parseSingleTerm(): Term {
    const term = this.parseTermInfix(true);
    if (!this.at('eof')) this.unexpected('expected eof');
    return term;
  }

  private parsePackage(): Package {
    const loc = this.locOf(this.advance());
    if (this.tok.kind !== 'ident') this.unexpected('expected ident');
    const term = this.parseTerm();
    const dataRoot = { type: 'var' as const, loc: term.loc, name: 'data' };
    if (term.type === 'var') {
      return { loc, path: { type: 'ref', loc: term.loc, head: dataRoot, path: [{ type: 'string', loc: term.loc, value: term.name }] } };
    }
    if (term.type !== 'ref' || term.head.type !== 'var') return this.fail('unexpected term: expected package path', this.tok);
    const first = term.head;
    const path: Term[] = [{ type: 'string', loc: first.loc, value: first.name }];
    for (const seg of term.path) {
      if (seg.type !== 'string') this.failAt(seg.loc, `unexpected ${seg.type} token: expecting string`);
      path.push(seg);
    }
    return { loc, path: { type: 'ref', loc: term.loc, head: dataRoot, path } };
  }

  private parseImport(): Import {
    const loc = this.locOf(this.advance());
    if (this.tok.kind !== 'ident') this.unexpected('expected ident');
    const path = this.importPath(this.parseTerm());
    const imp: Import = { loc, path };
    if (this.atKeyword('as')) {
      this.advance();
      if (!this.atPlainIdent()) this.unexpected('expected var');
      imp.alias = this.advance().text;
    }
    const problem = importProblem(imp);
    if (problem !== undefined) this.failAt(path.loc, problem);
    if (importsFutureNot(imp)) this.negationInside = true;
    return imp;
  }

  /** `data.a.b`, `input`, `future.keywords.in`: a var followed by names, from one of the import roots. */
  private importPath(term: Term): RefTerm {
    let path: RefTerm;
    if (term.type === 'var') path = { type: 'ref', loc: term.loc, head: term, path: [] };
    else if (term.type === 'ref' && term.head.type === 'var') path = term;
    else return this.fail('unexpected term: expected import path', this.tok);
    for (const seg of path.path) {
      if (seg.type !== 'string') this.failAt(seg.loc, `unexpected ${seg.type} token: expecting string`);
    }
    const root = (path.head as { name: string }).name;
    if (!IMPORT_ROOTS.has(root)) {
      this.failAt(path.loc, `unexpected import path, must begin with one of: {data, future, input, rego}, got: ${root}`);
    }
    return path;
  }

  private failAt(loc: Location, reason: string): never {
    const tok = this.tokens.find((t) => t.offset === loc.offset) ?? this.tok;
    return this.fail(reason, tok);
  }

  /** One rule with its `else` chain. */
  private parseRule(): Rule {
    const ruleTok = this.tok;
    const loc = this.locOf(ruleTok);
    const isDefault = this.atKeyword('default');
    if (isDefault) this.advance();
    const parsed = this.parseHead(isDefault);
    if (isDefault) {
      checkDefaultRule(parsed.head, parsed.explicitValue, (reason) => this.fail(reason, ruleTok));
      return this.makeRule(loc, parsed.head, this.trueBody(loc), true);
    }
    const body = this.atKeyword('if') ? this.parseRuleIfBody(parsed) : this.checkBodyless(parsed, ruleTok);
    const rule = this.makeRule(loc, parsed.head, body, false);
    this.parseElseChain(rule);
    return rule;
  }

  /** `if` and the body after it; a plain rule's value is then `true`. */
  private parseRuleIfBody({ head, contains }: ParsedHead): Body {
    this.advance();
    if (!contains && head.value === undefined) head.value = { type: 'boolean', loc: head.loc, value: true };
    return this.parseIfBody();
  }

  /** A rule without `if`: it needs a value or `contains`, and its body is `true`. */
  private checkBodyless({ head, contains, explicitValue }: ParsedHead, ruleTok: Token): Body {
    if (this.at('{')) this.fail(ifRequired(head));
    if (!explicitValue && !contains) {
      if (head.ref.path.length === 1 && head.args === undefined) this.fail('`contains` keyword is required for partial set rules', ruleTok);
      this.fail(`${head.args === undefined ? 'rule' : 'function'} must have value assignment and/or body declaration`, ruleTok);
    }
    // OPA reads a rule without a body as a single statement: no else can follow.
    if (this.atKeyword('else')) this.unexpected();
    return this.trueBody(this.locOf(ruleTok));
  }

  private makeRule(loc: Location, head: RuleHead, body: Body, isDefault: boolean): Rule {
    const kind = head.args !== undefined ? 'function' : head.key !== undefined ? 'multi' : 'single';
    return { loc, kind, default: isDefault, head, body };
  }

  private trueBody(loc: Location): Body {
    return [{ type: 'term', loc, negated: false, with: [], generated: true, term: { type: 'boolean', loc, value: true } }];
  }

  /**
   * After `if`: one expression, or `{ body }`. A `{…}` that reads as a set
   * literal is a body, since a set would always be true.
   */
  private parseIfBody(): Body {
    if (!this.at('{')) return [this.parseLiteral()];
    if (!this.mayBeLiteral()) return this.parseBraceBody();
    const s = this.save();
    const r = this.attempt(() => this.parseLiteral());
    if (r.ok && !(r.value.type === 'term' && r.value.term.type === 'set')) return [r.value];
    this.restore(s);
    return this.parseBraceBody();
  }

  /**
   * Whether the `{…}` after `if` could read as an expression other than a
   * set: an object or comprehension (a `:` or `|` at its top level), or a
   * term that goes on after the closing brace on the same line. Otherwise it
   * is a body and needs no trial parse.
   */
  private mayBeLiteral(): boolean {
    // `if {}` is the empty object, a true expression (OPA reads it so).
    if (this.peek().kind === '}') return true;
    let depth = 0;
    for (let i = this.index; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'eof') return false;
      const change = NESTING[t.kind] ?? 0;
      depth += change;
      if (change < 0 && depth === 0) return this.goesOnAfter(i);
      if (depth === 1 && (t.kind === ':' || t.kind === '|')) return true;
    }
    return false;
  }

  /** Whether the term closed by token `i` goes on: more follows on the same line, and it is not `else`. */
  private goesOnAfter(i: number): boolean {
    const next = this.tokens[i + 1]!;
    return !(next.kind === 'eof' || next.nlBefore || next.kind === ';' || (next.kind === 'ident' && next.text === 'else'));
  }

  private parseBraceBody(): Body {
    this.expect('{', 'expected {');
    const body = this.parseBody('}');
    this.advance();
    return body;
  }

  private parseElseChain(rule: Rule): void {
    if (this.at('{')) this.fail(ifRequired(rule.head));
    if (!this.atKeyword('else')) return;
    if (rule.kind === 'multi') this.fail('else keyword cannot be used on multi-value rules');
    if (rule.head.ref.path.some((t) => !isGround(t))) this.fail('else keyword cannot be used on rules with variables in head');
    let prev = rule;
    while (this.atKeyword('else')) {
      const next = this.parseElse(rule.head);
      prev.else = next;
      prev = next;
    }
    if (this.at('{')) this.fail('expected else keyword');
  }

  private parseElse(first: RuleHead): Rule {
    const loc = this.locOf(this.advance());
    const head: RuleHead = { loc, ref: first.ref, name: first.name, assign: false };
    if (first.args !== undefined) head.args = first.args.map((a) => cloneWithFreshWildcards(a, () => this.genWildcard()));
    this.parseElseValue(head, first);
    const body = this.parseElseBody(first, loc);
    return { loc, kind: first.args !== undefined ? 'function' : 'single', default: false, head, body };
  }

  /** `else := value`, `else = value`, or `else if` (the value is `true`). */
  private parseElseValue(head: RuleHead, first: RuleHead): void {
    if (this.at(':=') || this.at('=')) {
      head.assign = this.advance().kind === ':=';
      head.value = this.parseTermInfix(true);
      return;
    }
    if (this.atKeyword('if')) {
      head.value = { type: 'boolean', loc: head.loc, value: true };
      return;
    }
    if (this.at('{')) this.fail(ifRequired(first));
    this.unexpected('expected else value term or rule body');
  }

  private parseElseBody(first: RuleHead, loc: Location): Body {
    if (this.atKeyword('if')) {
      this.advance();
      if (this.at('eof')) this.unexpected('rule body expected');
      return this.at('{') ? this.parseBraceBody() : [this.parseLiteral()];
    }
    if (this.at('{')) return this.fail(ifRequired(first));
    return this.trueBody(loc);
  }

  /** `name`, `a.b[c].d`, `f(x, y)`, followed by `contains t`, `= t`, `:= t` or nothing. */
  private parseHead(isDefault: boolean): ParsedHead {
    const loc = this.loc();
    if (!this.atPlainIdent() && !(this.tok.kind === 'ident' && this.startsRef(1))) this.unexpected('expected rule head');
    const nameTok = this.advance();
    if (nameTok.text === '_') this.fail('unexpected wildcard: expected rule head name', nameTok);
    const { ref, args } = this.parseHeadRef(nameTok);
    const head: RuleHead = { loc, ref, name: nameTok.text, assign: false };
    if (args !== undefined) head.args = args;
    return this.parseHeadValue(head, isDefault);
  }

  /** What follows the head's ref: `contains t`, `= t`, `:= t` or nothing. */
  private parseHeadValue(head: RuleHead, isDefault: boolean): ParsedHead {
    if (this.atKeyword('contains')) {
      if (head.args !== undefined) this.unexpected('the contains keyword can only be used with multi-value rule definitions');
      this.advance();
      head.key = this.parseTermInfix(true);
      return { head, contains: true, explicitValue: false };
    }
    if (this.at('=') || this.at(':=')) {
      head.assign = this.advance().kind === ':=';
      if (this.at('eof')) this.unexpected(isDefault ? 'expected default rule value term' : 'expected rule value term');
      head.value = this.parseTermInfix(true);
      return { head, contains: false, explicitValue: true };
    }
    if (head.ref.path.length !== 1 || head.args !== undefined) head.value = { type: 'boolean', loc: head.loc, value: true };
    return { head, contains: false, explicitValue: false };
  }

  /** The rule's name and the ref steps or arguments that follow it. */
  private parseHeadRef(nameTok: Token): { ref: RefTerm; args?: Term[] } {
    const nameVar = { type: 'var' as const, loc: this.locOf(nameTok), name: nameTok.text };
    const t = this.tok;
    if (t.kind !== '.' && t.kind !== '[' && t.kind !== '(') return { ref: { type: 'ref', loc: nameVar.loc, head: nameVar, path: [] } };
    const parsed = this.parseRef(nameVar, true);
    if (parsed.type === 'ref') return { ref: parsed };
    if (parsed.type !== 'call') return this.fail('unexpected term: expected rule head', nameTok);
    if (parsed.operator.head.type !== 'var') this.fail(`rule head ref invalid`, nameTok);
    return { ref: parsed.operator, args: parsed.args };
  }
}
