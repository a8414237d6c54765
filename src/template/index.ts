/**
 * The template room: Go text/template expansion with Prometheus's and
 * Alertmanager's functions.
 *
 * - Rules: `checkRuleTemplate` at load, `expandRuleTemplate` per alert.
 * - Alertmanager: `new TemplateSet(alertmanagerFuncs())`, `parse` the
 *   template files, then `expand(text, newAlertmanagerData(…))` per field.
 * - Anything else: `parseTemplate` / `expandTemplate` with a `FuncMap`.
 *
 * Values: numbers are Go float64, bigints are Go ints, plain objects and
 * Maps are maps, class instances are structs (see values.ts).
 */

export { TemplateError } from "./errors.ts";
export { TemplateSet, parseTemplate, expandTemplate, type TemplateOptions } from "./template.ts";
export { typedFunc, htmlEscape, jsEscape, queryEscape, type TemplateFunc, type FuncMap, type FuncSignature, type ParamType, type ExecContext } from "./funcs.ts";
export { sprintf, sprint, sprintln, formatFloat, formatPlain, quote } from "./fmt.ts";
export { asStringMap, GO_TYPE, STRING_MAP } from "./values.ts";
export { GoTime, GoDuration } from "./time.ts";
export { matchString, replaceAllString, quoteMeta } from "./regexp.ts";
export {
  prometheusFuncs,
  expandRuleTemplate,
  checkRuleTemplate,
  RULE_TEMPLATE_PREAMBLE,
  Sample,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  convertToFloat,
  stripPort,
  stripDomain,
  type PrometheusFuncOptions,
  type RuleTemplateData,
  type LabelInput,
  type TemplateQueryFunc,
} from "./prometheus.ts";
export { alertmanagerFuncs, newAlertmanagerData, AlertmanagerData, Alert, Alerts, KV, Pair, Pairs, type AlertInput } from "./alertmanager.ts";
