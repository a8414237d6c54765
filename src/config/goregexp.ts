/**
 * The gap between RE2 and Go's regexp package that matters for config
 * validation: Prometheus compiles every regex (relabel rules, PromQL
 * matchers) with Go's regexp, which refuses `\C` (match any byte); RE2
 * proper, and the model room's compiler, accept it.
 */

/**
 * Go's error for a regex its regexp package refuses although RE2 accepts
 * it, or undefined.
 *
 * @example goRegexpProblem("a\\C") // "error parsing regexp: invalid escape sequence: `\\C`"
 */
export function goRegexpProblem(regex: string): string | undefined {
  for (let i = 0; i < regex.length - 1; i++) {
    if (regex[i] !== "\\") continue;
    if (regex[i + 1] === "C") return "error parsing regexp: invalid escape sequence: `\\C`";
    i++;
  }
  return undefined;
}
