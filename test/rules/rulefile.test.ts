import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRuleFiles, loadRuleFiles, parseRuleFile, RuleFileErrors } from "../../src/rules/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-rulefile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(text: string): string[] {
  return parseRuleFile(text, "r.yml").errors.map((e) => e.message);
}

describe("parseRuleFile", () => {
  test("decodes groups, rules, durations and labels", () => {
    const { groups, errors } = parseRuleFile(
      `groups:
- name: g1
  interval: 30s
  query_offset: 1m
  limit: 5
  labels: {team: a}
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
    labels: {source: rec}
  - alert: Down
    expr: up == 0
    for: 5m
    keep_firing_for: 1m
    labels: {severity: page}
    annotations: {summary: "{{ $labels.instance }} down"}
- name: g2
  rules:
  - record: two
    expr: 2
`,
      "r.yml",
    );
    expect(errors).toEqual([]);
    expect(groups.map((g) => g.name)).toEqual(["g1", "g2"]);
    const g1 = groups[0]!;
    expect(g1).toMatchObject({ file: "r.yml", interval: 30_000, query_offset: 60_000, limit: 5, labels: { team: "a" } });
    expect(g1.rules[1]).toMatchObject({ alert: "Down", record: "", for: 300_000, keep_firing_for: 60_000, labels: { severity: "page" } });
    expect(groups[1]!.interval).toBeUndefined();
    expect(groups[1]!.rules[0]!.expr).toBe("2");
  });

  test("an empty file has no groups", () => {
    expect(parseRuleFile("", "r.yml")).toEqual({ groups: [], errors: [] });
  });

  test("bad expression is reported at the expr with the parse error", () => {
    const errs = errorsOf(`groups:
- name: x
  rules:
  - record: a
    expr: sum(up
`);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^r\.yml:5:11: group "x", rule 1, "a": could not parse expression: 1:7: parse error: /);
  });

  test("collects every rule problem with positions", () => {
    const errs = errorsOf(`groups:
- name: x
  rules:
  - expr: up
  - record: 1bad
    expr: up
  - record: ok
    alert: both
    expr: up
  - alert: A
    expr: up
    labels: {"bad-name": x}
  - record: r
    expr: up
    for: 1m
`);
    expect(errs).toEqual([
      `r.yml:4:5: group "x", rule 1, "": one of 'record' or 'alert' must be set`,
      `r.yml:5:13: group "x", rule 2, "1bad": invalid recording rule name: 1bad`,
      `r.yml:7:13: group "x", rule 3, "ok": only one of 'record' and 'alert' must be set`,
      `r.yml:12:13: group "x", rule 4, "A": invalid label name: bad-name`,
      `r.yml:15:10: group "x", rule 5, "r": invalid field 'for' in recording rule`,
    ]);
  });

  test("duplicate group names and empty names", () => {
    const errs = errorsOf(`groups:
- name: x
  rules: []
- name: x
  rules: []
- rules: []
`);
    expect(errs).toEqual([
      "r.yml:6:3: Groupname must not be empty",
      `r.yml:4:9: groupname: "x" is repeated in the same file`,
    ]);
  });

  test("unknown fields and bad durations stop decoding with a position", () => {
    expect(errorsOf("groups:\n- name: x\n  rules:\n  - record: a\n    expr: up\n    colour: red\n")).toEqual([
      "r.yml:6:5: field groups[0].rules[0].colour not found in type rulefmt.Rule",
    ]);
    expect(errorsOf("groups:\n- name: x\n  interval: 5 minutes\n  rules: []\n")[0]).toMatch(/^r\.yml:3:13: field groups\[0\]\.interval: /);
    expect(errorsOf("groups: [\n")[0]).toMatch(/^r\.yml:\d+:\d+: yaml: /);
  });

  test("templates that do not parse are rejected", () => {
    const errs = errorsOf(`groups:
- name: x
  rules:
  - alert: A
    expr: up
    annotations:
      summary: "{{ $labels.instance }"
`);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^r\.yml:7:7: group "x", rule 1, "A": annotation "summary": template: __alert_A:1: /);
  });
});

describe("parseRuleFile matches promtool 2.42 where the differential test found gaps", () => {
  test("record, alert and expr written as null read as their YAML text, like Prometheus's raw nodes", () => {
    const { groups, errors } = parseRuleFile("groups:\n- name: g\n  rules:\n  - record: null\n    expr: null\n", "r.yml");
    expect(errors).toEqual([]);
    expect([groups[0]!.rules[0]!.record, groups[0]!.rules[0]!.expr]).toEqual(["null", "null"]);
    expect(errorsOf("groups:\n- name: g\n  rules:\n  - record: ~\n    expr: up\n")).toEqual(['r.yml:4:5: group "g", rule 1, "~": invalid recording rule name: ~']);
    expect(errorsOf("groups:\n- name: g\n  rules:\n  - record: a\n    expr:\n")).toEqual(['r.yml:5:5: group "g", rule 1, "a": field \'expr\' must be set in rule']);
  });

  test("null groups and null rules are passed over", () => {
    const { groups, errors } = parseRuleFile("groups:\n- null\n- name: g\n  rules:\n  - null\n  - record: a\n    expr: up\n", "r.yml");
    expect(errors).toEqual([]);
    expect(groups.map((g) => [g.name, g.rules.length])).toEqual([["g", 1]]);
  });

  test("template errors name the label or annotation", () => {
    const errs = errorsOf("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      severity: '{{ nosuch }}'\n");
    expect(errs).toEqual(['r.yml:7:7: group "x", rule 1, "A": label "severity": template: __alert_A:1: function "nosuch" not defined']);
  });

  test("regex matchers Go's regexp refuses are parse errors", () => {
    const errs = errorsOf('groups:\n- name: x\n  rules:\n  - record: a\n    expr: \'sum(up{job=~"a\\\\C"})\'\n');
    expect(errs).toEqual(['r.yml:5:11: group "x", rule 1, "a": could not parse expression: 1:8: parse error: error parsing regexp: invalid escape sequence: `\\C`']);
  });

  test("only the first YAML document is read", () => {
    const { groups, errors } = parseRuleFile("groups: [{name: g, rules: []}]\n---\n[[[\n", "r.yml");
    expect(errors).toEqual([]);
    expect(groups.map((g) => g.name)).toEqual(["g"]);
  });
});

describe("loadRuleFiles and checkRuleFiles", () => {
  const good = join(dir, "good.yml");
  const bad = join(dir, "bad.yml");
  writeFileSync(good, "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n  - alert: B\n    expr: up == 0\n");
  writeFileSync(bad, "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up[\n");

  test("globs expand, errors of all files are thrown together", () => {
    expect(loadRuleFiles([join(dir, "good*.yml")]).map((g) => g.file)).toEqual([good]);
    try {
      loadRuleFiles([join(dir, "*.yml"), join(dir, "missing.yml")]);
      throw new Error("expected an error");
    } catch (e) {
      expect(e).toBeInstanceOf(RuleFileErrors);
      const msgs = (e as RuleFileErrors).errors.map((x) => x.message);
      expect(msgs).toHaveLength(2);
      expect(msgs[0]).toStartWith(`${bad}:5:11: group "g", rule 1, "a": could not parse expression`);
      expect(msgs[1]).toBe(`${join(dir, "missing.yml")}: open ${join(dir, "missing.yml")}: no such file or directory`);
    }
  });

  test("check output follows promtool", () => {
    const lines: string[] = [];
    const code = checkRuleFiles([good, bad], (l) => lines.push(l));
    expect(code).toBe(1);
    expect(lines[0]).toBe(`Checking ${good}`);
    expect(lines[1]).toBe("  SUCCESS: 2 rules found");
    expect(lines[2]).toBe("");
    expect(lines[3]).toBe(`Checking ${bad}`);
    expect(lines[4]).toBe("  FAILED:");
    expect(lines[5]).toStartWith(`${bad}:5:11:`);
    expect(checkRuleFiles([good], () => {})).toBe(0);
  });
});
