/**
 * Go's `regexp` as template functions use it: RE2 syntax (through the
 * model room's translator), unanchored matching, `.` not matching a newline
 * unless `(?s)`, and `ReplaceAllString` with Go's `$1`/`${name}` expansion
 * and its rule that an empty match right after a match is not replaced.
 */

import { translateRE2 } from "../model/index.ts";
import { quote } from "./fmt.ts";

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 256;

/** Compiles an RE2 pattern with Go's unanchored semantics; throws Go's `error parsing regexp: …`. */
export function compileGoRegexp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  translateRE2(pattern); // reports syntax errors against the pattern as written
  re = new RegExp(translateRE2(`(?-s)${pattern}`), "gu");
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(pattern, re);
  return re;
}

/** Go's `regexp.MatchString`: whether `text` contains a match of `pattern`. */
export function matchString(pattern: string, text: string): boolean {
  const re = compileGoRegexp(pattern);
  re.lastIndex = 0;
  return re.test(text);
}

/** Go's `regexp.MustCompile` failure message: "regexp: Compile(`x`): error parsing regexp: …". */
export function mustCompile(pattern: string): RegExp {
  try {
    return compileGoRegexp(pattern);
  } catch (e) {
    const q = !pattern.includes("`") && !/[\x00-\x08\x0a-\x1f\x7f]/.test(pattern) ? `\`${pattern}\`` : quote(pattern);
    throw new Error(`regexp: Compile(${q}): ${(e as Error).message}`);
  }
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Appends the expansion of a Go replacement template (`$1`, `${1}`, `$name`, `$$`) for one match. */
function expand(template: string, m: RegExpExecArray): string {
  let out = "";
  let rest = template;
  for (;;) {
    const d = rest.indexOf("$");
    if (d < 0) break;
    out += rest.slice(0, d);
    rest = rest.slice(d + 1);
    if (rest.startsWith("$")) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    let s = rest;
    const brace = s.startsWith("{");
    if (brace) s = s.slice(1);
    let i = 0;
    while (i < s.length) {
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      if (!NAME_CHAR.test(ch)) break;
      i += ch.length;
    }
    if (i === 0 || (brace && s[i] !== "}")) {
      out += "$";
      continue;
    }
    const name = s.slice(0, i);
    rest = s.slice(brace ? i + 1 : i);
    let num = -1;
    if (/^\d+$/.test(name) && !(name.length > 1 && name[0] === "0") && name.length <= 8) num = Number(name);
    if (num >= 0) out += m[num] ?? "";
    else out += m.groups?.[name] ?? "";
  }
  return out + rest;
}

/**
 * Go's `Regexp.ReplaceAllString`.
 *
 * @example replaceAllString("localhost:(.*)", "my.domain:$1", "localhost:3000") // "my.domain:3000"
 * @example replaceAllString("b*", "X", "abc") // "XaXcX"
 */
export function replaceAllString(pattern: string, repl: string, src: string): string {
  const re = mustCompile(pattern);
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    re.lastIndex = searchPos;
    const m = re.exec(src);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += src.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expand(repl, m);
    lastMatchEnd = end;
    const width = searchPos < src.length ? String.fromCodePoint(src.codePointAt(searchPos)!).length : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + src.slice(lastMatchEnd);
}

/**
 * Go's `regexp.QuoteMeta`: escapes every regexp metacharacter.
 *
 * @example quoteMeta("a.b") // "a\\.b"
 */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}
