/**
 * Rule files: the YAML format of Prometheus's rulefmt (groups of recording
 * and alerting rules), decoded strictly with a position for every problem.
 *
 * Structural errors (unknown fields, wrong types, bad durations, YAML
 * syntax) stop decoding at the first one; rule-level checks are collected so
 * a file reports all its bad rules at once, as promtool does. Every error
 * reads `FILE:LINE:COL: …`; rule errors keep Prometheus's wording
 * `group "g", rule 2, "name": could not parse expression: 1:5: parse error: …`.
 */
import { ConfigError, decodeYAMLFile, expandGlob, readConfigText, type ObjectType, type Validation } from "../config/index.ts";
import { LABEL_NAME_RE, METRIC_NAME_RE } from "../model/index.ts";
import { formatExpr, parseExpr, ParseError, walk, type Expr } from "../promql/index.ts";
import { templateProblem } from "./template.ts";

/** One rule as written in a rule file; durations in milliseconds (0 when absent). */
export interface RuleDesc {
  /** Name of the series a recording rule writes; empty for alerting rules. */
  record: string;
  /** Name of an alerting rule; empty for recording rules. */
  alert: string;
  /** The PromQL expression as written. */
  expr: string;
  for: number;
  keep_firing_for: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * One rule group of a file. `interval` and `query_offset` are undefined when
 * the group does not set them (the global values apply); `labels` (Prometheus
 * 3) are added to every rule of the group, the rule's own labels winning.
 */
export interface RuleGroupDesc {
  name: string;
  /** The file the group was read from, as given (Prometheus's group "file"). */
  file: string;
  interval: number | undefined;
  query_offset: number | undefined;
  limit: number;
  labels: Record<string, string>;
  rules: RuleDesc[];
}

/**
 * All problems found in rule files. `errors` holds each located problem;
 * `message` lists them one per line.
 *
 * @example
 * try { loadRuleFiles(["rules.yml"]) } catch (e) { if (e instanceof RuleFileErrors) for (const err of e.errors) log.error(err.message) }
 */
export class RuleFileErrors extends Error {
  override name = "RuleFileErrors";
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join("\n"));
  }
}

const RuleType: ObjectType = {
  name: "rulefmt.Rule",
  fields: {
    // Prometheus keeps these three as raw YAML nodes: `record: null` names
    // the series "null", so null reads as its text, not as absent.
    record: { kind: { t: "string", nullAsText: true }, default: "" },
    alert: { kind: { t: "string", nullAsText: true }, default: "" },
    expr: { kind: { t: "string", nullAsText: true }, default: "" },
    for: { kind: { t: "duration" }, default: 0 },
    keep_firing_for: { kind: { t: "duration" }, default: 0 },
    labels: { kind: { t: "map", of: { t: "string" } }, defaultEmpty: true },
    annotations: { kind: { t: "map", of: { t: "string" } }, defaultEmpty: true },
  },
};

function groupType(errors: ConfigError[]): ObjectType {
  return {
    name: "rulefmt.RuleGroup",
    fields: {
      name: { kind: { t: "string" }, default: "" },
      interval: { kind: { t: "duration" } },
      query_offset: { kind: { t: "duration" } },
      limit: { kind: { t: "int" }, default: 0 },
      labels: { kind: { t: "map", of: { t: "string" } }, defaultEmpty: true },
      // promtool passes null rules and groups without a word; they are dropped.
      rules: { kind: { t: "list", of: { t: "object", type: RuleType }, skipNullItems: true }, defaultEmpty: true },
    },
    validate(group, v) {
      const collect = (fn: () => void): void => {
        try {
          fn();
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          errors.push(new ConfigError(e.file, e.line, e.col, "", e.reason));
        }
      };
      if (group.name === "") collect(() => v.fail("Groupname must not be empty", "name"));
      for (const name of Object.keys(group.labels)) {
        if (!LABEL_NAME_RE.test(name)) collect(() => v.fail(`group "${group.name}": invalid label name: ${name}`, "labels"));
      }
      (group.rules as RuleDesc[]).forEach((rule, i) => {
        const prefix = `group "${group.name}", rule ${i + 1}, "${rule.record || rule.alert}": `;
        for (const problem of ruleProblems(rule)) collect(() => v.failAt(rule, problem.field, prefix + problem.message));
      });
    },
  };
}

function rootType(errors: ConfigError[]): ObjectType {
  const group = groupType(errors);
  return {
    name: "rulefmt.RuleGroups",
    fields: { groups: { kind: { t: "list", of: { t: "object", type: group }, skipNullItems: true }, defaultEmpty: true } },
    validate(root, v: Validation) {
      const seen = new Set<string>();
      for (const g of root.groups as RuleGroupDesc[]) {
        if (seen.has(g.name)) {
          try {
            v.failAt(g, "name", `groupname: "${g.name}" is repeated in the same file`);
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            errors.push(new ConfigError(e.file, e.line, e.col, "", e.reason));
          }
        }
        seen.add(g.name);
      }
    },
  };
}

/** The checks of Prometheus's rulefmt Rule.Validate plus template parsing, each with the field it concerns. */
function ruleProblems(rule: RuleDesc): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  if (rule.record !== "" && rule.alert !== "") out.push({ field: "record", message: "only one of 'record' and 'alert' must be set" });
  if (rule.record === "" && rule.alert === "") out.push({ field: "record", message: "one of 'record' or 'alert' must be set" });
  if (rule.expr === "") out.push({ field: "expr", message: "field 'expr' must be set in rule" });
  else {
    try {
      parseExpr(rule.expr);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ field: "expr", message: `could not parse expression: ${e.message}` });
    }
  }
  if (rule.record !== "") {
    if (Object.keys(rule.annotations).length > 0) out.push({ field: "annotations", message: "invalid field 'annotations' in recording rule" });
    if (rule.for !== 0) out.push({ field: "for", message: "invalid field 'for' in recording rule" });
    if (rule.keep_firing_for !== 0) out.push({ field: "keep_firing_for", message: "invalid field 'keep_firing_for' in recording rule" });
    if (!METRIC_NAME_RE.test(rule.record)) out.push({ field: "record", message: `invalid recording rule name: ${rule.record}` });
  }
  for (const name of Object.keys(rule.labels)) {
    if (!LABEL_NAME_RE.test(name) || name === "__name__") out.push({ field: "labels", message: `invalid label name: ${name}` });
  }
  for (const name of Object.keys(rule.annotations)) {
    if (!LABEL_NAME_RE.test(name)) out.push({ field: "annotations", message: `invalid annotation name: ${name}` });
  }
  if (rule.alert !== "") {
    for (const [field, what] of [["labels", "label"], ["annotations", "annotation"]] as const) {
      for (const [name, text] of Object.entries(rule[field])) {
        const problem = templateProblem(rule.alert, text);
        if (problem !== undefined) out.push({ field, message: `${what} ${JSON.stringify(name)}: ${problem}` });
      }
    }
  }
  return out;
}

/**
 * Parses the text of one rule file. Returns the groups and every problem
 * found; the groups are only meaningful when `errors` is empty.
 *
 * @example
 * const { groups, errors } = parseRuleFile("groups: [{name: g, rules: [{record: a, expr: up}]}]", "rules.yml");
 */
export function parseRuleFile(text: string, filename: string): { groups: RuleGroupDesc[]; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  let root: Record<string, any>;
  try {
    root = decodeYAMLFile(text, filename, rootType(errors), "").value;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { groups: [], errors: [...errors, e] };
  }
  const groups = (root.groups as Omit<RuleGroupDesc, "file">[]).map((g) => ({
    name: g.name,
    file: filename,
    interval: g.interval,
    query_offset: g.query_offset,
    limit: g.limit,
    labels: g.labels,
    rules: g.rules,
  }));
  return { groups, errors };
}

/** Reads and parses one rule file; an unreadable file is one error without a position. */
export function readRuleFile(path: string): { groups: RuleGroupDesc[]; errors: ConfigError[] } {
  let text: string;
  try {
    text = readConfigText(path);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { groups: [], errors: [e] };
  }
  return parseRuleFile(text, path);
}

/**
 * The files `rule_files` entries name: globs expanded (sorted, as Go's
 * filepath.Glob), plain paths kept as given so a missing file is reported.
 */
export function ruleFilePaths(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    if (/[*?[]/.test(p)) out.push(...expandGlob(p));
    else out.push(p);
  }
  return out;
}

/**
 * Loads all groups of the given rule files (globs allowed), in file order.
 * Throws {@link RuleFileErrors} listing every problem of every file; nothing
 * is returned unless all files are valid, as Prometheus refuses a reload
 * with any bad rule file.
 *
 * @example
 * const groups = loadRuleFiles(config.rule_files);
 */
export function loadRuleFiles(patterns: readonly string[]): RuleGroupDesc[] {
  const groups: RuleGroupDesc[] = [];
  const errors: ConfigError[] = [];
  for (const path of ruleFilePaths(patterns)) {
    const r = readRuleFile(path);
    groups.push(...r.groups);
    errors.push(...r.errors);
  }
  if (errors.length > 0) throw new RuleFileErrors(errors);
  return groups;
}

/** A rule's expression printed the way Prometheus shows it (rule files are validated first, so it parses). */
export function formatRuleExpr(expr: string): string {
  return formatExpr(parseExpr(expr));
}
