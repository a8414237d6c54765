/**
 * Go's `regexp` as template functions use it: RE2 syntax (through the
 * model room's translator), unanchored matching, `.` not matching a newline
 * unless `(?s)`, and `ReplaceAllString` with Go's `$1`/`${name}` expansion
 * and its rule that an empty match right after a match is not replaced.
 */

import { expandRegexpTemplate, quoteMeta } from "../base/index.ts";
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
    if (end > lastMatchEnd || start === 0) out += expandRegexpTemplate(repl, m);
    lastMatchEnd = end;
    const width = searchPos < src.length ? String.fromCodePoint(src.codePointAt(searchPos)!).length : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + src.slice(lastMatchEnd);
}

/** Go's `regexp.QuoteMeta` (the base room's). */
export { quoteMeta };
