/**
 * RE2 regular expressions (the syntax Prometheus and Alertmanager accept in
 * `=~`/`!~` matchers, relabeling, `label_replace`, routes, inhibit rules,
 * silences and template functions), matched in time linear in the input.
 *
 * A parser of our own checks the pattern as Go's regexp/syntax does, so it
 * rejects what Go rejects — lookarounds, backreferences, nested repetition
 * operators, repeat counts above 1000 (also nested ones multiplying past
 * 1000), unknown escapes and Unicode classes — with Go's messages
 * (`error parsing regexp: <reason>: \`<expr>\``). It also yields the
 * structure that picks the engine (see "Engine choice" below) and a JS
 * translation of RE2-only syntax: flag groups `(?i)`/`(?i:…)`/`(?-i)`,
 * `(?s)`, `(?m)`, `(?U)`, `\Q…\E`, `\A`, `\z`, POSIX classes
 * `[[:alpha:]]`, `\pL`/`\p{Greek}`, `\x{10FFFF}`, octal escapes, named groups
 * `(?P<name>…)`; RE2's ASCII meaning of `\d`, `\s`, `\w` is kept. Semantics
 * are Go's: `.` does not match "\n" unless `(?s)` (Prometheus 2.x and
 * Alertmanager compile `^(?:…)$` without DotNL).
 *
 * @example
 * compileRE2("foo|ba[rz]").test("baz");   // true
 * compileRE2("foo").test("foobar");       // false (anchored)
 * compileRE2("(?i)FOO").test("foo");      // true
 * compileRE2("a(?=b)");                   // throws: error parsing regexp: invalid or unsupported Perl syntax: `(?=`
 * compileRE2("(a+)+").test("a".repeat(10000) + "!"); // false, in milliseconds
 */

import { RE2JS, type Matcher } from "re2js";

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

/**
 * The parsed pattern, as much structure as engine choice needs. Every node
 * carries its JS translation (`js`, for the `u` flag).
 */
type Node =
  /** Literal text (one code point, or a `\Q…\E` run); `fold` under `(?i)`. */
  | { k: "lit"; js: string; text: string; fold: boolean }
  /** One code point out of a set: a class, a Perl/Unicode escape, or `.` (`dot`: "s" with `(?s)`, "nl" without). */
  | { k: "char"; js: string; dot: "" | "s" | "nl" }
  /** Zero-width: `^ $ \A \z \b \B`; `edge` tells `^`/`\A` ("begin") and `$`/`\z` ("end") outside `(?m)`. */
  | { k: "assert"; js: string; edge: "" | "begin" | "end" }
  | { k: "group"; js: string; capture: boolean; branches: Node[][] }
  /** `sub{min,max}` (max -1: unbounded); `*`, `+`, `?` included. */
  | { k: "repeat"; js: string; sub: Node; min: number; max: number; brace: boolean };

function branchesJs(branches: readonly Node[][]): string {
  return branches.map((b) => b.map((n) => n.js).join("")).join("|");
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

  /** Parses the whole pattern into its top-level alternation branches. */
  parse(): Node[][] {
    // Go's defaults: `.` does not match "\n" unless (?s); ^/$ at text edges unless (?m).
    const flags: Flags = { i: false, m: false, s: false, U: false };
    const branches = this.alternation(flags);
    if (this.pos < this.cps.length) this.fail(ERR.unexpectedParen, this.pattern);
    return branches;
  }

  /** `a|b|…` up to an unmatched `)` or the end. Flag groups mutate `flags` for the rest of the group. */
  private alternation(flags: Flags): Node[][] {
    if (++this.depth > MAX_DEPTH) this.fail(ERR.nestingDepth, this.pattern);
    const branches: Node[][] = [this.concat(flags)];
    while (this.peek() === "|") {
      this.pos++;
      branches.push(this.concat(flags));
    }
    this.depth--;
    return branches;
  }

  private concat(flags: Flags): Node[] {
    const out: Node[] = [];
    let lastAtom: Node | null = null; // the last quantifiable atom
    let lastRepeat: string | null = null; // text of the repetition just applied
    const flush = () => {
      if (lastAtom !== null) out.push(lastAtom);
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
        const sub: Node = lastAtom;
        const js: string = `${SINGLE_ATOM.test(sub.js) ? sub.js : `(?:${sub.js})`}${rep.js}`;
        const node: Node = { k: "repeat", js, sub, min: rep.min, max: rep.max, brace: opText.startsWith("{") };
        // Go: counted repetitions nested in each other may not repeat their atom more than 1000 times.
        if (node.brace && (rep.min >= 2 || rep.max >= 2) && !repeatIsValid(node, MAX_REPEAT)) this.fail(ERR.invalidRepeatSize, opText);
        lastAtom = node;
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

  /** Parses a repetition operator at the cursor, returning its JS form and bounds, or null (cursor unchanged). */
  private repetition(flags: Flags): { js: string; min: number; max: number } | null {
    const c = this.peek();
    let op: string;
    let min: number, max: number;
    if (c === "*" || c === "+" || c === "?") {
      this.pos++;
      op = c;
      min = c === "+" ? 1 : 0;
      max = c === "?" ? 1 : -1;
    } else if (c === "{") {
      const start = this.pos;
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
      if (!m) return null;
      this.pos += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
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
    return { js: lazy ? op + "?" : op, min, max };
  }

  /** One atom; null for a flag-setting group that produces nothing. */
  private atom(flags: Flags): Node | null {
    const c = this.peek()!;
    switch (c) {
      case "(":
        return this.group(flags);
      case "[":
        return { k: "char", js: this.foldable(this.charClass(), flags), dot: "" };
      case ".":
        this.pos++;
        return flags.s ? { k: "char", js: "[\\s\\S]", dot: "s" } : { k: "char", js: "[^\\n]", dot: "nl" };
      case "^":
        this.pos++;
        return flags.m ? { k: "assert", js: "(?<![^\\n])", edge: "" } : { k: "assert", js: "(?<![\\s\\S])", edge: "begin" };
      case "$":
        this.pos++;
        return flags.m ? { k: "assert", js: "(?![^\\n])", edge: "" } : { k: "assert", js: "(?![\\s\\S])", edge: "end" };
      case "\\":
        return this.escapeAtom(flags);
      default: {
        this.pos++;
        const code = c.codePointAt(0)!;
        return { k: "lit", js: this.foldable(this.literal(code), flags), text: c, fold: flags.i };
      }
    }
  }

  private foldable(src: string, flags: Flags): string {
    return flags.i ? `(?i:${src})` : src;
  }

  private literal(c: number): string {
    return /[A-Za-z0-9_]/.test(String.fromCodePoint(c)) ? String.fromCodePoint(c) : cp(c);
  }

  private group(flags: Flags): Node | null {
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
    const branches = this.alternation(inner);
    if (this.peek() !== ")") this.fail(ERR.missingParen, this.pattern);
    this.pos++;
    return { k: "group", js: `${open}${branchesJs(branches)})`, capture: open !== "(?:", branches };
  }

  private escapeAtom(flags: Flags): Node {
    const start = this.pos;
    const c = this.peek(1);
    if (c === undefined) this.fail(ERR.trailingBackslash, "");
    switch (c) {
      case "A":
        this.pos += 2;
        return { k: "assert", js: "(?<![\\s\\S])", edge: "begin" };
      case "z":
        this.pos += 2;
        return { k: "assert", js: "(?![\\s\\S])", edge: "end" };
      case "b":
        this.pos += 2;
        return { k: "assert", js: "\\b", edge: "" };
      case "B":
        this.pos += 2;
        return { k: "assert", js: "\\B", edge: "" };
      case "C":
        // RE2 has \C (any byte); Go's regexp, which Prometheus uses, refuses it.
        this.fail(ERR.invalidEscape, "\\C");
      case "Q": {
        this.pos += 2;
        let lit = "", text = "";
        while (this.pos < this.cps.length) {
          if (this.peek() === "\\" && this.peek(1) === "E") {
            this.pos += 2;
            break;
          }
          const ch = this.cps[this.pos++]!;
          text += ch;
          lit += this.literal(ch.codePointAt(0)!);
        }
        return { k: "lit", js: lit === "" ? "(?:)" : this.foldable(lit, flags), text, fold: flags.i };
      }
    }
    const piece = this.classEscape(start);
    if (typeof piece === "number") return { k: "lit", js: this.foldable(this.literal(piece), flags), text: String.fromCodePoint(piece), fold: flags.i };
    return { k: "char", js: this.foldable(`[${piece.source}]`, flags), dot: "" };
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


/** Go's repeatIsValid: counted repetitions nested inside `node` may repeat its innermost atom at most `limit` times. */
function repeatIsValid(node: Node, limit: number): boolean {
  if (node.k === "repeat") {
    if (node.brace) {
      let m = node.max;
      if (m === 0) return true;
      if (m < 0) m = node.min;
      if (m > limit) return false;
      if (m > 0) limit = Math.floor(limit / m);
    }
    return repeatIsValid(node.sub, limit);
  }
  if (node.k === "group") return node.branches.every((b) => b.every((n) => repeatIsValid(n, limit)));
  return true;
}

interface Parsed {
  branches: Node[][];
}

function parse(pattern: string): Parsed {
  return { branches: new Translator(pattern).parse() };
}

/**
 * Translates an RE2 pattern into the source of an equivalent JS RegExp for
 * the `u` flag (unanchored). Throws {@link RE2SyntaxError} like Go's
 * regexp/syntax would. The JS source backtracks: run it only where
 * {@link compileRE2} would (patterns that cannot blow up).
 */
export function translateRE2(pattern: string): string {
  return branchesJs(parse(pattern).branches);
}

// ---------------------------------------------------------------------------
// Engine choice.
//
// JS RegExp (JavaScriptCore's Yarr) backtracks: `(a+)+` against 28 `a`s and a
// `!` takes 2^28 steps, and past its step limit it reports "no match". re2js
// (a port of Go's regexp: DFA + Pike VM) is linear in the input for every
// pattern. So a pattern runs on:
//  - a string fast path when it is a literal, a set of literals, or
//    `prefix.*suffix` / `.*infix.*` (as Prometheus's FastRegexMatcher does);
//  - JS RegExp when its shape cannot backtrack more than O(pattern × input):
//    alternation only at the top, repetition only of single characters, at
//    most one unbounded repetition per branch (none when unanchored, where
//    every start position is tried) and few bounded ones (see jsMaxLength) —
//    and only while input × pattern is small, so Yarr's step limit is never
//    reached;
//  - re2js for everything else.
// ---------------------------------------------------------------------------

/** Above this input-length × pattern-length product even a "safe" JS RegExp goes to re2js. */
const JS_STEP_BUDGET = 1_000_000;

/**
 * Branches that must match the whole input (anchors dropped, a group
 * spanning a whole branch opened up; for matching, not capturing), from
 * branches already in that position.
 */
function flatten(branches: readonly Node[][]): Node[][] {
  const out: Node[][] = [];
  for (const b of branches) {
    let i = 0, j = b.length;
    while (i < j && b[i]!.k === "assert" && (b[i] as { edge: string }).edge === "begin") i++;
    while (j > i && b[j - 1]!.k === "assert" && (b[j - 1] as { edge: string }).edge === "end") j--;
    const core = b.slice(i, j);
    const only = core[0];
    if (core.length === 1 && only!.k === "group") out.push(...flatten(only.branches));
    else out.push(core);
  }
  return out;
}

/**
 * For a pattern searched for anywhere in the input (as Go runs `^(?:…)$`):
 * its branches as whole-input matches when every top-level branch starts
 * with `^`/`\A` and ends with `$`/`\z` — the usual case — or null (e.g.
 * `^(?:a)|(b)$`, from the matcher `a)|(b`, which Go accepts).
 */
function wholeMatchBranches(branches: readonly Node[][]): Node[][] | null {
  const out: Node[][] = [];
  for (const b of branches) {
    const first = b[0], last = b[b.length - 1];
    if (b.length < 2 || first!.k !== "assert" || first.edge !== "begin" || last!.k !== "assert" || last.edge !== "end") return null;
    out.push(...flatten([b.slice(1, -1)]));
  }
  return out;
}

/** At most this product of bounded repeats' choices (`x?` is 2, `x{1,3}` is 3) per branch on the JS path. */
const MAX_BOUNDED_CHOICES = 16;

/**
 * The longest input JS RegExp may run these branches on, or -1 for never.
 * A branch of single-character atoms, fixed repeats and unnested groups,
 * with k unbounded repetitions and bounded ones offering c choices in all,
 * backtracks through at most c·(n+1)^k repeat-count choices, each checked in
 * O(pattern). JS is used only when that is linear — k ≤ 1 (k = 0 when
 * unanchored, where each start position is a choice too), c ≤ 16 — and,
 * below the length returned, within JS_STEP_BUDGET steps.
 */
function jsMaxLength(branches: readonly Node[][], patternLength: number, unanchored: boolean): number {
  let choices = 0;
  for (const b of branches) {
    const c = branchChoices(b, unanchored ? 0 : 1);
    if (c < 0) return -1;
    choices += c;
  }
  return Math.floor(JS_STEP_BUDGET / (choices * (patternLength + 1)));
}

/** The bounded-repeat choices of a branch (see jsMaxLength), or -1 when its backtracking is not provably linear. */
function branchChoices(branch: readonly Node[], maxUnbounded: number): number {
  let unbounded = 0;
  let choices = 1;
  const walk = (n: Node): boolean => {
    switch (n.k) {
      case "lit": case "char": case "assert":
        return true;
      case "group":
        return n.branches.length === 1 && n.branches[0]!.every(walk);
      case "repeat": {
        const single = n.sub.k === "char" || (n.sub.k === "lit" && Array.from(n.sub.text).length === 1);
        if (!single) return false;
        if (n.max < 0) unbounded++;
        else choices *= n.max - n.min + 1;
        return true;
      }
    }
  };
  if (!branch.every(walk) || unbounded > maxUnbounded || choices > MAX_BOUNDED_CHOICES) return -1;
  return choices;
}

/** A string test for the shapes Prometheus's FastRegexMatcher also special-cases, or null. */
function fastTest(branches: readonly Node[][]): { kind: string; test: (s: string) => boolean } | null {
  // Literal, or an alternation of literals: a set lookup.
  const literals: string[] = [];
  for (const b of branches) {
    if (!b.every((n) => n.k === "lit" && !n.fold)) {
      literals.length = 0;
      break;
    }
    literals.push(b.map((n) => (n as { text: string }).text).join(""));
  }
  if (literals.length === 1) {
    const lit = literals[0]!;
    return { kind: "literal", test: (s) => s === lit };
  }
  if (literals.length > 1) {
    // A few strings compare faster than they hash.
    if (literals.length <= 8) return { kind: "set", test: (s) => literals.includes(s) };
    const set = new Set(literals);
    return { kind: "set", test: (s) => set.has(s) };
  }
  if (branches.length !== 1) return null;
  // Split one branch into literal runs and `.*` / `.+`.
  const parts: ({ lit: string } | { dot: "s" | "nl"; min: number })[] = [];
  for (const n of branches[0]!) {
    if (n.k === "lit" && !n.fold) {
      const last = parts[parts.length - 1];
      if (last && "lit" in last) last.lit += n.text;
      else parts.push({ lit: n.text });
    } else if (n.k === "repeat" && n.sub.k === "char" && n.sub.dot !== "" && n.max === -1 && n.min <= 1) {
      parts.push({ dot: n.sub.dot, min: n.min });
    } else {
      return null;
    }
  }
  const dots = parts.filter((p) => "dot" in p) as { dot: "s" | "nl"; min: number }[];
  const lits = parts.filter((p) => "lit" in p) as { lit: string }[];
  if (lits.some((l) => l.lit.includes("\n"))) return null;
  const noNL = (s: string, from: number, to: number): boolean => {
    const k = s.indexOf("\n", from);
    return k < 0 || k >= to;
  };
  // prefix .* suffix (either may be empty)
  if (dots.length === 1) {
    const d = dots[0]!;
    const at = parts.indexOf(d);
    const prefix = at > 0 ? (parts[0] as { lit: string }).lit : "";
    const suffix = at < parts.length - 1 ? (parts[parts.length - 1] as { lit: string }).lit : "";
    const fixed = prefix.length + suffix.length;
    return {
      kind: prefix && suffix ? "prefix+suffix" : prefix ? "prefix" : suffix ? "suffix" : "any",
      test: (s) =>
        s.length >= fixed + d.min && s.startsWith(prefix) && s.endsWith(suffix) && (d.dot === "s" || noNL(s, prefix.length, s.length - suffix.length)),
    };
  }
  // .* infix .*
  if (parts.length === 3 && dots.length === 2 && "lit" in parts[1]! && dots[0]!.dot === dots[1]!.dot) {
    const infix = (parts[1] as { lit: string }).lit;
    const [a, b] = dots as [{ dot: "s" | "nl"; min: number }, { dot: "s" | "nl"; min: number }];
    return {
      kind: "contains",
      test: (s) => {
        if (a.dot === "nl" && s.includes("\n")) return false;
        // The leftmost occurrence after the first `.`'s minimum leaves the most room for the second.
        const k = s.indexOf(infix, a.min);
        return k >= 0 && s.length - (k + infix.length) >= b.min;
      },
    };
  }
  return null;
}

/** What `exec` gives back: a `RegExpExecArray` (index, input, numbered and named groups; unmatched groups undefined). */
export interface RE2Regexp {
  /** The RE2 pattern as written. */
  readonly source: string;
  /** Which path `test` takes: "literal", "set", "prefix", "suffix", "prefix+suffix", "any", "contains", "js" or "re2". */
  readonly engine: string;
  /** Whether the whole input matches (anchored as Prometheus anchors: `^(?:…)$`). */
  test(s: string): boolean;
  /** The whole-input match with its groups, or null. */
  exec(s: string): RegExpExecArray | null;
}

/** An unanchored RE2 pattern, as Go's `regexp.MatchString` / `ReplaceAllString` use it. */
export interface RE2Search {
  readonly source: string;
  readonly engine: "js" | "re2";
  /** Whether some part of `s` matches. */
  test(s: string): boolean;
  /** The leftmost match starting at or after UTF-16 offset `from`, or null. */
  find(s: string, from: number): RegExpExecArray | null;
}

/** Forces one engine (tests compare engines on the same patterns). */
export type EngineOption = "auto" | "re2";

function compileLinear(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    // The translator accepted it, so this is a case re2js's parser sees differently: report it in Go's words.
    const err = e as { error?: string; input?: string | null; message: string };
    if (err.error !== undefined) throw new RE2SyntaxError(err.error, err.input ?? pattern);
    throw e;
  }
}

/** Builds a RegExpExecArray from a re2js Matcher positioned on a match. */
function matcherResult(m: Matcher, s: string, names: Record<string, number>): RegExpExecArray {
  const out = [] as unknown as RegExpExecArray;
  const n = m.groupCount();
  for (let g = 0; g <= n; g++) out.push(m.group(g) ?? (undefined as unknown as string));
  out.index = m.start();
  out.input = s;
  const keys = Object.keys(names);
  if (keys.length > 0) {
    const groups: Record<string, string> = Object.create(null);
    for (const k of keys) groups[k] = out[names[k]!] as string;
    out.groups = groups;
  } else {
    out.groups = undefined;
  }
  return out;
}

class AnchoredRE2 implements RE2Regexp {
  readonly engine: string;
  private readonly fast: ((s: string) => boolean) | null;
  private readonly js: RegExp | null;
  private readonly jsMaxLength: number;
  /** re2js on `^(?:…)$`, run as a search (as Go runs it; also, its DFA caches transitions only when unanchored). */
  private linear: RE2JS | null = null;
  private names: Record<string, number> | null = null;

  /** `parsed` is the parse of `anchored`, `^(?:source)$`, which (like Go) we search for rather than match whole. */
  constructor(readonly source: string, private readonly anchored: string, parsed: Parsed, option: EngineOption) {
    const whole = wholeMatchBranches(parsed.branches);
    const fast = option === "auto" && whole ? fastTest(whole) : null;
    this.jsMaxLength = option !== "auto" ? -1 : whole ? jsMaxLength(whole, source.length, false) : jsMaxLength(parsed.branches, anchored.length, true);
    this.fast = fast ? fast.test : null;
    this.js = this.jsMaxLength >= 0 ? new RegExp(branchesJs(parsed.branches), "u") : null;
    this.engine = fast ? fast.kind : this.js ? "js" : "re2";
    if (this.js === null) this.re2(); // report re2js's own syntax complaints at compile time
  }

  private re2(): RE2JS {
    return (this.linear ??= compileLinear(this.anchored));
  }

  test(s: string): boolean {
    if (this.fast !== null) return this.fast(s);
    if (s.length <= this.jsMaxLength) return this.js!.test(s);
    return this.re2().test(s);
  }

  exec(s: string): RegExpExecArray | null {
    if (s.length <= this.jsMaxLength) return this.js!.exec(s);
    if (!this.re2().test(s)) return null; // the DFA rejects quickly; submatches only for a match
    const m = this.re2().matcher(s);
    if (!m.find()) return null;
    this.names ??= this.re2().namedGroups();
    return matcherResult(m, s, this.names);
  }
}

class UnanchoredRE2 implements RE2Search {
  readonly engine: "js" | "re2";
  private readonly js: RegExp | null;
  private readonly jsMaxLength: number;
  private linear: RE2JS | null = null;
  private names: Record<string, number> | null = null;

  constructor(readonly source: string, parsed: Parsed, option: EngineOption) {
    this.jsMaxLength = option === "auto" ? jsMaxLength(parsed.branches, source.length, true) : -1;
    this.js = this.jsMaxLength >= 0 ? new RegExp(branchesJs(parsed.branches), "gu") : null;
    this.engine = this.js ? "js" : "re2";
    if (this.js === null) this.re2();
  }

  private re2(): RE2JS {
    return (this.linear ??= compileLinear(this.source));
  }

  test(s: string): boolean {
    if (s.length <= this.jsMaxLength) return this.find(s, 0) !== null;
    return this.re2().test(s);
  }

  find(s: string, from: number): RegExpExecArray | null {
    if (s.length <= this.jsMaxLength) {
      this.js!.lastIndex = from;
      return this.js!.exec(s);
    }
    const m = this.re2().matcher(s);
    if (!m.find(from)) return null;
    this.names ??= this.re2().namedGroups();
    return matcherResult(m, s, this.names);
  }
}

/**
 * re2js builds its tables and JavaScriptCore compiles its functions on first
 * use; left to the first pathological query, that cold start held the event
 * loop for 100–400 ms on a loaded machine (first compile 180 ms, `\pL`
 * tables 50 ms, first DFA run 80 ms, first submatch 45 ms). Running the
 * parser, compiler, DFA, backtracker and NFA once when this module loads
 * moves the cost to startup.
 */
function warmLinearEngine(): void {
  const re = RE2JS.compile("^(?:(a|a?)+(!)|[^\\n]*x\\b(?i:y)\\pL)$");
  const short = "a".repeat(8) + "!";
  const long = "a".repeat(2000) + "!";
  for (const s of [short, long]) {
    re.test(s);
    re.testExact(s);
    const m = re.matcher(s);
    if (m.find()) m.group(1);
  }
}
warmLinearEngine();

// Bounded: a re2js DFA may grow to its 8 MiB budget, and query patterns come from users.
const CACHE_LIMIT = 128;
const anchoredCache = new Map<string, RE2Regexp>();
const searchCache = new Map<string, RE2Search>();

function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let hit = cache.get(key);
  if (hit !== undefined) {
    // Refresh recency (Map keeps insertion order).
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  hit = make();
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, hit);
  return hit;
}

/**
 * Compiles an RE2 pattern that must match the whole input, as Prometheus and
 * Alertmanager compile it: `^(?:pattern)$`, so syntax errors name that
 * expression (`missing closing ): \`^(?:(a)$\``) and a trailing `\Q…`
 * swallows the `)$` as they do. Go's semantics (`.` does not match "\n"
 * unless `(?s)`), matching in time linear in the input. Compiled patterns
 * are immutable and cached.
 *
 * @example
 * compileRE2("(a+)+|a+!").test("a".repeat(28) + "!"); // true, in microseconds
 */
export function compileRE2(pattern: string, option: EngineOption = "auto"): RE2Regexp {
  return cached(anchoredCache, `${option}\0${pattern}`, () => {
    const anchored = `^(?:${pattern})$`;
    return new AnchoredRE2(pattern, anchored, parse(anchored), option);
  });
}

/**
 * Compiles an RE2 pattern for unanchored search, as Go's `regexp.Compile`
 * (template functions). Linear in the input like {@link compileRE2}.
 *
 * @example
 * compileRE2Search("b+").find("abbc", 0)?.[0]; // "bb"
 */
export function compileRE2Search(pattern: string, option: EngineOption = "auto"): RE2Search {
  return cached(searchCache, `${option}\0${pattern}`, () => new UnanchoredRE2(pattern, parse(pattern), option));
}
