/**
 * Relabeling with Prometheus's semantics: every action of Prometheus 3
 * (replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop,
 * labelkeep, lowercase, uppercase), applied in order to a label set. Used for
 * target relabeling, metric relabeling, alert relabeling and write relabeling.
 *
 * Regexes are fully anchored (`^(?:re)$`); replacements and replace's
 * `target_label` use Go's `Regexp.Expand` template rules: `$1`, `${1}`,
 * `$name`, `${name}`, `$$` for a literal `$`; `$name` takes the longest run of
 * letters, digits and `_`, so `$1x` is the group named "1x" (empty).
 *
 * @example
 * relabel(labelsFromRecord({ __address__: "host:9100" }), [
 *   { source_labels: ["__address__"], regex: "(.*):.*", target_label: "host", replacement: "$1" },
 * ]); // [{name:"__address__",…}, {name:"host", value:"host"}]
 */
import { createHash } from "node:crypto";
import { expandRegexpTemplate } from "../base/index.ts";
import { LABEL_NAME_RE, type Label, type Labels } from "./labels.ts";
import { compileRE2, type RE2Regexp } from "./re2.ts";

/** The relabel actions of Prometheus 3. */
export type RelabelActionName =
  | "replace" | "keep" | "drop" | "keepequal" | "dropequal" | "hashmod"
  | "labelmap" | "labeldrop" | "labelkeep" | "lowercase" | "uppercase";

/**
 * One relabeling step with YAML field names. Structurally compatible with the
 * config room's `RelabelConfig`; omitted fields take Prometheus's defaults
 * (separator ";", regex "(.*)", replacement "$1", action "replace").
 */
export interface RelabelRule {
  source_labels?: readonly string[];
  separator?: string;
  regex?: string;
  modulus?: number;
  target_label?: string;
  replacement?: string;
  action?: RelabelActionName;
}

/** Which label names a replace's expanded `target_label` may produce. */
export type NameValidation = "utf8" | "legacy";

/** Options for `relabel`. */
export interface RelabelOptions {
  /** Prometheus 3 defaults to "utf8" (any non-empty name); "legacy" requires `[a-zA-Z_][a-zA-Z0-9_]*`. */
  nameValidation?: NameValidation;
}

interface CompiledRule {
  sourceLabels: readonly string[];
  separator: string;
  regex: RE2Regexp;
  modulus: bigint;
  targetLabel: string;
  replacement: string;
  action: RelabelActionName;
}

const ACTIONS: ReadonlySet<string> = new Set([
  "replace", "keep", "drop", "keepequal", "dropequal", "hashmod",
  "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase",
]);

const compiledCache = new WeakMap<RelabelRule, CompiledRule>();

/** Compiles (once per rule object) the regex and defaults of a rule. Throws on a bad regex or action. */
function compileRule(rule: RelabelRule): CompiledRule {
  let c = compiledCache.get(rule);
  if (c) return c;
  const action = rule.action ?? "replace";
  if (!ACTIONS.has(action)) throw new Error(`unknown relabel action ${JSON.stringify(action)}`);
  c = {
    sourceLabels: rule.source_labels ?? [],
    separator: rule.separator ?? ";",
    regex: compileRE2(rule.regex ?? "(.*)"),
    modulus: BigInt(Math.max(0, Math.trunc(rule.modulus ?? 0))),
    targetLabel: rule.target_label ?? "",
    replacement: rule.replacement ?? "$1",
    action,
  };
  compiledCache.set(rule, c);
  return c;
}

/**
 * Checks a rule the way Prometheus validates relabel configs at load time and
 * returns the error message, or null when the rule is valid.
 */
export function validateRelabelRule(rule: RelabelRule): string | null {
  const action = rule.action ?? "replace";
  if (!ACTIONS.has(action)) return `unknown relabel action ${JSON.stringify(action)}`;
  const target = rule.target_label ?? "";
  const replacement = rule.replacement ?? "$1";
  try {
    compileRE2(rule.regex ?? "(.*)");
  } catch (e) {
    return (e as Error).message;
  }
  if (action === "hashmod" && !(rule.modulus && rule.modulus > 0)) return "relabel configuration for hashmod requires non-zero modulus";
  const needsTarget = ["replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"];
  if (needsTarget.includes(action) && target === "") return `relabel configuration for ${action} action requires 'target_label' value`;
  if (action === "replace" && !target.includes("$") && !LABEL_NAME_RE.test(target)) return `${JSON.stringify(target)} is invalid 'target_label' for ${action} action`;
  if (action === "replace" && target.includes("$") && !TEMPLATED_NAME_RE.test(target)) return `${JSON.stringify(target)} is invalid 'target_label' for ${action} action`;
  if (["lowercase", "uppercase", "keepequal", "dropequal", "hashmod"].includes(action) && !LABEL_NAME_RE.test(target)) {
    return `${JSON.stringify(target)} is invalid 'target_label' for ${action} action`;
  }
  if (["lowercase", "uppercase", "keepequal", "dropequal"].includes(action) && replacement !== "$1") {
    return `'replacement' can not be set for ${action} action`;
  }
  if (action === "labelmap" && !TEMPLATED_NAME_RE.test(replacement)) return `${JSON.stringify(replacement)} is invalid 'replacement' for ${action} action`;
  if ((action === "keepequal" || action === "dropequal") && ((rule.regex ?? "(.*)") !== "(.*)" || (rule.separator ?? ";") !== ";" || (rule.modulus ?? 0) !== 0)) {
    return `${action} action requires only 'source_labels' and \`target_label\`, and no other fields`;
  }
  if ((action === "labeldrop" || action === "labelkeep") && ((rule.source_labels?.length ?? 0) > 0 || target !== "" || (rule.separator ?? ";") !== ";" || (rule.modulus ?? 0) !== 0 || replacement !== "$1")) {
    return `${action} action requires only 'regex', and no other fields`;
  }
  return null;
}

/** A label name possibly containing `$n` / `${name}` references (Prometheus's relabelTarget pattern). */
const TEMPLATED_NAME_RE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/** Expands `$1`, `${name}` and `$$` against a match, as Go's Regexp.Expand (the base room's). */
export const expandTemplate: (template: string, m: RegExpExecArray) => string = expandRegexpTemplate;


function hashModValue(s: string, modulus: bigint): string {
  if (modulus === 0n) return "0";
  const sum = createHash("md5").update(s, "utf8").digest();
  // Prometheus uses the last 8 bytes of the MD5 sum, big-endian.
  const tail = new DataView(sum.buffer, sum.byteOffset + 8, 8).getBigUint64(0, false);
  return (tail % modulus).toString();
}

function validTargetName(name: string, validation: NameValidation): boolean {
  return validation === "legacy" ? LABEL_NAME_RE.test(name) : name !== "";
}

/**
 * Applies relabel rules in order. Returns the resulting label set (sorted,
 * no empty values) or null when a keep/drop-type rule dropped it. Regexes are
 * compiled once per rule object and cached; an invalid rule throws.
 *
 * @example
 * relabel(labelsFromRecord({ a: "foo" }), [{ source_labels: ["a"], regex: "f.*", action: "drop" }]); // null
 */
export function relabel(labels: Labels, rules: readonly RelabelRule[], opts: RelabelOptions = {}): Labels | null {
  if (rules.length === 0) return labels;
  const validation = opts.nameValidation ?? "utf8";
  const lb = new Map<string, string>();
  for (const l of labels) lb.set(l.name, l.value);
  const set = (name: string, value: string): void => {
    if (value === "") lb.delete(name);
    else lb.set(name, value);
  };
  for (const rule of rules) {
    const r = compileRule(rule);
    let val = "";
    for (let k = 0; k < r.sourceLabels.length; k++) {
      if (k > 0) val += r.separator;
      val += lb.get(r.sourceLabels[k]!) ?? "";
    }
    switch (r.action) {
      case "drop":
        if (r.regex.test(val)) return null;
        break;
      case "keep":
        if (!r.regex.test(val)) return null;
        break;
      case "dropequal":
        if ((lb.get(r.targetLabel) ?? "") === val) return null;
        break;
      case "keepequal":
        if ((lb.get(r.targetLabel) ?? "") !== val) return null;
        break;
      case "replace": {
        const m = r.regex.exec(val);
        if (!m) break;
        const target = expandTemplate(r.targetLabel, m);
        if (!validTargetName(target, validation)) break;
        set(target, expandTemplate(r.replacement, m));
        break;
      }
      case "lowercase":
        set(r.targetLabel, val.toLowerCase());
        break;
      case "uppercase":
        set(r.targetLabel, val.toUpperCase());
        break;
      case "hashmod":
        set(r.targetLabel, hashModValue(val, r.modulus));
        break;
      case "labelmap":
        for (const [name, value] of [...lb]) {
          const m = r.regex.exec(name);
          if (m) {
            const mapped = expandTemplate(r.replacement, m);
            if (mapped !== "") set(mapped, value);
          }
        }
        break;
      case "labeldrop":
        for (const name of [...lb.keys()]) if (r.regex.test(name)) lb.delete(name);
        break;
      case "labelkeep":
        for (const name of [...lb.keys()]) if (!r.regex.test(name)) lb.delete(name);
        break;
    }
  }
  const out: Label[] = [];
  for (const [name, value] of lb) out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
