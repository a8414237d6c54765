/**
 * `promts tool check rules`: promtool's `check rules`, with its lines of
 * output so scripts grepping for SUCCESS/FAILED keep working.
 */
import { readRuleFile } from "./rulefile.ts";

/**
 * Checks each rule file and writes the report to `out` line by line:
 * `Checking FILE`, then `  SUCCESS: N rules found` or `  FAILED:` followed by
 * one `FILE:LINE:COL: …` line per problem, and a blank line. Returns the
 * exit code: 0 when every file is valid, 1 otherwise.
 *
 * @example
 * process.exitCode = checkRuleFiles(["rules.yml"], (l) => console.log(l));
 */
export function checkRuleFiles(paths: readonly string[], out: (line: string) => void): number {
  let failed = false;
  for (const path of paths) {
    out(`Checking ${path}`);
    const { groups, errors } = readRuleFile(path);
    if (errors.length > 0) {
      failed = true;
      out("  FAILED:");
      for (const e of errors) out(e.message);
    } else {
      const n = groups.reduce((sum, g) => sum + g.rules.length, 0);
      out(`  SUCCESS: ${n} rules found`);
    }
    out("");
  }
  return failed ? 1 : 0;
}
