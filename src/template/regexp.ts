/**
 * Go's `regexp` as template functions use it: RE2 syntax and linear-time
 * matching (the model room's compileRE2Search), unanchored matching, `.` not
 * matching a newline unless `(?s)`, and `ReplaceAllString` with Go's
 * `$1`/`${name}` expansion and its rule that an empty match right after a
 * match is not replaced.
 */

import { expandRegexpTemplate, quoteMeta } from "../base/index.ts";
import { compileRE2Search, type RE2Search } from "../model/index.ts";
import { quote } from "./fmt.ts";

/** Compiles an RE2 pattern with Go's unanchored semantics (cached by the model room); throws Go's `error parsing regexp: …`. */
export function compileGoRegexp(pattern: string): RE2Search {
  return compileRE2Search(pattern);
}

/** Go's `regexp.MatchString`: whether `text` contains a match of `pattern`. */
export function matchString(pattern: string, text: string): boolean {
  return compileGoRegexp(pattern).test(text);
}

/** Go's `regexp.MustCompile` failure message: "regexp: Compile(`x`): error parsing regexp: …". */
export function mustCompile(pattern: string): RE2Search {
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
    const m = re.find(src, searchPos);
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
