/**
 * Go literal syntax used inside template actions: numbers (`0x1F`, `1e3`,
 * `1_000`, `'a'`) and quoted strings (`"a\tb"`, raw `` `a\b` ``), read the
 * way Go's `strconv` reads them.
 */

import type { NumberNode } from "./ast.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const INT_RE = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/;
const DEC_FLOAT_RE = /^[+-]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?$/;
const HEX_FLOAT_RE = /^([+-]?)0[xX]([0-9a-fA-F_]*)\.?([0-9a-fA-F_]*)[pP]([+-]?\d[\d_]*)$/;

function parseGoInt(text: string): bigint | undefined {
  const m = INT_RE.exec(text);
  if (!m) return undefined;
  let body = m[2]!.replace(/_/g, "");
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  if (/^0[oO]/.test(body)) body = `0o${body.slice(2)}`;
  const v = BigInt(body) * (m[1] === "-" ? -1n : 1n);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

function parseGoFloat(text: string): number | undefined {
  if (DEC_FLOAT_RE.test(text)) return Number(text.replace(/_/g, ""));
  const h = HEX_FLOAT_RE.exec(text);
  if (!h) return undefined;
  const intPart = h[2]!.replace(/_/g, "");
  const fracPart = h[3]!.replace(/_/g, "");
  if (intPart === "" && fracPart === "") return undefined;
  const mant = Number.parseInt(`${intPart}${fracPart}` || "0", 16);
  const v = mant * 2 ** (Number(h[4]!.replace(/_/g, "")) - 4 * fracPart.length);
  return h[1] === "-" ? -v : v;
}

/**
 * Reads a number or character constant token into Go's dual int/float
 * reading. Throws with Go's message for bad syntax or int overflow.
 */
export function parseNumber(pos: number, text: string, isChar: boolean): NumberNode {
  const node: NumberNode = { kind: "number", pos, text, isInt: false, isFloat: false, isRune: isChar, int: 0n, float: 0 };
  if (isChar) {
    const s = unquote(text);
    const cps = [...s];
    if (cps.length !== 1) throw new Error(`malformed character constant: ${text}`);
    const cp = cps[0]!.codePointAt(0)!;
    node.isInt = node.isFloat = true;
    node.int = BigInt(cp);
    node.float = cp;
    return node;
  }
  if (text.endsWith("i")) throw new Error(`complex constants are not supported: ${JSON.stringify(text)}`);
  const i = parseGoInt(text);
  if (i !== undefined) {
    node.isInt = node.isFloat = true;
    node.int = i;
    node.float = Number(i);
    return node;
  }
  const f = parseGoFloat(text);
  if (f !== undefined) {
    if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`);
    node.isFloat = true;
    node.float = f;
    if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
      node.isInt = true;
      node.int = BigInt(f);
    }
    return node;
  }
  throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 };
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals.
 * Throws `invalid syntax` like Go for bad escapes.
 *
 * @example unquote('"a\\tb"') // "a\tb"
 */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new Error("invalid syntax");
  const body = lit.slice(1, -1);
  if (q === "`") return body.replace(/\r/g, "");
  if (q !== '"' && q !== "'") throw new Error("invalid syntax");
  const bytes: number[] = [];
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === q || c === "\n") throw new Error("invalid syntax");
    if (c !== "\\") {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of encoder.encode(ch)) bytes.push(b);
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new Error("invalid syntax");
    i += 2;
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!);
    } else if (e === q) {
      bytes.push(q.charCodeAt(0));
    } else if (e === "x") {
      const h = body.slice(i, i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error("invalid syntax");
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else if (e >= "0" && e <= "7") {
      const o = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(o) || Number.parseInt(o, 8) > 255) throw new Error("invalid syntax");
      bytes.push(Number.parseInt(o, 8));
      i += 2;
    } else if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      const h = body.slice(i, i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error("invalid syntax");
      const cp = Number.parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error("invalid syntax");
      for (const b of encoder.encode(String.fromCodePoint(cp))) bytes.push(b);
      i += n;
    } else {
      throw new Error("invalid syntax");
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}
