/**
 * Go's `fmt` printing (Sprint, Sprintln, Sprintf) and `strconv` number
 * formatting over the value model of values.ts: the verbs templates use
 * (%v %s %q %d %b %o %x %X %c %U %e %E %f %F %g %G %t %T %%), flags
 * (`+ - # 0` and space), widths and precisions (`*` too), and Go's
 * complaints for mismatches (`%!d(float64=1.5)`, `%!s(MISSING)`,
 * `%!(EXTRA int=1)`).
 *
 * Floats are rounded from their exact binary value, half to even, as
 * strconv does: `sprintf("%.4g", [1234.5678])` → `"1235"`.
 */

import { formatGoFloat as formatFloat } from "../base/index.ts";
import { GO_TYPE, goTypeName, isMapValue, isPlainObject, sortedEntries, utf8Bytes } from "./values.ts";

export { formatFloat };

/** Go's `unicode.IsPrint`, close enough: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function quoteRune(cp: number, quote: string): string {
  const ch = String.fromCodePoint(cp);
  if (ch === quote || ch === "\\") return `\\${ch}`;
  if (PRINTABLE.test(ch)) return ch;
  switch (ch) {
    case "\x07":
      return "\\a";
    case "\b":
      return "\\b";
    case "\f":
      return "\\f";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case "\v":
      return "\\v";
  }
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/**
 * Go's `strconv.Quote`: a double-quoted string with Go escapes.
 *
 * @example quote('a"b\n') // "\"a\\\"b\\n\""
 */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) out += quoteRune(ch.codePointAt(0)!, '"');
  return `${out}"`;
}

/** Go's `strconv.QuoteRune`. */
function quoteRuneLiteral(cp: number): string {
  return `'${quoteRune(cp, "'")}'`;
}

/** Returns the result of a value's Go `String()` method (a Stringer), or undefined. */
function stringerOf(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || isPlainObject(v) || v instanceof Map) return undefined;
  const m = (v as { String?: unknown }).String;
  if (typeof m !== "function" || Object.prototype.hasOwnProperty.call(v, "String")) return undefined;
  const s = m.call(v);
  return typeof s === "string" ? s : undefined;
}

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

const PLAIN: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false, width: undefined, prec: undefined };

function pad(s: string, spec: Spec, zeroOk = false): string {
  if (spec.width === undefined) return s;
  const len = [...s].length;
  if (len >= spec.width) return s;
  const fill = spec.width - len;
  if (spec.minus) return s + " ".repeat(fill);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : "";
    return sign + "0".repeat(fill) + s.slice(sign.length);
  }
  return " ".repeat(fill) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v, "v", PLAIN)})`;
}

function formatInt(n: bigint, verb: string, spec: Spec): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  let digits: string;
  let prefix = "";
  switch (verb) {
    case "d":
    case "v":
      digits = abs.toString();
      break;
    case "b":
      digits = abs.toString(2);
      if (spec.sharp) prefix = "0b";
      break;
    case "o":
    case "O":
      digits = abs.toString(8);
      if (verb === "O") prefix = "0o";
      else if (spec.sharp) prefix = "0";
      break;
    case "x":
      digits = abs.toString(16);
      if (spec.sharp) prefix = "0x";
      break;
    case "X":
      digits = abs.toString(16).toUpperCase();
      if (spec.sharp) prefix = "0X";
      break;
    case "c":
      return pad(String.fromCodePoint(Number(abs)), spec);
    case "q":
      return pad(quoteRuneLiteral(Number(abs)), spec);
    case "U": {
      const u = `U+${abs.toString(16).toUpperCase().padStart(4, "0")}`;
      return pad(spec.sharp ? `${u} '${String.fromCodePoint(Number(abs))}'` : u, spec);
    }
    default:
      return badVerb(verb, n);
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && abs === 0n) digits = "";
    digits = digits.padStart(spec.prec, "0");
  } else if (spec.zero && !spec.minus && spec.width !== undefined) {
    const signLen = neg || spec.plus || spec.space ? 1 : 0;
    digits = digits.padStart(spec.width - signLen - prefix.length, "0");
  }
  const sign = neg ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  return pad(sign + prefix + digits, { ...spec, zero: false });
}

function formatFloatVerb(v: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case "v":
      s = formatFloat(v, "g", spec.prec ?? -1);
      break;
    case "g":
    case "G":
      s = formatFloat(v, verb, spec.prec ?? -1);
      break;
    case "e":
    case "E":
      s = formatFloat(v, verb, spec.prec ?? 6);
      break;
    case "f":
    case "F":
      s = formatFloat(v, "f", spec.prec ?? 6);
      break;
    default:
      return badVerb(verb, v);
  }
  if (s === "+Inf" && !spec.plus) s = spec.space ? " Inf" : "+Inf";
  else if (!s.startsWith("-") && !s.startsWith("+")) {
    if (spec.plus) s = `+${s}`;
    else if (spec.space) s = ` ${s}`;
  }
  return pad(s, spec, Number.isFinite(v));
}

function formatString(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case "v":
    case "s": {
      const str = spec.prec !== undefined ? [...s].slice(0, spec.prec).join("") : s;
      return pad(str, spec);
    }
    case "q":
      return pad(quote(spec.prec !== undefined ? [...s].slice(0, spec.prec).join("") : s), spec);
    case "x":
    case "X": {
      const hex = [...utf8Bytes(s)].map((b) => {
        const h = b.toString(16).padStart(2, "0");
        return verb === "X" ? h.toUpperCase() : h;
      });
      const pre = spec.sharp ? (verb === "X" ? "0X" : "0x") : "";
      return pad(spec.space ? hex.map((h) => pre + h).join(" ") : pre + hex.join(""), spec);
    }
    default:
      return badVerb(verb, s);
  }
}

function formatValue(v: unknown, verb: string, spec: Spec, depth = 0): string {
  if (verb === "T") return pad(goTypeName(v), spec);
  if (v === null || v === undefined) return verb === "v" ? pad("<nil>", spec) : badVerb(verb, v);
  switch (typeof v) {
    case "boolean":
      return verb === "t" || verb === "v" ? pad(String(v), spec) : badVerb(verb, v);
    case "bigint":
      return formatInt(v, verb, spec);
    case "number":
      return formatFloatVerb(v, verb, spec);
    case "string":
      return formatString(v, verb, spec);
    case "function":
      return verb === "v" || verb === "p" ? pad("0x1", spec) : badVerb(verb, v);
  }
  if (depth > 32) return "...";
  if ("vsqxX".includes(verb)) {
    const s = stringerOf(v);
    if (s !== undefined) return formatString(s, verb === "v" ? "s" : verb, spec);
  }
  if (Array.isArray(v)) return pad(`[${v.map((x) => formatValue(x, verb, PLAIN, depth + 1)).join(" ")}]`, spec);
  if (v instanceof Uint8Array) return pad(`[${[...v].join(" ")}]`, spec);
  if (isMapValue(v)) {
    const parts = sortedEntries(v).map(([k, x]) => `${formatValue(k, verb, PLAIN, depth + 1)}:${formatValue(x, verb, PLAIN, depth + 1)}`);
    return pad(`map[${parts.join(" ")}]`, spec);
  }
  if ((v as { [GO_TYPE]?: unknown })[GO_TYPE] === undefined && v instanceof Error) return formatString(v.message, verb === "v" ? "s" : verb, spec);
  const fields = Object.keys(v).map((k) => {
    const x = (v as Record<string, unknown>)[k];
    return spec.plus ? `${k}:${formatValue(x, verb, PLAIN, depth + 1)}` : formatValue(x, verb, PLAIN, depth + 1);
  });
  // Values whose Go type is a pointer print as Go prints pointers to structs: &{…}.
  const pointer = depth === 0 && goTypeName(v).startsWith("*") ? "&" : "";
  return pad(`${pointer}{${fields.join(" ")}}`, spec);
}

/**
 * Formats one value with `%v`, as Go's `fmt.Sprint(v)` does.
 *
 * @example formatPlain(1234567) // "1.234567e+06"
 * @example formatPlain(3n)      // "3"
 */
export function formatPlain(v: unknown): string {
  return formatValue(v, "v", PLAIN);
}

/**
 * Go's `fmt.Sprint`: operands formatted with `%v`, with a space between
 * two operands when neither is a string.
 */
export function sprint(args: readonly unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatPlain(a);
  });
  return out;
}

/** Go's `fmt.Sprintln`: operands with `%v`, always space-separated, newline-terminated. */
export function sprintln(args: readonly unknown[]): string {
  return `${args.map(formatPlain).join(" ")}\n`;
}

function toInt(v: unknown): number | undefined {
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

/**
 * Go's `fmt.Sprintf`.
 *
 * @example sprintf("%.2f%%", [12.3456]) // "12.35%"
 * @example sprintf("%5d|%-4s|", [42n, "ab"]) // "   42|ab  |"
 */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = "";
  let argi = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false, width: undefined, prec: undefined };
    for (; i < n; i++) {
      const c = format[i];
      if (c === "+") spec.plus = true;
      else if (c === "-") spec.minus = true;
      else if (c === "#") spec.sharp = true;
      else if (c === " ") spec.space = true;
      else if (c === "0") spec.zero = true;
      else break;
    }
    let badWidth = false;
    if (format[i] === "*") {
      i++;
      const w = toInt(args[argi++]);
      if (w === undefined) badWidth = true;
      else if (w < 0) {
        spec.minus = true;
        spec.width = -w;
      } else spec.width = w;
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === ".") {
      i++;
      if (format[i] === "*") {
        i++;
        const p = toInt(args[argi++]);
        spec.prec = p === undefined || p < 0 ? undefined : p;
        if (p === undefined) out += "%!(BADPREC)";
      } else {
        const m = /^\d+/.exec(format.slice(i));
        spec.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (badWidth) out += "%!(BADWIDTH)";
    if (i >= n) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    if (verb === "v" && spec.sharp) spec.sharp = false;
    out += formatValue(arg, verb, spec);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((a) => (a === null || a === undefined ? "<nil>" : `${goTypeName(a)}=${formatPlain(a)}`));
    out += `%!(EXTRA ${extra.join(", ")})`;
  }
  return out;
}
