/**
 * Tokenizer for Go's text/template: text, `{{ }}` actions with `{{-`/`-}}`
 * trim markers, `{{/* comments *\/}}`, and the tokens inside actions.
 * Lexing stops at the first malformed token, which becomes an `error` token
 * whose text is Go's message (`unclosed action`, `bad character U+0023 '#'`).
 */

/** Token kinds; keywords have their own kinds. */
export type TokenType =
  | "text"
  | "comment"
  | "leftDelim"
  | "rightDelim"
  | "space"
  | "identifier"
  | "field"
  | "variable"
  | "dot"
  | "bool"
  | "nil"
  | "number"
  | "charConstant"
  | "string"
  | "rawString"
  | "pipe"
  | "leftParen"
  | "rightParen"
  | "assign"
  | "declare"
  | "char"
  | "eof"
  | "error"
  | "block"
  | "break"
  | "continue"
  | "define"
  | "else"
  | "end"
  | "if"
  | "range"
  | "template"
  | "with";

/** One token: its kind, text, offset in the template text and 1-based line. */
export interface Token {
  type: TokenType;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS: Partial<Record<string, TokenType>> = {
  block: "block",
  break: "break",
  continue: "continue",
  define: "define",
  else: "else",
  end: "end",
  if: "if",
  range: "range",
  nil: "nil",
  template: "template",
  with: "with",
};

const KEYWORD_TYPES = new Set<TokenType>(["block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"]);

/** Reports whether a token kind is a keyword (printed as `<word>` in errors). */
export function isKeyword(t: TokenType): boolean {
  return KEYWORD_TYPES.has(t);
}

const LEFT = "{{";
const RIGHT = "}}";

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

const ALNUM = /^[\p{L}\p{Nd}_]$/u;

function isAlphaNumeric(c: string | undefined): boolean {
  return c !== undefined && ALNUM.test(c);
}

/** Go's `%#U` of a rune: `U+0023 '#'`. */
function runeDescription(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")} '${c}'`;
}

/**
 * Splits template text into tokens, ending with an `eof` or an `error` token.
 *
 * @example lex("a{{.b}}").map((t) => t.type) // ["text", "leftDelim", "field", "rightDelim", "eof"]
 */
export function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let parenDepth = 0;

  const lineAt = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) if (input.charCodeAt(i) === 10) n++;
    return n;
  };
  const emit = (type: TokenType, start: number, end: number, val = input.slice(start, end)) => {
    tokens.push({ type, val, pos: start, line });
    line += lineAt(start, end);
  };
  const fail = (msg: string, start: number) => {
    tokens.push({ type: "error", val: msg, pos: start, line });
  };
  const atRightDelim = (p: number): { delim: boolean; trim: boolean } => {
    if (isSpace(input[p]) && input[p + 1] === "-" && input.startsWith(RIGHT, p + 2)) return { delim: true, trim: true };
    return { delim: input.startsWith(RIGHT, p), trim: false };
  };
  const atTerminator = (p: number) => {
    const c = input[p];
    if (c === undefined || isSpace(c) || ".,|:()".includes(c)) return true;
    return input.startsWith(RIGHT, p);
  };
  const skipLeadingSpace = (p: number) => {
    while (isSpace(input[p])) p++;
    return p;
  };

  for (;;) {
    // Text up to the next action.
    const x = input.indexOf(LEFT, pos);
    if (x < 0) {
      if (pos < input.length) emit("text", pos, input.length);
      tokens.push({ type: "eof", val: "", pos: input.length, line });
      return tokens;
    }
    const trimLeft = input[x + 2] === "-" && isSpace(input[x + 3]);
    let textEnd = x;
    if (trimLeft) while (textEnd > pos && isSpace(input[textEnd - 1])) textEnd--;
    if (textEnd > pos) emit("text", pos, textEnd);
    line += lineAt(textEnd, x);
    pos = x + 2;
    const afterMarker = trimLeft ? pos + 2 : pos;
    if (input.startsWith("/*", afterMarker)) {
      const start = afterMarker;
      const close = input.indexOf("*/", start + 2);
      if (close < 0) {
        fail("unclosed comment", start);
        return tokens;
      }
      const end = close + 2;
      const rd = atRightDelim(end);
      if (!rd.delim) {
        fail("comment ends before closing delimiter", start);
        return tokens;
      }
      emit("comment", start, end);
      pos = end + (rd.trim ? 2 : 0) + 2;
      line += lineAt(end, pos);
      if (rd.trim) {
        const np = skipLeadingSpace(pos);
        line += lineAt(pos, np);
        pos = np;
      }
      continue;
    }
    emit("leftDelim", x, pos);
    pos = afterMarker;
    parenDepth = 0;
    // Inside the action.
    for (;;) {
      const rd = atRightDelim(pos);
      if (rd.delim) {
        if (parenDepth > 0) {
          fail("unclosed left paren", pos);
          return tokens;
        }
        const start = pos + (rd.trim ? 2 : 0);
        line += lineAt(pos, start);
        emit("rightDelim", start, start + 2);
        pos = start + 2;
        if (rd.trim) {
          const np = skipLeadingSpace(pos);
          line += lineAt(pos, np);
          pos = np;
        }
        break;
      }
      const start = pos;
      const c = input[pos];
      if (c === undefined) {
        fail("unclosed action", pos);
        return tokens;
      }
      if (isSpace(c)) {
        let p = pos;
        while (isSpace(input[p])) p++;
        // A space followed by "-}}" belongs to the closing delimiter.
        if (input[p] === "-" && input.startsWith(RIGHT, p + 1)) {
          p--;
          if (p === pos) continue;
        }
        emit("space", pos, p);
        pos = p;
        continue;
      }
      pos++;
      switch (c) {
        case "=":
          emit("assign", start, pos);
          continue;
        case ":":
          if (input[pos] !== "=") {
            fail("expected :=", start);
            return tokens;
          }
          pos++;
          emit("declare", start, pos);
          continue;
        case "|":
          emit("pipe", start, pos);
          continue;
        case "(":
          parenDepth++;
          emit("leftParen", start, pos);
          continue;
        case ")":
          parenDepth--;
          if (parenDepth < 0) {
            fail("unexpected right paren", start);
            return tokens;
          }
          emit("rightParen", start, pos);
          continue;
        case '"':
        case "'": {
          let p = pos;
          let ok = false;
          while (p < input.length) {
            const d = input[p++];
            if (d === "\\") {
              if (p < input.length && input[p] !== "\n") {
                p++;
                continue;
              }
              break;
            }
            if (d === "\n") break;
            if (d === c) {
              ok = true;
              break;
            }
          }
          if (!ok) {
            fail(c === '"' ? "unterminated quoted string" : "unterminated character constant", start);
            return tokens;
          }
          pos = p;
          emit(c === '"' ? "string" : "charConstant", start, pos);
          continue;
        }
        case "`": {
          const close = input.indexOf("`", pos);
          if (close < 0) {
            fail("unterminated raw quoted string", start);
            return tokens;
          }
          pos = close + 1;
          emit("rawString", start, pos);
          continue;
        }
        case "$":
        case ".": {
          if (c === "." && input[pos] !== undefined && input[pos]! >= "0" && input[pos]! <= "9") break; // a number like .5
          if (atTerminator(pos)) {
            emit(c === "$" ? "variable" : "dot", start, pos);
            continue;
          }
          while (isAlphaNumeric(input[pos])) pos++;
          if (!atTerminator(pos)) {
            fail(`bad character ${runeDescription(String.fromCodePoint(input.codePointAt(pos)!))}`, start);
            return tokens;
          }
          emit(c === "$" ? "variable" : "field", start, pos);
          continue;
        }
      }
      if (c === "+" || c === "-" || c === "." || (c >= "0" && c <= "9")) {
        pos = start;
        const end = scanNumber(input, pos);
        if (end < 0) {
          const bad = -end;
          fail(`bad number syntax: ${JSON.stringify(input.slice(start, bad))}`, start);
          return tokens;
        }
        pos = end;
        emit("number", start, pos);
        continue;
      }
      if (isAlphaNumeric(c)) {
        while (isAlphaNumeric(input[pos])) pos++;
        if (!atTerminator(pos)) {
          fail(`bad character ${runeDescription(String.fromCodePoint(input.codePointAt(pos)!))}`, start);
          return tokens;
        }
        const word = input.slice(start, pos);
        const kw = KEYWORDS[word];
        emit(kw ?? (word === "true" || word === "false" ? "bool" : "identifier"), start, pos);
        continue;
      }
      const cp = input.codePointAt(start)!;
      if (cp < 0x80 && cp >= 0x20 && cp !== 0x7f) {
        emit("char", start, pos);
        continue;
      }
      fail(`unrecognized character in action: ${runeDescription(String.fromCodePoint(cp))}`, start);
      return tokens;
    }
  }
}

/** Scans a Go number literal; returns its end, or minus the end of the bad text. */
function scanNumber(input: string, start: number): number {
  let p = start;
  const accept = (set: string) => {
    if (p < input.length && set.includes(input[p]!)) {
      p++;
      return true;
    }
    return false;
  };
  const acceptRun = (set: string) => {
    while (p < input.length && set.includes(input[p]!)) p++;
  };
  accept("+-");
  let digits = "0123456789_";
  if (accept("0")) {
    if (accept("xX")) digits = "0123456789abcdefABCDEF_";
    else if (accept("oO")) digits = "01234567_";
    else if (accept("bB")) digits = "01_";
  }
  acceptRun(digits);
  if (accept(".")) acceptRun(digits);
  if (digits.length === 11 && accept("eE")) {
    accept("+-");
    acceptRun("0123456789_");
  }
  if (digits.length === 23 && accept("pP")) {
    accept("+-");
    acceptRun("0123456789_");
  }
  accept("i");
  if (isAlphaNumeric(input[p])) return -(p + 1);
  return p;
}
