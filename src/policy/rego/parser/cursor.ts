/**
 * The parser's position in the token array, and the helpers every parsing
 * layer shares: looking at tokens, saving and restoring the position for
 * the few places where Rego is ambiguous, and raising errors worded as OPA
 * words them.
 */
import type { Location } from '../ast.ts';
import { RegoSyntaxError } from './errors.ts';
import { describeToken, KEYWORDS, type Token, type TokenKind } from './tokens.ts';

/** Everything a failed attempt must undo. */
export interface CursorState {
  index: number;
  wildcards: number;
}

export class TokenCursor {
  protected index = 0;
  /** Counter of generated wildcard names `$0`, `$1`, …; part of the state, as OPA's is. */
  protected wildcards = 0;

  constructor(
    protected readonly tokens: Token[],
    protected readonly file: string,
  ) {}

  protected get tok(): Token {
    return this.tokens[this.index]!;
  }

  protected peek(n = 1): Token {
    return this.tokens[Math.min(this.index + n, this.tokens.length - 1)]!;
  }

  /** Consumes the current token and returns it. */
  protected advance(): Token {
    const t = this.tokens[this.index]!;
    if (this.index < this.tokens.length - 1) this.index++;
    return t;
  }

  protected at(kind: TokenKind): boolean {
    return this.tokens[this.index]!.kind === kind;
  }

  /** The current token is the identifier or keyword `word`. */
  protected atWord(word: string): boolean {
    const t = this.tokens[this.index]!;
    return t.kind === 'ident' && t.text === word;
  }

  /** The current token is keyword `word` used as a keyword, not as the head of a ref (`else.x`). */
  protected atKeyword(word: string): boolean {
    return this.atWord(word) && !this.startsRef(1);
  }

  /** The token `n` ahead opens a ref step (`.`, `[`) with no space before it. */
  protected startsRef(n: number): boolean {
    const next = this.peek(n);
    return !next.spaceBefore && (next.kind === '.' || next.kind === '[');
  }

  protected atPlainIdent(): boolean {
    const t = this.tok;
    return t.kind === 'ident' && !KEYWORDS.has(t.text);
  }

  protected save(): CursorState {
    return { index: this.index, wildcards: this.wildcards };
  }

  protected restore(s: CursorState): void {
    this.index = s.index;
    this.wildcards = s.wildcards;
  }

  /** Runs `fn`; on a syntax error, puts the position back and returns the error instead. */
  protected attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: RegoSyntaxError } {
    const s = this.save();
    try {
      return { ok: true, value: fn() };
    } catch (e) {
      if (!(e instanceof RegoSyntaxError)) throw e;
      this.restore(s);
      return { ok: false, error: e };
    }
  }

  protected locOf(t: Token): Location {
    return { file: this.file, row: t.row, col: t.col, offset: t.offset };
  }

  protected loc(): Location {
    return this.locOf(this.tok);
  }

  protected fail(reason: string, t: Token = this.tok): never {
    const index = t === this.tokens[this.index] ? this.index : this.tokens.indexOf(t);
    throw new RegoSyntaxError(reason, this.locOf(t), index);
  }

  /** `unexpected X token[: note]`, or the lexer's message for an illegal token. */
  protected unexpected(note?: string): never {
    const t = this.tok;
    if (t.kind === 'illegal') this.fail(t.value);
    this.fail(note === undefined ? `unexpected ${describeToken(t)}` : `unexpected ${describeToken(t)}: ${note}`);
  }

  protected expect(kind: TokenKind, note: string = `expected ${kind}`): Token {
    if (this.tok.kind !== kind) this.unexpected(note);
    return this.advance();
  }

  protected genWildcard(): string {
    return `$${this.wildcards++}`;
  }
}
