/**
 * The PromQL lexer: turns query text into tokens on demand, with the same
 * modes as Prometheus's lexer (statements, inside `{…}`, inside `[…]`), and
 * the `ParseError` type every PromQL syntax or type error is reported with.
 *
 * The lexer is lazy so that an error late in the text does not hide an
 * earlier syntax error, matching the order in which Prometheus reports them.
 * It scans with charCodeAt and never runs a regex per character.
 *
 * @example
 * const lx = new Lexer("rate(x[5m])");
 * lx.next(); // { kind: "ident", val: "rate", start: 0, end: 4 }
 */
import { decodeUTF8Escaping, goQuote } from "../base/index.ts";
import type { PosRange } from "./ast.ts";

export { decodeUTF8Escaping, goQuote };

/**
 * A PromQL parse or type error. `message` reads like Prometheus's
 * `ParseErr.Error()`: `1:8: parse error: unexpected …` (1-based line and
 * column, counted in characters from the start of the line).
 *
 * @example
 * try { parseExpr("sum(") } catch (e) { if (e instanceof ParseError) e.positionRange; }
 */
export class ParseError extends Error {
  /** Where in `query` the error is; `start` may equal `query.length` at end of input. */
  readonly positionRange: PosRange;
  /** The full query text the error refers to. */
  readonly query: string;
  /** Lines before `query` in a larger document (added to the reported line). */
  readonly lineOffset: number;
  /** The bare message without the position prefix, e.g. `unexpected end of input`. */
  readonly detail: string;

  constructor(detail: string, positionRange: PosRange, query: string, lineOffset = 0) {
    super(formatParseError(detail, positionRange, query, lineOffset));
    this.name = "ParseError";
    this.detail = detail;
    this.positionRange = positionRange;
    this.query = query;
    this.lineOffset = lineOffset;
  }
}

function formatParseError(detail: string, pos: PosRange, query: string, lineOffset: number): string {
  const at = pos.start;
  if (at < 0 || at > query.length) return `invalid position: parse error: ${detail}`;
  let line = lineOffset + 1;
  let lastLineBreak = -1;
  for (let i = 0; i < at; i++) {
    if (query.charCodeAt(i) === 10) {
      lastLineBreak = i;
      line++;
    }
  }
  return `${line}:${at - lastLineBreak}: parse error: ${detail}`;
}

/** Token categories; `val` holds the text (lowercased for keywords, operators and aggregators). */
export type TokenKind =
  | "eof"
  | "ident"
  | "metricIdent"
  | "number"
  | "duration"
  | "string"
  | "punct"
  | "op"
  | "aggr"
  | "keyword";

/** One token: its kind, value and the [start, end) character range it covers. */
export interface Token {
  kind: TokenKind;
  val: string;
  start: number;
  end: number;
}

/** Reserved words (matched case-insensitively) and the token kind each lexes as. */
const WORD_KINDS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  ...["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile",
    "limitk", "limit_ratio"].map((w): [string, TokenKind] => [w, "aggr"]),
  ...["and", "or", "unless", "atan2"].map((w): [string, TokenKind] => [w, "op"]),
  ...["offset", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "start", "end"].map(
    (w): [string, TokenKind] => [w, "keyword"],
  ),
  ["inf", "number"],
  ["nan", "number"],
]);

/** Length of the longest reserved word; longer words are always identifiers. */
const LONGEST_WORD = 12;

const CH_TAB = 9, CH_LF = 10, CH_CR = 13, CH_SPACE = 32;

function isSpaceCode(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR;
}

function isAlphaCode(c: number): boolean {
  return c === 95 /* _ */ || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexCode(c: number): boolean {
  return isDigitCode(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isAlphaNumericCode(c: number): boolean {
  return isAlphaCode(c) || isDigitCode(c);
}

/** Go's `%q` of a single character, e.g. `'$'` or `'\n'`. */
function quoteChar(ch: string): string {
  if (ch === "'") return "'\\''";
  const q = goQuote(ch);
  return `'${q.slice(1, -1).replace(/\\"/g, '"')}'`;
}

/** Go's `%#U` of a character: `U+0078 'x'`. */
function unicodeName(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, "0");
  return `U+${hex} '${ch}'`;
}

/**
 * Lexes PromQL text lazily. Each `next()` returns the following token or
 * throws `ParseError` for text that cannot be a token (bad characters,
 * unterminated strings, invalid escapes, unbalanced brackets).
 */
export class Lexer {
  readonly input: string;
  private pos = 0;
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private done = false;

  constructor(input: string) {
    this.input = input;
  }

  /** Returns the next token; after the end it keeps returning `eof`. */
  next(): Token {
    if (this.done) return { kind: "eof", val: "", start: this.input.length, end: this.input.length };
    this.skipSpaceAndComments();
    const input = this.input;
    const start = this.pos;
    if (start >= input.length) {
      if (this.braceOpen) this.fail("unexpected end of input inside braces", start);
      if (this.parenDepth > 0) this.fail("unclosed left parenthesis", start);
      if (this.bracketOpen) this.fail("unclosed left bracket", start);
      this.done = true;
      return { kind: "eof", val: "", start, end: start };
    }
    return this.braceOpen ? this.lexInsideBraces(start) : this.lexStatement(start);
  }

  private fail(msg: string, start: number, end = start): never {
    throw new ParseError(msg, { start, end }, this.input);
  }

  private token(kind: TokenKind, val: string, start: number, end: number): Token {
    this.pos = end;
    return { kind, val, start, end };
  }

  private charAt(pos: number): string {
    const cp = this.input.codePointAt(pos);
    return cp === undefined ? "" : String.fromCodePoint(cp);
  }

  private skipSpaceAndComments(): void {
    const input = this.input;
    let p = this.pos;
    for (;;) {
      const c = input.charCodeAt(p);
      if (isSpaceCode(c)) {
        p++;
      } else if (c === 35 /* # */) {
        while (p < input.length && input.charCodeAt(p) !== CH_LF) p++;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  private lexStatement(start: number): Token {
    const input = this.input;
    const c = input.charCodeAt(start);
    const c1 = input.charCodeAt(start + 1);
    switch (c) {
      case 44: return this.token("punct", ",", start, start + 1);
      case 42: return this.token("op", "*", start, start + 1);
      case 47: return this.token("op", "/", start, start + 1);
      case 37: return this.token("op", "%", start, start + 1);
      case 43: return this.token("op", "+", start, start + 1);
      case 45: return this.token("op", "-", start, start + 1);
      case 94: return this.token("op", "^", start, start + 1);
      case 64: return this.token("punct", "@", start, start + 1);
      case 61: // =
        if (c1 === 61) return this.token("op", "==", start, start + 2);
        if (c1 === 126) this.fail(`unexpected character after '=': ${quoteChar("~")}`, start + 1);
        return this.token("punct", "=", start, start + 1);
      case 33: // !
        if (c1 === 61) return this.token("op", "!=", start, start + 2);
        return this.fail(`unexpected character after '!': ${start + 1 < input.length ? quoteChar(this.charAt(start + 1)) : "end of input"}`, start + 1);
      case 60: // <
        return c1 === 61 ? this.token("op", "<=", start, start + 2) : this.token("op", "<", start, start + 1);
      case 62: // >
        return c1 === 61 ? this.token("op", ">=", start, start + 2) : this.token("op", ">", start, start + 1);
      case 34: // "
      case 39: // '
        return this.lexString(start, c);
      case 96: // `
        return this.lexRawString(start);
      case 40: // (
        this.parenDepth++;
        return this.token("punct", "(", start, start + 1);
      case 41: // )
        // Prometheus reports this after consuming the parenthesis.
        if (this.parenDepth === 0) this.fail("unexpected right parenthesis ')'", start + 1);
        this.parenDepth--;
        return this.token("punct", ")", start, start + 1);
      case 123: // {
        this.braceOpen = true;
        return this.token("punct", "{", start, start + 1);
      case 91: // [
        if (this.bracketOpen) this.fail("unexpected left bracket '['", start);
        this.bracketOpen = true;
        return this.token("punct", "[", start, start + 1);
      case 93: // ]
        if (!this.bracketOpen) this.fail("unexpected right bracket ']'", start);
        this.bracketOpen = false;
        return this.token("punct", "]", start, start + 1);
      case 58: // :
        if (this.bracketOpen) return this.token("punct", ":", start, start + 1);
        return this.lexKeywordOrIdentifier(start);
    }
    if (isDigitCode(c) || (c === 46 && isDigitCode(c1))) return this.lexNumberOrDuration(start);
    if (isAlphaCode(c)) return this.lexKeywordOrIdentifier(start);
    return this.fail(`unexpected character: ${quoteChar(this.charAt(start))}`, start);
  }

  private lexInsideBraces(start: number): Token {
    const input = this.input;
    const c = input.charCodeAt(start);
    if (isAlphaCode(c)) {
      let p = start + 1;
      while (isAlphaNumericCode(input.charCodeAt(p))) p++;
      return this.token("ident", input.slice(start, p), start, p);
    }
    switch (c) {
      case 44: return this.token("punct", ",", start, start + 1);
      case 34:
      case 39:
        return this.lexString(start, c);
      case 96:
        return this.lexRawString(start);
      case 61: // =
        if (input.charCodeAt(start + 1) === 126) return this.token("op", "=~", start, start + 2);
        return this.token("punct", "=", start, start + 1);
      case 33: { // !
        const c1 = input.charCodeAt(start + 1);
        if (c1 === 126) return this.token("op", "!~", start, start + 2);
        if (c1 === 61) return this.token("op", "!=", start, start + 2);
        const shown = start + 1 < input.length ? quoteChar(this.charAt(start + 1)) : "end of input";
        return this.fail(`unexpected character after '!' inside braces: ${shown}`, start + 1);
      }
      case 123:
        return this.fail("unexpected left brace '{'", start);
      case 125:
        this.braceOpen = false;
        return this.token("punct", "}", start, start + 1);
    }
    return this.fail(`unexpected character inside braces: ${quoteChar(this.charAt(start))}`, start);
  }

  private lexKeywordOrIdentifier(start: number): Token {
    const input = this.input;
    let p = start;
    let hasColon = false;
    let hasUpper = false;
    for (;;) {
      const c = input.charCodeAt(p);
      if (isAlphaNumericCode(c)) {
        if (c >= 65 && c <= 90) hasUpper = true;
        p++;
      } else if (c === 58) {
        hasColon = true;
        p++;
      } else break;
    }
    const word = input.slice(start, p);
    if (hasColon) return this.token("metricIdent", word, start, p);
    if (p - start <= LONGEST_WORD) {
      const lower = hasUpper ? word.toLowerCase() : word;
      const kind = WORD_KINDS.get(lower);
      if (kind !== undefined) return this.token(kind, kind === "number" ? word : lower, start, p);
    }
    return this.token("ident", word, start, p);
  }

  /**
   * Numbers: decimal with optional fraction and exponent, hex `0x…`, digit
   * separators `_` between digits. Durations: `<int><unit>` repeated, units
   * ms s m h d w y. Anything alphanumeric glued on is an error.
   */
  private lexNumberOrDuration(start: number): Token {
    const input = this.input;
    let p = start;
    const badSyntax = (): never => {
      let e = p;
      while (isAlphaNumericCode(input.charCodeAt(e)) || input.charCodeAt(e) === 46) e++;
      return this.fail(`bad number or duration syntax: ${goQuote(input.slice(start, e))}`, start, e);
    };
    const digits = (isDigit: (c: number) => boolean): number => {
      const from = p;
      while (isDigit(input.charCodeAt(p)) || (input.charCodeAt(p) === 95 && p > from && isDigit(input.charCodeAt(p + 1)))) p++;
      return p - from;
    };
    const c0 = input.charCodeAt(p);
    const c1 = input.charCodeAt(p + 1);
    if (c0 === 48 && (c1 === 120 || c1 === 88)) {
      p += 2;
      if (digits(isHexCode) === 0) badSyntax();
      if (isAlphaNumericCode(input.charCodeAt(p)) || input.charCodeAt(p) === 46) badSyntax();
      return this.token("number", input.slice(start, p), start, p);
    }
    const intDigits = digits(isDigitCode);
    let isPlainInt = true;
    if (input.charCodeAt(p) === 46) {
      isPlainInt = false;
      p++;
      digits(isDigitCode);
    }
    let c = input.charCodeAt(p);
    if (c === 101 || c === 69) {
      const save = p;
      p++;
      const sign = input.charCodeAt(p);
      if (sign === 43 || sign === 45) p++;
      if (digits(isDigitCode) > 0) {
        isPlainInt = false;
      } else {
        p = save;
      }
    }
    c = input.charCodeAt(p);
    if (isPlainInt && intDigits > 0 && isDurationUnitStart(c)) {
      p = start;
      for (;;) {
        if (digits(isDigitCode) === 0) break;
        const unitLen = durationUnitLength(input, p);
        if (unitLen === 0) badSyntax();
        p += unitLen;
      }
      if (isAlphaNumericCode(input.charCodeAt(p)) || input.charCodeAt(p) === 46) badSyntax();
      return this.token("duration", input.slice(start, p), start, p);
    }
    if (isAlphaNumericCode(c) || c === 46) badSyntax();
    return this.token("number", input.slice(start, p), start, p);
  }

  private lexString(start: number, quote: number): Token {
    const input = this.input;
    let p = start + 1;
    for (;;) {
      if (p >= input.length) this.fail("unterminated quoted string", start, p);
      const c = input.charCodeAt(p);
      if (c === quote) break;
      if (c === CH_LF) this.fail("unterminated quoted string", start, p);
      // Go's lexer sees utf8.RuneError for invalid bytes (which URL and body decoding turn into U+FFFD) and for U+FFFD itself.
      if (c === 0xfffd) this.fail("invalid UTF-8 rune", start, p);
      if (c === 92) {
        p = this.checkEscape(p + 1, quote);
        continue;
      }
      p++;
    }
    return this.token("string", input.slice(start, p + 1), start, p + 1);
  }

  /** Validates one escape sequence starting after the backslash at `p`; returns the position after it. */
  private checkEscape(p: number, quote: number): number {
    const input = this.input;
    if (p >= input.length) this.fail("escape sequence not terminated", p);
    const c = input.charCodeAt(p);
    let count: number;
    let base: number;
    let max: number;
    switch (c) {
      case 97: case 98: case 102: case 110: case 114: case 116: case 118: case 92:
        return p + 1;
      case 48: case 49: case 50: case 51: case 52: case 53: case 54: case 55:
        count = 3; base = 8; max = 255;
        break;
      case 120: // x
        p++; count = 2; base = 16; max = 255;
        break;
      case 117: // u
        p++; count = 4; base = 16; max = 0x10ffff;
        break;
      case 85: // U
        p++; count = 8; base = 16; max = 0x10ffff;
        break;
      default:
        if (c === quote) return p + 1;
        if (c === CH_LF) this.fail("escape sequence not terminated", p);
        return this.fail(`unknown escape sequence ${unicodeName(this.charAt(p))}`, p - 1, p + 1);
    }
    const escStart = p;
    let value = 0;
    for (let i = 0; i < count; i++, p++) {
      if (p >= input.length) this.fail("escape sequence not terminated", p);
      const d = input.charCodeAt(p);
      const digit = isDigitCode(d) ? d - 48 : d >= 97 && d <= 102 ? d - 87 : d >= 65 && d <= 70 ? d - 55 : 99;
      if (digit >= base) {
        if (d === quote || d === CH_LF) this.fail("escape sequence not terminated", p);
        this.fail(`illegal character ${unicodeName(this.charAt(p))} in escape sequence`, p);
      }
      value = value * base + digit;
    }
    if (value > max || (value >= 0xd800 && value < 0xe000 && max > 255)) {
      this.fail("escape sequence is an invalid Unicode code point", escStart, p);
    }
    return p;
  }

  private lexRawString(start: number): Token {
    const end = this.input.indexOf("`", start + 1);
    const bad = this.input.indexOf("\ufffd", start + 1);
    if (bad >= 0 && (end < 0 || bad < end)) this.fail("invalid UTF-8 rune", start, bad);
    if (end < 0) this.fail("unterminated raw string", start, this.input.length);
    return this.token("string", this.input.slice(start, end + 1), start, end + 1);
  }
}

function isDurationUnitStart(c: number): boolean {
  // m(s), s, h, d, w, y
  return c === 109 || c === 115 || c === 104 || c === 100 || c === 119 || c === 121;
}

function durationUnitLength(input: string, p: number): number {
  const c = input.charCodeAt(p);
  if (c === 109 && input.charCodeAt(p + 1) === 115) return 2;
  return isDurationUnitStart(c) ? 1 : 0;
}

/**
 * Resolves the escapes of a string token (with its quotes) to its value, as
 * Go's strconv.Unquote does: `\xNN` and octal escapes are bytes, so byte
 * sequences that form UTF-8 become the characters they encode; other bytes
 * become lone surrogates U+DC80–U+DCFF (see `StringLiteral`).
 *
 * @example
 * unquoteString('"a\\x41\\u00e9"'); // "aAé"
 */
export function unquoteString(token: string): string {
  const quote = token.charCodeAt(0);
  const body = token.slice(1, -1);
  if (quote === 96 || body.indexOf("\\") < 0) return body;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  let plainFrom = 0;
  const flushPlain = (to: number): void => {
    if (to > plainFrom) for (const b of encoder.encode(body.slice(plainFrom, to))) bytes.push(b);
  };
  const pushCodePoint = (cp: number): void => {
    for (const b of encoder.encode(String.fromCodePoint(cp))) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) !== 92) continue;
    flushPlain(i);
    const e = body[i + 1];
    let next = i + 2;
    switch (e) {
      case "a": bytes.push(7); break;
      case "b": bytes.push(8); break;
      case "f": bytes.push(12); break;
      case "n": bytes.push(10); break;
      case "r": bytes.push(13); break;
      case "t": bytes.push(9); break;
      case "v": bytes.push(11); break;
      case "x":
        bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
        next = i + 4;
        break;
      case "u":
        pushCodePoint(parseInt(body.slice(i + 2, i + 6), 16));
        next = i + 6;
        break;
      case "U":
        pushCodePoint(parseInt(body.slice(i + 2, i + 10), 16));
        next = i + 10;
        break;
      default:
        if (e >= "0" && e <= "7") {
          bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
          next = i + 4;
        } else {
          pushCodePoint(e.codePointAt(0) ?? 0);
        }
    }
    i = next - 1;
    plainFrom = next;
  }
  flushPlain(body.length);
  return decodeUTF8Escaping(bytes);
}

