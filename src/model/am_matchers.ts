/**
 * Alertmanager's matcher syntax, used by `matchers:` in routes and inhibit
 * rules and by amtool/API filters: `foo="bar"`, `foo=~"x|y"`, `foo!=bar`
 * (unquoted values run to the next comma), and lists like
 * `{foo="bar", baz!~"qux.*"}`. Regexes are fully anchored RE2, as in
 * Prometheus, and a missing label matches as "".
 *
 * @example
 * const ms = parseMatchers('{severity=~"critical|page", team!=ops}');
 * ms.every((m) => m.matches(getLabel(labels, m.name)));
 */
import type { Labels } from "./labels.ts";
import { newMatcher, type Matcher, type MatchType } from "./matchers.ts";

const OPERATORS: readonly MatchType[] = ["=~", "!~", "!=", "="];

/** Reads a double-quoted string starting at `text[start] === '"'`; returns the value and the index after it. */
function readQuoted(text: string, start: number, what: string): { value: string; end: number } {
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const next = text[++i];
      if (next === undefined) break;
      value += next === "n" ? "\n" : next === "t" ? "\t" : next;
    } else if (c === '"') {
      return { value, end: i + 1 };
    } else {
      value += c;
    }
  }
  throw new Error(`${what}: missing closing quote in ${JSON.stringify(text)}`);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/**
 * Parses one matcher list: optional braces, matchers separated by commas
 * (a trailing comma is fine). Throws `Error` naming the bad part.
 *
 * @example parseMatchers('foo="bar",baz=~"a|b"').length // 2
 */
export function parseMatchers(input: string): Matcher[] {
  let text = input.trim();
  if (text.startsWith("{")) {
    if (!text.endsWith("}")) throw new Error(`bad matcher format: missing closing "}" in ${JSON.stringify(input)}`);
    text = text.slice(1, -1);
  } else if (text.endsWith("}")) {
    throw new Error(`bad matcher format: missing opening "{" in ${JSON.stringify(input)}`);
  }
  const out: Matcher[] = [];
  let i = skipSpace(text, 0);
  while (i < text.length) {
    let name: string;
    if (text[i] === '"') {
      const q = readQuoted(text, i, "bad matcher format");
      name = q.value;
      i = q.end;
    } else {
      const m = /^[^\s=!~,"{}]+/.exec(text.slice(i));
      if (!m) throw new Error(`bad matcher format: expected a label name at ${JSON.stringify(text.slice(i))}`);
      name = m[0];
      i += name.length;
    }
    i = skipSpace(text, i);
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw new Error(`bad matcher format: expected one of =, !=, =~, !~ after ${JSON.stringify(name)} in ${JSON.stringify(input)}`);
    i = skipSpace(text, i + op.length);
    let value: string;
    if (text[i] === '"') {
      const q = readQuoted(text, i, "bad matcher format");
      value = q.value;
      i = skipSpace(text, q.end);
    } else {
      const end = text.indexOf(",", i);
      value = (end < 0 ? text.slice(i) : text.slice(i, end)).trim();
      i = end < 0 ? text.length : end;
    }
    if (i < text.length && text[i] !== ",") {
      throw new Error(`bad matcher format: unexpected ${JSON.stringify(text.slice(i))} after matcher ${name}`);
    }
    i = skipSpace(text, i + 1);
    if (name === "") throw new Error(`bad matcher format: empty label name in ${JSON.stringify(input)}`);
    try {
      out.push(newMatcher(op, name, value));
    } catch (e) {
      throw new Error(`invalid regular expression ${JSON.stringify(value)} for ${name}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Parses exactly one matcher (the API's silence matcher form); throws if the
 * text holds none or several.
 */
export function parseMatcher(input: string): Matcher {
  const ms = parseMatchers(input);
  if (ms.length !== 1) throw new Error(`bad matcher format: expected one matcher in ${JSON.stringify(input)}, got ${ms.length}`);
  return ms[0]!;
}

/** Whether every matcher accepts `labels` (missing labels match as ""). */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) {
    let value = "";
    for (const l of labels) if (l.name === m.name) { value = l.value; break; }
    if (!m.matches(value)) return false;
  }
  return true;
}

function quoteName(name: string): string {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) ? name : JSON.stringify(name);
}

/** Renders one matcher as Alertmanager does: `name="value"` (Go quoting). */
export function formatMatcher(m: Matcher): string {
  return `${quoteName(m.name)}${m.type}${JSON.stringify(m.value)}`;
}

/**
 * Renders a matcher list as Alertmanager's `labels.Matchers.String()`:
 * `{a="b",c=~"d"}`, no spaces — the form route keys are built from.
 */
export function formatMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map(formatMatcher).join(",")}}`;
}

/**
 * Orders matchers as Alertmanager sorts a route's matchers: by name, then
 * value, then operator.
 */
export function compareMatchers(a: Matcher, b: Matcher): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  const order = ["=", "!=", "=~", "!~"];
  return order.indexOf(a.type) - order.indexOf(b.type);
}
