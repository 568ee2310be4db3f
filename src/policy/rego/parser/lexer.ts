/**
 * The Rego lexer: source text in, the whole token array and the comments out.
 * Tokenising up front lets the parser save and restore its position with one
 * integer, which the few places where Rego needs to look ahead rely on.
 * Lexical errors become `illegal` tokens so that the parser reports them at
 * the point where it meets them, with the usual location.
 */
import type { Token, TokenKind } from './tokens.ts';

export interface LexedComment {
  text: string;
  offset: number;
  row: number;
  col: number;
}

export interface LexResult {
  tokens: Token[];
  comments: LexedComment[];
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

const PUNCT1 = new Set([
  '.', ',', ';', '(', ')', '[', ']', '+', '-', '*', '/', '%', '&', '|', ':', '=', '<', '>', '{', '}',
]);

const TWO_CHAR_OPERATORS = new Set([':=', '==', '!=', '<=', '>=']);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentChar(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function illegalCharacter(ch: string): string {
  if (ch === '!' || ch === '$') return `illegal ${ch} character`;
  return ch === '\0' ? 'illegal null character' : 'illegal token';
}

function skipDigits(src: string, from: number): { end: number } {
  let end = from;
  while (isDigit(src.charCodeAt(end))) end++;
  return { end };
}

/**
 * The fraction (`marker` '.') or exponent (`marker` 'e', either case, with an
 * optional sign) of a number starting at `at`, if there is one; `error` when
 * its digits are missing.
 */
function scanNumberPart(src: string, at: number, marker: '.' | 'e', error: string): { end: number; error?: string } {
  if (src[at]?.toLowerCase() !== marker) return { end: at };
  let from = at + 1;
  if (marker === 'e' && (src[from] === '+' || src[from] === '-')) from++;
  const digits = skipDigits(src, from);
  return digits.end === from ? { end: digits.end, error } : digits;
}

/** An open template string: how deep in braces its current embedded expression is. */
interface TemplateFrame {
  raw: boolean;
  depth: number;
}

export function lex(src: string): LexResult {
  return new Lexer(src).run();
}

class Lexer {
  private readonly tokens: Token[] = [];
  private readonly comments: LexedComment[] = [];
  private readonly templates: TemplateFrame[] = [];
  private pos = 0;
  private row = 1;
  private lineStart = 0;
  /** Whether the current line has a character outside the BMP before `pos` (columns count code points). */
  private lineHasAstral = false;
  private spaceBefore = false;
  private nlBefore = false;

  constructor(private readonly src: string) {}

  run(): LexResult {
    const src = this.src;
    // A byte-order mark some editors write is not part of the policy.
    if (src.charCodeAt(0) === 0xfeff) {
      this.pos = 1;
      this.lineStart = 1;
    }
    while (true) {
      this.skipTrivia();
      if (this.pos >= src.length) {
        this.push('eof', this.pos, this.pos, '');
        return { tokens: this.tokens, comments: this.comments };
      }
      this.scanToken();
    }
  }

  private skipTrivia(): void {
    const src = this.src;
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.row++;
        this.lineStart = this.pos;
        this.lineHasAstral = false;
        this.spaceBefore = true;
        this.nlBefore = true;
      } else if (c === 32 || c === 9 || c === 13) {
        this.pos++;
        this.spaceBefore = true;
      } else if (c === 35) {
        const start = this.pos;
        let end = src.indexOf('\n', start);
        if (end < 0) end = src.length;
        let text = src.slice(start + 1, end);
        if (text.endsWith('\r')) text = text.slice(0, -1);
        this.comments.push({ text, offset: start, row: this.row, col: this.colAt(start) });
        if (HIGH_SURROGATE.test(text)) this.lineHasAstral = true;
        this.pos = end;
        this.spaceBefore = true;
      } else {
        return;
      }
    }
  }

  private push(kind: TokenKind, start: number, end: number, value: string): Token {
    const tok: Token = {
      kind,
      text: this.src.slice(start, end),
      value,
      raw: false,
      offset: start,
      end,
      row: this.row,
      col: this.colAt(start),
      spaceBefore: this.spaceBefore,
      nlBefore: this.nlBefore,
    };
    this.tokens.push(tok);
    if (HIGH_SURROGATE.test(tok.text)) this.lineHasAstral = true;
    this.pos = end;
    this.spaceBefore = false;
    this.nlBefore = false;
    return tok;
  }

  /**
   * A backtick string or raw template text: marked raw, and since it may span
   * lines, the row and line start move past it.
   */
  private pushRaw(kind: TokenKind, start: number, end: number, value: string): void {
    const tok = this.push(kind, start, end, value);
    tok.raw = true;
    this.advanceLines(tok.offset, tok.end);
  }

  private scanToken(): void {
    const start = this.pos;
    const c = this.src.charCodeAt(start);
    if (isIdentStart(c)) return this.scanIdent(start);
    if (isDigit(c)) return this.scanNumber(start);
    if (c === 34) return this.scanString(start);
    if (c === 96) return this.scanRawString(start);
    if (this.scanTemplateStart(start)) return;
    if (this.scanTemplateBrace(start)) return;
    this.scanPunctuation(start);
  }

  private scanIdent(start: number): void {
    const src = this.src;
    let end = start + 1;
    while (end < src.length && isIdentChar(src.charCodeAt(end))) end++;
    this.push('ident', start, end, '');
  }

  /** `$"` or `` $` ``: the start of a template string. */
  private scanTemplateStart(start: number): boolean {
    const next = this.src[start + 1];
    if (this.src[start] !== '$' || (next !== '"' && next !== '`')) return false;
    this.scanTemplateText(start, start + 2, next === '`', 'template-part');
    return true;
  }

  /**
   * Inside an embedded expression of a template string, braces nest; the
   * brace that closes the expression resumes the template's literal text.
   */
  private scanTemplateBrace(start: number): boolean {
    const ch = this.src[start];
    const frame = this.templates[this.templates.length - 1];
    if (frame === undefined || (ch !== '{' && ch !== '}')) return false;
    if (ch === '{') {
      frame.depth++;
      return false;
    }
    if (frame.depth > 0) {
      frame.depth--;
      return false;
    }
    this.templates.pop();
    this.scanTemplateText(start, start + 1, frame.raw, 'template-mid');
    return true;
  }

  private scanPunctuation(start: number): void {
    const src = this.src;
    const two = src.slice(start, start + 2);
    if (TWO_CHAR_OPERATORS.has(two)) {
      this.push(two as TokenKind, start, start + 2, '');
      return;
    }
    const ch = src[start]!;
    if (PUNCT1.has(ch)) {
      this.push(ch as TokenKind, start, start + 1, '');
      return;
    }
    this.push('illegal', start, start + 1, illegalCharacter(ch));
  }

  /**
   * digits [. digits] [e [+-] digits], JSON-style, as OPA scans them: a dot
   * without a fraction, an exponent without digits, or letters right after
   * the number make it illegal. Leading zeros are the parser's concern.
   */
  private scanNumber(start: number): void {
    const src = this.src;
    const integer = skipDigits(src, start);
    const fraction = scanNumberPart(src, integer.end, '.', 'expected fraction');
    const exponent = scanNumberPart(src, fraction.end, 'e', 'expected exponent');
    let end = exponent.end;
    let error = fraction.error ?? exponent.error;
    if (isIdentStart(src.charCodeAt(end))) {
      error ??= 'illegal number format';
      while (isIdentChar(src.charCodeAt(end))) end++;
    }
    this.push(error === undefined ? 'number' : 'illegal', start, end, error ?? '');
  }

  private scanString(start: number): void {
    const src = this.src;
    let end = start + 1;
    let escaped = false;
    while (true) {
      const c = src.charCodeAt(end);
      if (end >= src.length || c === 10) {
        this.push('illegal', start, end, 'non-terminated string');
        return;
      }
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        end++;
      }
      end++;
    }
    end++;
    const text = src.slice(start, end);
    if (!escaped) {
      this.push('string', start, end, text.slice(1, -1));
      return;
    }
    const value = decodeJsonString(text);
    if (value === undefined) this.push('illegal', start, end, `illegal string literal: ${text}`);
    else this.push('string', start, end, value);
  }

  private scanRawString(start: number): void {
    const src = this.src;
    const close = src.indexOf('`', start + 1);
    if (close < 0) {
      this.push('illegal', start, src.length, 'non-terminated raw string');
      return;
    }
    this.pushRaw('string', start, close + 1, src.slice(start + 1, close));
  }

  /**
   * Literal text of a template string, from `textStart` up to an unescaped
   * `{` (an embedded expression follows) or the closing quote.
   */
  private scanTemplateText(start: number, textStart: number, raw: boolean, open: 'template-part' | 'template-mid'): void {
    const src = this.src;
    const quote = raw ? '`' : '"';
    let end = textStart;
    let value = '';
    while (src[end] !== quote && src[end] !== '{') {
      const piece = templateChar(src, end, raw);
      if ('error' in piece) {
        this.push('illegal', start, piece.end, piece.error);
        return;
      }
      value += piece.text;
      end = piece.end;
    }
    const kind: TokenKind = src[end] === quote ? 'template-end' : open;
    if (kind !== 'template-end') this.templates.push({ raw, depth: 0 });
    if (raw) this.pushRaw(kind, start, end + 1, value);
    else this.push(kind, start, end + 1, value);
  }

  /** Keeps row and line start right after a token that spans lines. */
  private advanceLines(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (this.src.charCodeAt(i) === 10) {
        this.row++;
        this.lineStart = i + 1;
        this.lineHasAstral = HIGH_SURROGATE.test(this.src.slice(i + 1, to));
      }
    }
  }

  /** 1-based column of `offset`, counted in code points as OPA counts them. */
  private colAt(offset: number): number {
    const units = offset - this.lineStart + 1;
    if (!this.lineHasAstral) return units;
    const pairs = this.src.slice(this.lineStart, offset).match(/[\uD800-\uDBFF]/g);
    return units - (pairs?.length ?? 0);
  }
}

/** Decodes a double-quoted string with JSON's escape rules; undefined if invalid. */
function decodeJsonString(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '{': '{',
};

function decodeTemplateEscape(src: string, at: number): { text: string; end: number } | undefined {
  const e = src[at + 1];
  if (e === undefined) return undefined;
  const simple = SIMPLE_ESCAPES[e];
  if (simple !== undefined) return { text: simple, end: at + 2 };
  if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(at + 2, at + 6))) {
    return { text: String.fromCharCode(parseInt(src.slice(at + 2, at + 6), 16)), end: at + 6 };
  }
  return undefined;
}

/**
 * One character (or escape) of a template string's literal text at `at`:
 * its decoded text and where the next one starts, or why the text is illegal.
 */
function templateChar(src: string, at: number, raw: boolean): { text: string; end: number } | { error: string; end: number } {
  const ch = src[at];
  if (ch === undefined || (!raw && ch === '\n')) return { error: 'non-terminated template string', end: at };
  if (ch !== '\\') return { text: ch, end: at + 1 };
  // The one escape of raw template strings is a literal brace.
  if (raw) return src[at + 1] === '{' ? { text: '{', end: at + 2 } : { text: ch, end: at + 1 };
  return decodeTemplateEscape(src, at) ?? { error: `illegal template-string escape: ${src.slice(at, at + 2)}`, end: at + 2 };
}
