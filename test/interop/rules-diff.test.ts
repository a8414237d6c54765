/**
 * Differential test of rule-file validation: a seeded corpus of rule files
 * (valid ones, field mutations, bad PromQL, bad templates, YAML edge
 * cases) goes through the real `promtool check rules` (2.42, one process)
 * and promts's `checkRuleFiles`; the verdicts must match except where the
 * table names a Prometheus version difference (promts follows 3.x).
 * promts's failure messages must say FILE:LINE:COL and the rule.
 *
 * Without promtool the test passes with a loud SKIPPED, unless
 * PROMTS_REQUIRE_PEERS=1. PROMTS_DIFF_SEED changes the random part.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ruleCorpus } from "./fixtures/config-diff/corpus.ts";
import { compare, runPromtool, runPromts, writeCorpus, type Comparison } from "./fixtures/config-diff/harness.ts";
import { formatTable, judge, unlocatedMessages, type KnownDifference } from "./fixtures/config-diff/verdicts.ts";
import { peerAvailable } from "../support/peers.ts";

const promtool = Bun.which("promtool");
const SEED = Number(process.env.PROMTS_DIFF_SEED ?? 1);

function available(): boolean {
  return peerAvailable(promtool, "promtool", "promtool not installed (apt-get install prometheus); rules differential test not run");
}

/**
 * Disagreements explained by a Prometheus version difference. Each entry
 * names the difference; everything not listed must agree.
 */
const KNOWN_DIFFERENCES: KnownDifference[] = [
  { match: /^rules:group-with:groups\[0\]\.query_offset=/, promtool: "reject", why: "rule group query_offset was added in Prometheus 2.53" },
  { match: /^rules:group-with:groups\[0\]\.labels=/, promtool: "reject", why: "rule group labels were added in Prometheus 3.x" },
  { match: /^rules:expr\d+="holt_winters\(/, promtool: "accept", why: "holt_winters was renamed double_exponential_smoothing in Prometheus 3.0" },
  { match: /^rules:expr\d+="(sort_by_label|info|limitk|double_exponential_smoothing)\(/, promtool: "reject", why: "PromQL functions added after 2.42 (Prometheus 2.51–3.x)" },
  { match: /^rules:expr\d+="up\{job=~\\"\(\?<n>a\)\\"\}"$/, promtool: "reject", why: "Prometheus 3 (Go ≥ 1.22 regexp) accepts (?<name>…) groups; 2.42 (Go 1.19) does not" },
  { match: /^rules:(annotation|label-template)\d+="\{\{ now \}\}"$/, promtool: "reject", why: "the template function now was added after 2.42, in the Prometheus 3 line" },
  { match: /(\.expr|:expr\d+)="\s*-?(\d+(ms|[smhdwy]))+\s*"$/, promtool: "reject", why: "Prometheus 3 reads a bare duration (1m) as a number literal in seconds; 2.42 does not" },
];

let dir = "";
let comparisons: Comparison[] = [];

beforeAll(() => {
  if (!promtool) return;
  dir = mkdtempSync(join(tmpdir(), "promts-rules-diff-"));
  const cases = ruleCorpus(SEED);
  const files = writeCorpus(dir, cases);
  comparisons = compare(cases, files, runPromtool(promtool, "rules", dir, files), runPromts("rules", dir, files));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("rule-file validation against promtool 2.42", () => {
  test("the corpus is large and both verdicts occur", () => {
    if (!available()) return;
    expect(comparisons.length).toBeGreaterThan(500);
    expect(comparisons.filter((c) => c.promtool.accepted).length).toBeGreaterThan(200);
    expect(comparisons.filter((c) => !c.promtool.accepted).length).toBeGreaterThan(200);
    expect(comparisons.find((c) => c.case.name === "rules:base")?.promtool.accepted).toBe(true);
  });

  test("promts accepts and rejects the same files, version differences aside", () => {
    if (!available()) return;
    const { unexplained, stale, overclaimed } = judge(comparisons, KNOWN_DIFFERENCES);
    if (unexplained.length > 0) console.error(`Unexplained disagreements (files in ${dir}):\n${formatTable(unexplained)}`);
    if (overclaimed.length > 0) console.error(`Known-difference entries matching agreeing cases:\n${formatTable(overclaimed)}`);
    expect(unexplained.map((c) => c.case.name)).toEqual([]);
    expect(overclaimed.map((c) => c.case.name)).toEqual([]);
    expect(stale.map((k) => k.why)).toEqual([]);
  });

  test("every promts rejection says FILE:LINE:COL and the rule or field", () => {
    if (!available()) return;
    const unlocated = unlocatedMessages(comparisons);
    if (unlocated.length > 0) console.error(`Messages without a place:\n${formatTable(unlocated)}`);
    expect(unlocated.map((c) => c.case.name)).toEqual([]);
  });
});
