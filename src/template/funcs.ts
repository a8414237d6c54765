/**
 * Template functions: how a JS function declares Go parameter types, and
 * Go's predefined functions (and, or, not, len, index, slice, print,
 * printf, println, html, js, urlquery, call, eq, ne, lt, le, gt, ge).
 */

import { sprint, sprintf, sprintln } from "./fmt.ts";
import { goTypeName, isMapValue, isTrue, mapGet, mapSize, utf8Bytes, utf8Length } from "./values.ts";

/**
 * A Go parameter type, checked before the call with Go's messages
 * (`wrong type for value; expected string; got float64`):
 * - "any": `interface{}` — a missing value arrives as `null`;
 * - "value": `reflect.Value` — passed untouched, `undefined` stays "no value";
 * - "string", "float64", "int" (bigint), "bool", "[]string";
 * - a named predicate for class types (`{ name: "time.Time", test: (v) => v instanceof GoTime }`).
 */
export type ParamType = "any" | "value" | "string" | "float64" | "int" | "bool" | "[]string" | { name: string; test(v: unknown): boolean };

/** What a function may use of the running template (for functions like Prometheus's `tmpl`). */
export interface ExecContext {
  /** Runs another template of the same set with the given data and returns its output. */
  executeTemplate(name: string, data: unknown): Promise<string>;
}

/** The Go signature of a template function: fixed parameters and, if variadic, the type of the rest. */
export interface FuncSignature {
  params: readonly ParamType[];
  variadic?: ParamType;
}

/**
 * A function callable from templates. Its arguments are template values
 * (see values.ts); it may return a value or a Promise of one, and reports
 * failure by throwing (shown as `error calling NAME: MESSAGE`). Without a
 * `signature`, arguments are passed unchecked.
 */
export type TemplateFunc = ((this: ExecContext, ...args: any[]) => unknown) & { signature?: FuncSignature };

/** Functions by name, as Go's `template.FuncMap`. */
export type FuncMap = Readonly<Record<string, TemplateFunc>>;

/**
 * Gives a function Go parameter types so calls are checked as Go checks them.
 *
 * @example
 * const toUpper = typedFunc(["string"], (s: string) => s.toUpperCase());
 */
export function typedFunc<F extends (this: ExecContext, ...args: any[]) => unknown>(params: readonly ParamType[], fn: F, variadic?: ParamType): F & { signature: FuncSignature } {
  const f = fn as F & { signature: FuncSignature };
  f.signature = { params, ...(variadic !== undefined ? { variadic } : {}) };
  return f;
}

/** The name of a parameter type in Go's words. */
export function paramTypeName(t: ParamType): string {
  if (typeof t === "object") return t.name;
  if (t === "any") return "interface {}";
  if (t === "value") return "reflect.Value";
  return t;
}

function basicKind(v: unknown): "bool" | "int" | "float" | "string" | "invalid" | "other" {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "string";
  }
  return v === undefined || v === null ? "invalid" : "other";
}

const ERR_BAD_COMPARISON_TYPE = "invalid type for comparison";
const ERR_BAD_COMPARISON = "incompatible types for comparison";
const ERR_NO_COMPARISON = "missing argument for comparison";

function eq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error(ERR_NO_COMPARISON);
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth: boolean;
    if (k1 !== k2) {
      if (k1 !== "invalid" && k2 !== "invalid") throw new Error(ERR_BAD_COMPARISON);
      truth = false;
    } else if (k1 === "invalid") {
      truth = true;
    } else if (k1 === "other") {
      if (Array.isArray(arg1) || isMapValue(arg1) || typeof arg1 === "function") throw new Error(`non-comparable type ${goTypeName(arg1)}`);
      truth = arg1 === arg;
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

function lt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  const k2 = basicKind(arg2);
  if (k1 === "invalid" || k1 === "other" || k2 === "invalid" || k2 === "other") throw new Error(ERR_BAD_COMPARISON_TYPE);
  if (k1 !== k2) throw new Error(ERR_BAD_COMPARISON);
  if (k1 === "bool") throw new Error(ERR_BAD_COMPARISON_TYPE);
  return (arg1 as string | number | bigint) < (arg2 as string | number | bigint);
}

function indexArg(index: unknown, cap: number): number {
  if (typeof index !== "bigint") {
    if (index === undefined || index === null) throw new Error("cannot index slice/array with nil");
    throw new Error(`cannot index slice/array with type ${goTypeName(index)}`);
  }
  if (index < 0n || index > BigInt(cap)) throw new Error(`index out of range: ${index}`);
  return Number(index);
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error("index of untyped nil");
  let cur: unknown = item;
  for (const ix of indexes) {
    if (cur === undefined || cur === null) throw new Error("index of nil pointer");
    if (typeof cur === "string" || Array.isArray(cur)) {
      const len = typeof cur === "string" ? utf8Length(cur) : cur.length;
      const x = indexArg(ix, len);
      if (x >= len) throw new Error(`index out of range: ${x}`);
      cur = typeof cur === "string" ? BigInt(utf8Bytes(cur)[x]!) : cur[x];
    } else if (isMapValue(cur)) {
      if (!(cur instanceof Map) && typeof ix !== "string") throw new Error(`value has type ${goTypeName(ix)}; should be string`);
      cur = mapGet(cur, ix);
    } else {
      throw new Error(`can't index item of type ${goTypeName(cur)}`);
    }
  }
  return cur;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error("slice of untyped nil");
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === "string") {
    if (indexes.length === 3) throw new Error("cannot 3-index slice a string");
    len = utf8Length(item);
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new Error(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len);
  });
  if (idx[0]! > idx[1]!) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === "string") return new TextDecoder().decode(utf8Bytes(item).subarray(idx[0], idx[1]));
  return item.slice(idx[0], idx[1]);
}

function length(item: unknown): bigint {
  if (typeof item === "string") return BigInt(utf8Length(item));
  if (Array.isArray(item)) return BigInt(item.length);
  if (isMapValue(item)) return BigInt(mapSize(item));
  if (item === null || item === undefined) throw new Error("len of nil pointer");
  throw new Error(`len of type ${goTypeName(item)}`);
}

/** Go's `fmt.Sprint` of the arguments, except that a lone string is used as is. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  return sprint(args.map((a) => (a === undefined || a === null ? "<no value>" : a)));
}

/**
 * Go's `template.HTMLEscapeString`.
 *
 * @example htmlEscape(`<a href="x">`) // "&lt;a href=&#34;x&#34;&gt;"
 */
export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => {
    switch (c) {
      case "\0":
        return "\uFFFD";
      case '"':
        return "&#34;";
      case "'":
        return "&#39;";
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      default:
        return "&gt;";
    }
  });
}

const JS_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's `template.JSEscapeString`. */
export function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case "\\":
        out += "\\\\";
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case "<":
        out += "\\u003C";
        continue;
      case ">":
        out += "\\u003E";
        continue;
      case "&":
        out += "\\u0026";
        continue;
      case "=":
        out += "\\u003D";
        continue;
    }
    if (cp < 0x20) out += `\\u00${cp.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (cp < 0x80 || JS_PRINTABLE.test(ch)) out += ch;
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return out;
}

/**
 * Go's `url.QueryEscape`: space as `+`, unreserved bytes kept, the rest `%XX`.
 *
 * @example queryEscape("a b&c") // "a+b%26c"
 */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8Bytes(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function call(fn: unknown, ...args: unknown[]): unknown {
  if (fn === undefined || fn === null) throw new Error("call of nil");
  if (typeof fn !== "function") throw new Error(`non-function of type ${goTypeName(fn)}`);
  return fn(...args);
}

/**
 * Go's predefined template functions. `and` and `or` are listed for
 * arity checking; the executor evaluates their arguments lazily.
 */
export const BUILTINS: FuncMap = {
  and: typedFunc(["value"], (...args: unknown[]) => args.find((a) => !isTrue(a)) ?? args[args.length - 1], "value"),
  or: typedFunc(["value"], (...args: unknown[]) => args.find((a) => isTrue(a)) ?? args[args.length - 1], "value"),
  not: typedFunc(["value"], (a: unknown) => !isTrue(a)),
  len: typedFunc(["value"], length),
  index: typedFunc(["value"], index, "value"),
  slice: typedFunc(["value"], slice, "value"),
  print: typedFunc([], (...args: unknown[]) => sprint(args), "any"),
  printf: typedFunc(["string"], (format: string, ...args: unknown[]) => sprintf(format, args), "any"),
  println: typedFunc([], (...args: unknown[]) => sprintln(args), "any"),
  html: typedFunc([], (...args: unknown[]) => htmlEscape(evalArgs(args)), "any"),
  js: typedFunc([], (...args: unknown[]) => jsEscape(evalArgs(args)), "any"),
  urlquery: typedFunc([], (...args: unknown[]) => queryEscape(evalArgs(args)), "any"),
  call: typedFunc(["value"], call, "value"),
  eq: typedFunc(["value"], eq, "value"),
  ne: typedFunc(["value", "value"], (a: unknown, b: unknown) => !eq(a, b)),
  lt: typedFunc(["value", "value"], lt),
  le: typedFunc(["value", "value"], (a: unknown, b: unknown) => lt(a, b) || eq(a, b)),
  gt: typedFunc(["value", "value"], (a: unknown, b: unknown) => !(lt(a, b) || eq(a, b))),
  ge: typedFunc(["value", "value"], (a: unknown, b: unknown) => !lt(a, b)),
};
