/**
 * Resolving label matchers to series refs with Prometheus's semantics
 * (`tsdb.PostingsForMatchers`): a matcher that matches the empty string also
 * selects series that lack the label, so it contributes "all series except
 * those whose value fails it"; the others contribute the union of the
 * postings of the values they accept. Lists are intersected smallest first.
 *
 * @example
 * postingsForMatchers(index, allRefs, [newMatcher("=", "job", "a"), newMatcher("!=", "env", "prod")]);
 */
import type { Matcher } from "../../model/index.ts";
import { intersectPostings, mergePostings, withoutPostings, type MemPostings } from "./postings.ts";

/** Literal alternatives (`a|b|c`, plain characters only) of a regex, or null. */
export function literalAlternatives(pattern: string): string[] | null {
  if (!/^[A-Za-z0-9_:\-\/ ,=@]+(?:\|[A-Za-z0-9_:\-\/ ,=@]+)*$/.test(pattern)) return null;
  return pattern.split("|");
}

/** Sorted refs of series whose value of `m.name` is non-empty and matched by `m` (or not, when `accept` is false). */
function postingsForValues(ix: MemPostings, m: Matcher, accept: boolean): number[] {
  if ((m.type === "=" && accept) || (m.type === "!=" && !accept)) return [...ix.get(m.name, m.value)];
  if (m.type === "=~" || m.type === "!~") {
    const lits = literalAlternatives(m.value);
    if (lits && (m.type === "=~") === accept) return mergePostings(lits.map((v) => ix.get(m.name, v)));
  }
  const values = ix.values(m.name);
  if (!values) return [];
  const lists: (readonly number[])[] = [];
  for (const [v, e] of values) if (m.matches(v) === accept) lists.push(e.refs);
  return mergePostings(lists);
}

/**
 * Sorted refs of the series matching every matcher. `all` returns every
 * live ref (sorted); it is only called when no matcher narrows the set.
 */
export function postingsForMatchers(ix: MemPostings, all: () => number[], matchers: readonly Matcher[]): number[] {
  const its: number[][] = [];
  const notIts: number[][] = [];
  for (const m of matchers) {
    // Only a `.` that matches "\n" accepts every value (Go's `.*` stops at a newline).
    if (m.type === "=~" && (m.value === "(?s:.*)" || m.value === "(?s).*")) continue;
    if (m.matches("")) {
      notIts.push(postingsForValues(ix, m, false));
    } else {
      const list = postingsForValues(ix, m, true);
      if (list.length === 0) return [];
      its.push(list);
    }
  }
  const base = its.length > 0 ? intersectPostings(its) : all();
  if (notIts.length === 0) return base;
  return withoutPostings(base, mergePostings(notIts));
}
