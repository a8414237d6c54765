/**
 * The rules room's door: rule files (load, check), the rule manager that
 * evaluates recording and alerting rules, and the JSON builders of
 * `/api/v1/rules` and `/api/v1/alerts`.
 *
 * @example
 * const rules = new RuleManager({ engine, queryable: (mint, maxt) => db.querier(mint, maxt), appendable: () => db.appender(),
 *   notify: (alerts) => notifier.send(alerts), registry, logger });
 * await rules.update(config.rule_files, config.global.evaluation_interval);
 * rulesAPIData(rules.groups(), { type: "alert" });
 */
export {
  loadRuleFiles,
  parseRuleFile,
  readRuleFile,
  ruleFilePaths,
  RuleFileErrors,
  type RuleDesc,
  type RuleGroupDesc,
} from "./rulefile.ts";
export { checkRuleFiles } from "./check.ts";
export {
  RuleManager,
  type AlertingRuleStatus,
  type AlertStatus,
  type GroupStatus,
  type RecordingRuleStatus,
  type RuleManagerOptions,
  type RuleUpdateOptions,
} from "./manager.ts";
export { RESOLVED_RETENTION_MS, type AlertState } from "./alerting.ts";
export { generatorURL, goQueryEscape } from "./group.ts";
export {
  alertsAPIData,
  formatGoExp,
  formatGoTime,
  rulesAPIData,
  type APIAlert,
  type APIAlertingRule,
  type APIRecordingRule,
  type APIRuleGroup,
  type RulesFilter,
} from "./api.ts";
export type { RuleHealth, SentAlert } from "./types.ts";
