/**
 * What Go's encoding/json and time packages say about bad input, for the
 * API's error answers to read like Alertmanager's:
 *
 * - {@link firstJSONValue} finds the first JSON value of a body the way a
 *   `json.Decoder` does (text after it is ignored) and reports syntax errors
 *   with the scanner's wording (`unexpected EOF`, `invalid character 'x'
 *   looking for beginning of value`, …);
 * - {@link goTimeParseError} words the error `time.Parse` gives for the
 *   layout `2006-01-02 15:04:05`, the last one go-openapi's `strfmt.DateTime`
 *   tries, so the one Alertmanager reports for a date-time it cannot read.
 *
 * @example
 * firstJSONValue('[1] trailing')  // { text: "[1]" }
 * firstJSONValue("{")             // { error: "unexpected EOF" }
 * goTimeParseError("yesterday")   // 'parsing time "yesterday" as "2006-01-02 15:04:05": cannot parse "yesterday" as "2006"'
 */

/** Go's quoteChar: the offending character as the scanner names it. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const quoted = JSON.stringify(c);
  return `'${quoted.slice(1, -1)}'`;
}

class SyntaxProblem extends Error {}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Go's encoding/json maxNestingDepth: one more open `[` or `{` is "exceeded max depth". */
export const MAX_JSON_DEPTH = 10_000;

/** A recursive-descent twin of Go's JSON scanner, tracking only where the first value ends. */
class Scanner {
  i = 0;
  private depth = 0;
  constructor(private readonly text: string) {}

  private peek(): string | undefined {
    return this.text[this.i];
  }

  private fail(context: string): never {
    const c = this.peek();
    if (c === undefined) throw new SyntaxProblem("unexpected EOF");
    throw new SyntaxProblem(`invalid character ${quoteChar(c)} ${context}`);
  }

  private skipSpace(): void {
    while (isSpace(this.peek())) this.i++;
  }

  value(): void {
    this.skipSpace();
    const c = this.peek();
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || isDigit(c)) return this.number();
    for (const literal of ["true", "false", "null"]) {
      if (c === literal[0]) return this.literal(literal);
    }
    this.fail("looking for beginning of value");
  }

  private literal(word: string): void {
    this.i++;
    for (const expected of word.slice(1)) {
      if (this.peek() !== expected) this.fail(`in literal ${word} (expecting '${expected}')`);
      this.i++;
    }
  }

  private number(): void {
    if (this.peek() === "-") {
      this.i++;
      if (!isDigit(this.peek())) this.fail("in numeric literal");
    }
    if (this.peek() === "0") this.i++;
    else while (isDigit(this.peek())) this.i++;
    if (this.peek() === ".") {
      this.i++;
      if (!isDigit(this.peek())) this.fail("after decimal point in numeric literal");
      while (isDigit(this.peek())) this.i++;
    }
    if (this.peek() === "e" || this.peek() === "E") {
      this.i++;
      if (this.peek() === "+" || this.peek() === "-") this.i++;
      if (!isDigit(this.peek())) this.fail("in exponent of numeric literal");
      while (isDigit(this.peek())) this.i++;
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("");
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < " ") this.fail("in string literal");
      this.i++;
      if (c !== "\\") continue;
      const e = this.peek();
      if (e === "u") {
        this.i++;
        for (let k = 0; k < 4; k++) {
          if (!isHex(this.peek())) this.fail("in \\u hexadecimal character escape");
          this.i++;
        }
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
        this.i++;
      } else {
        this.fail("in string escape code");
      }
    }
  }

  /** Enters an array or object, refusing nesting deeper than Go's scanner allows (and the JS stack could take). */
  private enter(): void {
    if (++this.depth > MAX_JSON_DEPTH) this.fail("exceeded max depth");
  }

  private object(): void {
    this.enter();
    this.i++;
    this.skipSpace();
    if (this.peek() === "}") {
      this.i++;
      this.depth--;
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() !== '"') this.fail("looking for beginning of object key string");
      this.string();
      this.skipSpace();
      if (this.peek() !== ":") this.fail("after object key");
      this.i++;
      this.value();
      this.skipSpace();
      if (this.peek() === "}") {
        this.i++;
        this.depth--;
        return;
      }
      if (this.peek() !== ",") this.fail("after object key:value pair");
      this.i++;
    }
  }

  *arrayElements(): Generator<void, { elements: [number, number][] } | undefined, undefined> {
    this.skipSpace();
    if (this.peek() !== "[") return undefined;
    this.enter();
    this.i++;
    this.skipSpace();
    const elements: [number, number][] = [];
    if (this.peek() === "]") return { elements };
    for (;;) {
      this.skipSpace();
      const start = this.i;
      this.value();
      elements.push([start, this.i]);
      if ((elements.length & 255) === 0) yield;
      this.skipSpace();
      if (this.peek() === "]") return { elements };
      if (this.peek() !== ",") this.fail("after array element");
      this.i++;
    }
  }

  private array(): void {
    this.enter();
    this.i++;
    this.skipSpace();
    if (this.peek() === "]") {
      this.i++;
      this.depth--;
      return;
    }
    for (;;) {
      this.value();
      this.skipSpace();
      if (this.peek() === "]") {
        this.i++;
        this.depth--;
        return;
      }
      if (this.peek() !== ",") this.fail("after array element");
      this.i++;
    }
  }
}

/**
 * When the first JSON value of `text` is an array: the [start, end) of each
 * of its elements, found as {@link firstJSONValue} scans (Go's syntax
 * errors, max depth), pausing (a bare `yield`) every few hundred elements
 * so a caller can let the event loop run. Returns undefined when the first
 * value is not an array (or there is none).
 */
export function* arrayElements(text: string): Generator<void, { elements: [number, number][] } | { error: string } | undefined, undefined> {
  const scanner = new Scanner(text);
  try {
    return yield* scanner.arrayElements();
  } catch (e) {
    if (e instanceof SyntaxProblem) return { error: e.message };
    throw e;
  }
}

/**
 * The text of the first JSON value in `text` (leading whitespace skipped,
 * anything after the value ignored, as `json.Decoder.Decode` reads it), or
 * Go's syntax error message for it.
 */
export function firstJSONValue(text: string): { text: string } | { error: string } {
  const scanner = new Scanner(text);
  try {
    scanner.value();
  } catch (e) {
    if (e instanceof SyntaxProblem) return { error: e.message };
    throw e;
  }
  return { text: text.slice(0, scanner.i) };
}

/** The layout Go's error names: go-openapi's last `strfmt.DateTime` layout. */
const LAST_LAYOUT = "2006-01-02 15:04:05";

/**
 * The error Go's `time.Parse("2006-01-02 15:04:05", value)` returns for a
 * value it rejects (callers only ask for values no accepted form reads).
 */
export function goTimeParseError(value: string): string {
  const prefix = `parsing time ${JSON.stringify(value)}`;
  const cannot = (rest: string, element: string) => `${prefix} as "${LAST_LAYOUT}": cannot parse ${JSON.stringify(rest)} as "${element}"`;
  const outOfRange = (what: string) => `${prefix}: ${what} out of range`;
  let rest = value;
  // Two-digit fields; the hour ("15") may have one digit.
  const number = (element: string, fixed: boolean): number | string => {
    if (!isDigit(rest[0])) return cannot(rest, element);
    const width = isDigit(rest[1]) ? 2 : fixed ? 0 : 1;
    if (width === 0) return cannot(rest, element);
    const n = Number(rest.slice(0, width));
    rest = rest.slice(width);
    return n;
  };
  const literal = (sep: string): string | undefined => {
    if (sep === " ") {
      if (rest.length > 0 && rest[0] !== " ") return cannot(rest, sep);
      rest = rest.replace(/^ +/, "");
      return undefined;
    }
    if (!rest.startsWith(sep)) return cannot(rest, sep);
    rest = rest.slice(1);
    return undefined;
  };
  if (rest.length < 4 || !/^[+-]?[0-9]+$/.test(rest.slice(0, 4))) return cannot(rest, "2006");
  rest = rest.slice(4);
  const steps: [sep: string, element: string, fixed: boolean, max: number, name: string][] = [
    ["-", "01", true, 12, "month"],
    ["-", "02", true, 31, "day"],
    [" ", "15", false, 23, "hour"],
    [":", "04", true, 59, "minute"],
    [":", "05", true, 59, "second"],
  ];
  for (const [sep, element, fixed, max, name] of steps) {
    const bad = literal(sep);
    if (bad) return bad;
    const n = number(element, fixed);
    if (typeof n === "string") return n;
    if (n > max || (name === "month" && n === 0)) return outOfRange(name);
  }
  if (/^[.,][0-9]/.test(rest)) rest = rest.replace(/^[.,][0-9]+/, "");
  if (rest.length > 0) return `${prefix}: extra text: ${JSON.stringify(rest)}`;
  return `${prefix}: day out of range`;
}
