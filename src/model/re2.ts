/**
 * RE2 regular expressions (the syntax Prometheus accepts in `=~`/`!~`
 * matchers, relabeling and alert routes) translated into JavaScript RegExps.
 *
 * The translator parses the RE2 pattern itself, so it rejects what RE2
 * rejects — lookarounds, backreferences, possessive/nested repetitions,
 * repeat counts above 1000, unknown escapes and Unicode classes — with Go's
 * messages (`error parsing regexp: <reason>: \`<expr>\``), and maps RE2-only
 * syntax onto JS: flag groups `(?i)`/`(?i:…)`/`(?-i)`, `(?s)`, `(?m)`, `(?U)`,
 * `\Q…\E`, `\A`, `\z`, `\C`, POSIX classes `[[:alpha:]]`, `\pL`/`\p{Greek}`,
 * `\x{10FFFF}`, octal escapes, named groups `(?P<name>…)`. RE2's ASCII
 * meaning of `\d`, `\s`, `\w` is kept. Like Prometheus, the whole value must
 * match and `.` also matches newlines (`(?s)` is on unless turned off).
 *
 * @example
 * compileRE2("foo|ba[rz]").test("baz");   // true
 * compileRE2("foo").test("foobar");       // false (anchored)
 * compileRE2("(?i)FOO").test("foo");      // true
 * compileRE2("a(?=b)");                   // throws: error parsing regexp: invalid or unsupported Perl syntax: `(?=`
 */

/** Go's regexp/syntax error codes. */
const ERR = {
  invalidCharClass: "invalid character class",
  invalidCharRange: "invalid character class range",
  invalidEscape: "invalid escape sequence",
  invalidNamedCapture: "invalid named capture",
  invalidPerlOp: "invalid or unsupported Perl syntax",
  invalidRepeatOp: "invalid nested repetition operator",
  invalidRepeatSize: "invalid repeat count",
  missingBracket: "missing closing ]",
  missingParen: "missing closing )",
  missingRepeatArgument: "missing argument to repetition operator",
  trailingBackslash: "trailing backslash at end of expression",
  unexpectedParen: "unexpected )",
  nestingDepth: "expression nests too deeply",
  duplicateName: "duplicate capture group name",
} as const;

const MAX_REPEAT = 1000;
/** Translated atoms that a quantifier can follow without a wrapping group (classes never contain a raw `]`). */
const SINGLE_ATOM = /^(?:\[[^\]]*\]|\\u\{[0-9a-f]+\}|[A-Za-z0-9_])$/;
const MAX_DEPTH = 1000;
const MAX_CODE_POINT = 0x10ffff;

/** A parse failure, with Go's message format. */
export class RE2SyntaxError extends Error {
  constructor(readonly code: string, readonly expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

interface Flags {
  i: boolean; // case-insensitive
  m: boolean; // ^ and $ match at line boundaries
  s: boolean; // . matches \n
  U: boolean; // ungreedy: swap x* and x*?
}

type Range = readonly [number, number];

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function cp(c: number): string {
  return `\\u{${c.toString(16)}}`;
}

function rangesSource(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join("");
}

const unicodeClassCache = new Map<string, string | null>();

/** JS `\p{…}` body for an RE2 Unicode class name (category or script), or null if unknown. */
function unicodeClass(name: string): string | null {
  let hit = unicodeClassCache.get(name);
  if (hit !== undefined) return hit;
  hit = null;
  if (/^[A-Za-z_]+$/.test(name)) {
    for (const body of name === "Any" ? ["Any"] : [`General_Category=${name}`, `Script=${name}`]) {
      try {
        new RegExp(`\\p{${body}}`, "u");
        hit = body;
        break;
      } catch {
        // Not this kind of property; try the next.
      }
    }
  }
  unicodeClassCache.set(name, hit);
  return hit;
}

/** One parsed class element: JS class-body source (ranges or `\p{…}` items). */
interface ClassPiece {
  source: string;
}

class Translator {
  private readonly cps: string[];
  private pos = 0;
  private depth = 0;
  private readonly names = new Set<string>();

  constructor(private readonly pattern: string) {
    this.cps = Array.from(pattern);
  }

  private fail(code: string, expr: string): never {
    throw new RE2SyntaxError(code, expr);
  }

  private peek(k = 0): string | undefined {
    return this.cps[this.pos + k];
  }

  private rest(from = this.pos): string {
    return this.cps.slice(from).join("");
  }

  private text(from: number, to = this.pos): string {
    return this.cps.slice(from, to).join("");
  }

  /** Translates the whole pattern into a JS source for the `u` flag. */
  translate(): string {
    const flags: Flags = { i: false, m: false, s: true, U: false };
    const src = this.alternation(flags);
    if (this.pos < this.cps.length) this.fail(ERR.unexpectedParen, this.pattern);
    return src;
  }

  /** `a|b|…` up to an unmatched `)` or the end. Flag groups mutate `flags` for the rest of the group. */
  private alternation(flags: Flags): string {
    if (++this.depth > MAX_DEPTH) this.fail(ERR.nestingDepth, this.pattern);
    const branches: string[] = [this.concat(flags)];
    while (this.peek() === "|") {
      this.pos++;
      branches.push(this.concat(flags));
    }
    this.depth--;
    return branches.join("|");
  }

  private concat(flags: Flags): string {
    let out = "";
    let lastAtom: string | null = null; // source of the last quantifiable atom
    let lastRepeat: string | null = null; // text of the repetition just applied
    const flush = () => {
      if (lastAtom !== null) out += lastAtom;
      lastAtom = null;
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") break;
      const start = this.pos;
      const rep = this.repetition(flags);
      if (rep) {
        const opText = this.text(start);
        if (lastRepeat !== null) this.fail(ERR.invalidRepeatOp, lastRepeat + opText);
        if (lastAtom === null) this.fail(ERR.missingRepeatArgument, opText);
        lastAtom = `${SINGLE_ATOM.test(lastAtom) ? lastAtom : `(?:${lastAtom})`}${rep}`;
        lastRepeat = opText;
        continue;
      }
      lastRepeat = null;
      flush();
      const atom = this.atom(flags);
      if (atom !== null) lastAtom = atom;
    }
    flush();
    return out;
  }

  /** Parses a repetition operator at the cursor, returning its JS form, or null (cursor unchanged). */
  private repetition(flags: Flags): string | null {
    const c = this.peek();
    let op: string;
    if (c === "*" || c === "+" || c === "?") {
      this.pos++;
      op = c;
    } else if (c === "{") {
      const start = this.pos;
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
      if (!m) return null;
      this.pos += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) this.fail(ERR.invalidRepeatSize, this.text(start));
      op = m[2] === undefined ? `{${min}}` : max < 0 ? `{${min},}` : `{${min},${max}}`;
    } else {
      return null;
    }
    let lazy = false;
    if (this.peek() === "?") {
      this.pos++;
      lazy = true;
    }
    if (flags.U) lazy = !lazy;
    return lazy ? op + "?" : op;
  }

  /** One atom; null for a flag-setting group that produces nothing. */
  private atom(flags: Flags): string | null {
    const c = this.peek()!;
    switch (c) {
      case "(":
        return this.group(flags);
      case "[":
        return this.foldable(this.charClass(), flags);
      case ".":
        this.pos++;
        return flags.s ? "[\\s\\S]" : "[^\\n]";
      case "^":
        this.pos++;
        return flags.m ? "(?<![^\\n])" : "(?<![\\s\\S])";
      case "$":
        this.pos++;
        return flags.m ? "(?![^\\n])" : "(?![\\s\\S])";
      case "\\":
        return this.escapeAtom(flags);
      default:
        this.pos++;
        return this.foldable(this.literal(c.codePointAt(0)!), flags);
    }
  }

  private foldable(src: string, flags: Flags): string {
    return flags.i ? `(?i:${src})` : src;
  }

  private literal(c: number): string {
    return /[A-Za-z0-9_]/.test(String.fromCodePoint(c)) ? String.fromCodePoint(c) : cp(c);
  }

  private group(flags: Flags): string | null {
    const start = this.pos;
    this.pos++; // (
    let inner: Flags = { ...flags };
    // Plain and named groups capture (RE2 numbers them as JS does, so $1 in
    // relabeling sees the same group); flag groups do not.
    let open = "(";
    if (this.peek() === "?") {
      const m = /^\?(?:P?<([^>]*)>)/.exec(this.rest());
      if (m && !(this.peek(1) === "<" && (this.peek(2) === "=" || this.peek(2) === "!"))) {
        const name = m[1]!;
        if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(ERR.invalidNamedCapture, this.text(start, this.pos + m[0].length));
        if (this.names.has(name)) this.fail(ERR.duplicateName, name);
        this.names.add(name);
        open = `(?<${name}>`;
        this.pos += m[0].length;
      } else {
        // Flags: (?flags) or (?flags:re)
        this.pos++; // ?
        let negate = false, sawFlag = false;
        for (;;) {
          const f = this.peek();
          if (f === undefined) this.fail(ERR.missingParen, this.pattern);
          this.pos++;
          if (f === "i" || f === "m" || f === "s" || f === "U") {
            inner[f] = !negate;
            sawFlag = true;
          } else if (f === "-") {
            if (negate) this.fail(ERR.invalidPerlOp, this.text(start));
            negate = true;
            sawFlag = false;
          } else if (f === ":" || f === ")") {
            if (negate && !sawFlag) this.fail(ERR.invalidPerlOp, this.text(start));
            if (f === ")") {
              if (this.pos - start === 3) this.fail(ERR.invalidPerlOp, this.text(start));
              Object.assign(flags, inner);
              return null;
            }
            break;
          } else {
            this.fail(ERR.invalidPerlOp, this.text(start));
          }
        }
        open = "(?:";
      }
    }
    const body = this.alternation(inner);
    if (this.peek() !== ")") this.fail(ERR.missingParen, this.pattern);
    this.pos++;
    return `${open}${body})`;
  }

  private escapeAtom(flags: Flags): string {
    const start = this.pos;
    const c = this.peek(1);
    if (c === undefined) this.fail(ERR.trailingBackslash, "");
    switch (c) {
      case "A":
        this.pos += 2;
        return "(?<![\\s\\S])";
      case "z":
        this.pos += 2;
        return "(?![\\s\\S])";
      case "b":
        this.pos += 2;
        return "\\b";
      case "B":
        this.pos += 2;
        return "\\B";
      case "C":
        // RE2 has \C (any byte); Go's regexp, which Prometheus uses, refuses it.
        this.fail(ERR.invalidEscape, "\\C");
      case "Q": {
        this.pos += 2;
        let lit = "";
        while (this.pos < this.cps.length) {
          if (this.peek() === "\\" && this.peek(1) === "E") {
            this.pos += 2;
            break;
          }
          lit += this.literal(this.cps[this.pos++]!.codePointAt(0)!);
        }
        return lit === "" ? "(?:)" : this.foldable(lit, flags);
      }
    }
    const piece = this.classEscape(start);
    return this.foldable(typeof piece === "number" ? this.literal(piece) : `[${piece.source}]`, flags);
  }

  /**
   * An escape valid both inside and outside classes, at `\`: a code point
   * (number) or a class piece (Perl, Unicode).
   */
  private classEscape(start: number): number | ClassPiece {
    this.pos++; // backslash
    const c = this.peek();
    if (c === undefined) this.fail(ERR.trailingBackslash, "");
    this.pos++;
    switch (c) {
      case "a": return 0x07;
      case "f": return 0x0c;
      case "t": return 0x09;
      case "n": return 0x0a;
      case "r": return 0x0d;
      case "v": return 0x0b;
      case "d": case "s": case "w":
        return { source: rangesSource(PERL_CLASSES[c]!) };
      case "D": case "S": case "W":
        return { source: rangesSource(complement(PERL_CLASSES[c.toLowerCase()]!)) };
      case "p": case "P": {
        let name: string;
        if (this.peek() === "{") {
          const end = this.cps.indexOf("}", this.pos);
          if (end < 0) this.fail(ERR.invalidCharRange, this.text(start, this.cps.length));
          name = this.text(this.pos + 1, end);
          this.pos = end + 1;
        } else {
          const n = this.peek();
          if (n === undefined) this.fail(ERR.invalidCharRange, this.text(start));
          name = n;
          this.pos++;
        }
        let negated = c === "P";
        if (name.startsWith("^")) {
          negated = !negated;
          name = name.slice(1);
        }
        const body = unicodeClass(name);
        if (body === null) this.fail(ERR.invalidCharRange, this.text(start));
        return { source: `${negated ? "\\P" : "\\p"}{${body}}` };
      }
      case "x": {
        if (this.peek() === "{") {
          const end = this.cps.indexOf("}", this.pos);
          const hex = end < 0 ? "" : this.text(this.pos + 1, end);
          if (end < 0 || !/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > MAX_CODE_POINT) {
            this.fail(ERR.invalidEscape, this.text(start, end < 0 ? this.cps.length : end + 1));
          }
          this.pos = end + 1;
          return parseInt(hex, 16);
        }
        const hex = this.text(this.pos, this.pos + 2);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail(ERR.invalidEscape, this.text(start, Math.min(this.pos + 2, this.cps.length)));
        this.pos += 2;
        return parseInt(hex, 16);
      }
      case "0": case "1": case "2": case "3": case "4": case "5": case "6": case "7": {
        // \1-\7 alone would be a backreference, which RE2 does not support.
        if (c !== "0" && !/[0-7]/.test(this.peek() ?? "")) this.fail(ERR.invalidEscape, this.text(start));
        let v = Number(c);
        for (let k = 0; k < 2 && /[0-7]/.test(this.peek() ?? ""); k++) v = v * 8 + Number(this.cps[this.pos++]);
        return v;
      }
    }
    const code = c.codePointAt(0)!;
    if (code < 0x80 && !/[A-Za-z0-9]/.test(c)) return code;
    this.fail(ERR.invalidEscape, this.text(start));
  }

  /** `[...]`, returning a JS class. */
  private charClass(): string {
    const start = this.pos;
    this.pos++; // [
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.pos++;
    }
    const parts: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail(ERR.missingBracket, this.text(start, this.cps.length));
      if (c === "]" && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === "[" && this.peek(1) === ":") {
        const m = /^\[:(\^?)([a-z]*):\]/.exec(this.rest());
        if (m) {
          const ranges = POSIX_CLASSES[m[2]!];
          if (!ranges) this.fail(ERR.invalidCharRange, m[0]);
          parts.push(rangesSource(m[1] ? complement(ranges) : ranges));
          this.pos += m[0].length;
          continue;
        }
      }
      const itemStart = this.pos;
      const lo = this.classChar();
      if (typeof lo !== "number") {
        parts.push(lo.source);
        continue;
      }
      if (this.peek() === "-" && this.peek(1) !== undefined && this.peek(1) !== "]") {
        this.pos++;
        const hi = this.classChar();
        if (typeof hi !== "number" || hi < lo) this.fail(ERR.invalidCharRange, this.text(itemStart));
        parts.push(`${cp(lo)}-${cp(hi)}`);
      } else {
        parts.push(cp(lo));
      }
    }
    return `[${negated ? "^" : ""}${parts.join("")}]`;
  }

  private classChar(): number | ClassPiece {
    const c = this.peek()!;
    if (c === "\\") return this.classEscape(this.pos);
    this.pos++;
    return c.codePointAt(0)!;
  }
}

/**
 * Translates an RE2 pattern into the source of an equivalent JS RegExp for
 * the `u` flag (unanchored). Throws {@link RE2SyntaxError} like Go's
 * regexp/syntax would.
 */
export function translateRE2(pattern: string): string {
  return new Translator(pattern).translate();
}

/**
 * Compiles an RE2 pattern into a JS RegExp that must match the whole input
 * (`^(?:…)$`), with `.` matching newlines as in Prometheus.
 */
export function compileRE2(pattern: string): RegExp {
  const src = translateRE2(pattern);
  try {
    return new RegExp(`^(?:${src})$`, "u");
  } catch (e) {
    throw new RE2SyntaxError(ERR.invalidPerlOp, `${pattern}: ${(e as Error).message}`);
  }
}
