import { describe, expect, test } from "bun:test";
import { expandTemplate, labelsFromRecord, relabel, validateRelabelRule, type RelabelRule } from "../../src/model/index.ts";

interface Case {
  name: string;
  input: Record<string, string>;
  rules: RelabelRule[];
  output: Record<string, string> | null;
}

// Examples from Prometheus's relabel documentation and test table.
const cases: Case[] = [
  {
    name: "replace with ${1} twice",
    input: { a: "foo", b: "bar", c: "baz" },
    rules: [{ source_labels: ["a"], regex: "f(.*)", target_label: "d", replacement: "ch${1}-ch${1}" }],
    output: { a: "foo", b: "bar", c: "baz", d: "choo-choo" },
  },
  {
    name: "chained replaces with several sources",
    input: { a: "foo", b: "bar", c: "baz" },
    rules: [
      { source_labels: ["a", "b"], regex: "f(.*);(.*)r", target_label: "a", replacement: "b${1}${2}m" },
      { source_labels: ["c", "a"], regex: "(b).*b(.*)ba(.*)", target_label: "d", replacement: "$1$2$2$3" },
    ],
    output: { a: "boobam", b: "bar", c: "baz", d: "boooom" },
  },
  {
    name: "drop stops processing",
    input: { a: "foo" },
    rules: [{ source_labels: ["a"], regex: ".*o.*", action: "drop" }, { source_labels: ["a"], target_label: "d", replacement: "x" }],
    output: null,
  },
  { name: "drop is anchored", input: { a: "foo" }, rules: [{ source_labels: ["a"], regex: "f|o", action: "drop" }], output: { a: "foo" } },
  { name: "keep without match drops", input: { a: "foo" }, rules: [{ source_labels: ["a"], regex: "no-match", action: "keep" }], output: null },
  { name: "keep with match", input: { a: "foo" }, rules: [{ source_labels: ["a"], regex: "f.*", action: "keep" }], output: { a: "foo" } },
  {
    name: "replace without match changes nothing",
    input: { a: "boo" },
    rules: [{ source_labels: ["a"], regex: "f", target_label: "b", replacement: "bar" }],
    output: { a: "boo" },
  },
  {
    name: "replace of a missing source with a literal sets it (default regex matches empty)",
    input: { a: "x" },
    rules: [{ source_labels: ["nope"], target_label: "b", replacement: "lit" }],
    output: { a: "x", b: "lit" },
  },
  {
    name: "replace to empty removes the label",
    input: { a: "x", b: "y" },
    rules: [{ source_labels: ["nope"], target_label: "b" }],
    output: { a: "x" },
  },
  {
    name: "hashmod as Prometheus (md5, last 8 bytes)",
    input: { a: "foo", b: "bar", c: "baz" },
    rules: [{ source_labels: ["c"], target_label: "d", action: "hashmod", modulus: 1000 }],
    output: { a: "foo", b: "bar", c: "baz", d: "976" },
  },
  {
    name: "hashmod over a value with a newline",
    input: { a: "foo\nbar" },
    rules: [{ source_labels: ["a"], target_label: "b", action: "hashmod", modulus: 1000 }],
    output: { a: "foo\nbar", b: "734" },
  },
  {
    name: "labelmap",
    input: { a: "foo", b1: "bar", b2: "baz" },
    rules: [{ regex: "(b.*)", replacement: "bar_${1}", action: "labelmap" }],
    output: { a: "foo", b1: "bar", b2: "baz", bar_b1: "bar", bar_b2: "baz" },
  },
  {
    name: "labelmap of meta labels",
    input: { a: "foo", __meta_my_bar: "aaa", __meta_my_baz: "bbb", __meta_other: "ccc" },
    rules: [{ regex: "__meta_(my.*)", replacement: "${1}", action: "labelmap" }],
    output: { a: "foo", __meta_my_bar: "aaa", __meta_my_baz: "bbb", __meta_other: "ccc", my_bar: "aaa", my_baz: "bbb" },
  },
  {
    name: "templated target_label",
    input: { a: "some-name-value" },
    rules: [{ source_labels: ["a"], regex: "some-([^-]+)-([^,]+)", replacement: "${2}", target_label: "${1}" }],
    output: { a: "some-name-value", name: "value" },
  },
  {
    name: "replacement referencing a missing group removes nothing and adds nothing",
    input: { a: "some-name-value" },
    rules: [{ source_labels: ["a"], regex: "some-([^-]+)-([^,]+)", replacement: "${3}", target_label: "${1}" }],
    output: { a: "some-name-value" },
  },
  {
    name: "invalid expanded target_label skips the action",
    input: { a: "some-name-0" },
    rules: [
      { source_labels: ["a"], regex: "some-([^-]+)-([^,]+)", replacement: "${1}", target_label: "${3}" },
      { source_labels: ["a"], regex: "some-([^-]+)(-[^,]+)", replacement: "${1}", target_label: "${3}" },
    ],
    output: { a: "some-name-0" },
  },
  {
    name: "real-life tags",
    input: { __meta_sd_tags: "path:/secret,job:some-job,label:foo=bar" },
    rules: [
      { source_labels: ["__meta_sd_tags"], regex: "(?:.+,|^)path:(/[^,]+).*", replacement: "${1}", target_label: "__metrics_path__" },
      { source_labels: ["__meta_sd_tags"], regex: "(?:.+,|^)job:([^,]+).*", replacement: "${1}", target_label: "job" },
      { source_labels: ["__meta_sd_tags"], regex: "(?:.+,|^)label:([^=]+)=([^,]+).*", replacement: "${2}", target_label: "${1}" },
    ],
    output: { __meta_sd_tags: "path:/secret,job:some-job,label:foo=bar", __metrics_path__: "/secret", job: "some-job", foo: "bar" },
  },
  {
    name: "labeldrop then replace then keep",
    input: { __meta_kubernetes_pod_container_port_name: "foo", __meta_kubernetes_pod_annotation_XXX_metrics_port: "9091" },
    rules: [
      { regex: "^__meta_kubernetes_pod_container_port_name$", action: "labeldrop" },
      { source_labels: ["__meta_kubernetes_pod_annotation_XXX_metrics_port"], regex: "(.+)", replacement: "metrics", target_label: "__meta_kubernetes_pod_container_port_name" },
      { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "^metrics$", action: "keep" },
    ],
    output: { __meta_kubernetes_pod_annotation_XXX_metrics_port: "9091", __meta_kubernetes_pod_container_port_name: "metrics" },
  },
  { name: "labelkeep", input: { a: "foo", b1: "bar", b2: "baz" }, rules: [{ regex: "(b.*)", action: "labelkeep" }], output: { b1: "bar", b2: "baz" } },
  { name: "labeldrop", input: { a: "foo", b1: "bar", b2: "baz" }, rules: [{ regex: "(b.*)", action: "labeldrop" }], output: { a: "foo" } },
  {
    name: "uppercase and lowercase",
    input: { foo: "bAr123Foo" },
    rules: [
      { source_labels: ["foo"], action: "uppercase", target_label: "foo_uppercase" },
      { source_labels: ["foo"], action: "lowercase", target_label: "foo_lowercase" },
    ],
    output: { foo: "bAr123Foo", foo_lowercase: "bar123foo", foo_uppercase: "BAR123FOO" },
  },
  {
    name: "keepequal keeps when equal",
    input: { __tmp_port: "1234", __port1: "1234", __port2: "5678" },
    rules: [{ source_labels: ["__tmp_port"], action: "keepequal", target_label: "__port1" }],
    output: { __tmp_port: "1234", __port1: "1234", __port2: "5678" },
  },
  { name: "dropequal drops when equal", input: { __tmp_port: "1234", __port1: "1234" }, rules: [{ source_labels: ["__tmp_port"], action: "dropequal", target_label: "__port1" }], output: null },
  {
    name: "dropequal keeps when different",
    input: { __tmp_port: "1234", __port2: "5678" },
    rules: [{ source_labels: ["__tmp_port"], action: "dropequal", target_label: "__port2" }],
    output: { __tmp_port: "1234", __port2: "5678" },
  },
  { name: "keepequal drops when different", input: { __tmp_port: "1234", __port2: "5678" }, rules: [{ source_labels: ["__tmp_port"], action: "keepequal", target_label: "__port2" }], output: null },
  {
    name: "custom separator",
    input: { a: "x", b: "y" },
    rules: [{ source_labels: ["a", "b"], separator: "/", regex: "(.*)", target_label: "c" }],
    output: { a: "x", b: "y", c: "x/y" },
  },
  {
    name: "$1x is the group named 1x (empty) so the label is removed",
    input: { a: "v", c: "old" },
    rules: [{ source_labels: ["a"], regex: "(.*)", target_label: "c", replacement: "$1x" }],
    output: { a: "v" },
  },
];

describe("relabel", () => {
  for (const c of cases) {
    test(c.name, () => {
      for (const r of c.rules) expect(validateRelabelRule(r)).toBeNull();
      const got = relabel(labelsFromRecord(c.input), c.rules);
      expect(got).toEqual(c.output === null ? null : labelsFromRecord(c.output));
    });
  }

  test("legacy name validation rejects a dotted expanded target", () => {
    const rules: RelabelRule[] = [{ source_labels: ["a"], regex: "(.*)", target_label: "${1}", replacement: "v" }];
    expect(relabel(labelsFromRecord({ a: "x.y" }), rules, { nameValidation: "legacy" })).toEqual(labelsFromRecord({ a: "x.y" }));
    expect(relabel(labelsFromRecord({ a: "x.y" }), rules)).toEqual(labelsFromRecord({ a: "x.y", "x.y": "v" }));
  });

  test("an invalid regex throws a readable error", () => {
    expect(() => relabel(labelsFromRecord({ a: "b" }), [{ source_labels: ["a"], regex: "(", action: "keep" }])).toThrow(/error parsing regexp/);
  });
});

describe("expandTemplate", () => {
  const m = /^(?<first>a)(b)(c)?$/.exec("ab")!;
  const cases: [string, string][] = [
    ["$1", "a"], ["${1}", "a"], ["$2$1", "ba"], ["${1}x", "ax"], ["$1x", ""], ["$$1", "$1"], ["$first-$2", "a-b"],
    ["${first}", "a"], ["$3", ""], ["$9", ""], ["$", "$"], ["a$-b", "a$-b"], ["${", "${"], ["${}", "${}"], ["$01", ""],
  ];
  for (const [tpl, want] of cases) test(tpl, () => expect(expandTemplate(tpl, m)).toBe(want));
});

describe("validateRelabelRule", () => {
  const cases: [RelabelRule, string][] = [
    [{ action: "replace" }, "requires 'target_label' value"],
    [{ action: "lowercase" }, "requires 'target_label' value"],
    [{ action: "lowercase", target_label: "${3}" }, `"\${3}" is invalid 'target_label'`],
    [{ action: "replace", target_label: "0${3}" }, `"0\${3}" is invalid 'target_label'`],
    [{ action: "replace", target_label: "-${3}" }, `"-\${3}" is invalid 'target_label' for replace action`],
    [{ action: "hashmod", target_label: "x" }, "requires non-zero modulus"],
    [{ action: "labeldrop", regex: "a", target_label: "x" }, "requires only 'regex'"],
    [{ action: "keepequal", target_label: "x", regex: "a" }, "requires only 'source_labels'"],
    [{ action: "keep", regex: "(" }, "error parsing regexp"],
  ];
  for (const [rule, msg] of cases) test(JSON.stringify(rule), () => expect(validateRelabelRule(rule)).toContain(msg));
  test("accepts a templated target", () => expect(validateRelabelRule({ source_labels: ["a"], target_label: "${1}" })).toBeNull());
});
