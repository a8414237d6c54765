/**
 * Label matchers with Prometheus's semantics: `=`, `!=`, `=~`, `!~`; regexes
 * are fully anchored and follow RE2 syntax; a missing label matches as "".
 *
 * @example
 * const m = newMatcher("=~", "job", "node|api");
 * m.matches("node"); // true
 */
import { compileRE2 } from "./re2.ts";

export type MatchType = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** Whether a label value (``""`` for a missing label) satisfies the matcher. */
  matches(v: string): boolean;
}

/** Creates a matcher; throws `Error` with a readable message for an invalid regex. */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  switch (type) {
    case "=":
      return { type, name, value, matches: (v) => v === value };
    case "!=":
      return { type, name, value, matches: (v) => v !== value };
    case "=~": {
      const re = compileRE2(value);
      return { type, name, value, matches: (v) => re.test(v) };
    }
    case "!~": {
      const re = compileRE2(value);
      return { type, name, value, matches: (v) => !re.test(v) };
    }
  }
}

/** Renders a matcher as PromQL does: name="value" with Go-style quoting. */
export function matcherString(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}
