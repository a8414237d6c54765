/**
 * The rule manager's metrics, with Prometheus's names. Per-group series are
 * labelled `rule_group="<file>;<group>"` and removed with the group.
 */
import type { Registry } from "../model/index.ts";

type CounterVec = ReturnType<Registry["counterVec"]>;
type GaugeVec = ReturnType<Registry["gaugeVec"]>;
type HistogramT = ReturnType<Registry["histogram"]>;

/** Registered metric handles; one set per RuleManager. */
export interface RuleMetrics {
  evalTotal: CounterVec;
  evalFailures: CounterVec;
  iterationsTotal: CounterVec;
  iterationsMissed: CounterVec;
  groupDuration: HistogramT;
  lastDuration: GaugeVec;
  interval: GaugeVec;
  lastEvalTimestamp: GaugeVec;
  groupRules: GaugeVec;
  lastSamples: GaugeVec;
}

/** The `rule_group` label value of a group, as Prometheus's GroupKey. */
export function groupKey(file: string, name: string): string {
  return `${file};${name}`;
}

/** Registers the rule metrics on `registry`. */
export function registerRuleMetrics(registry: Registry): RuleMetrics {
  const g = ["rule_group"];
  return {
    evalTotal: registry.counterVec("prometheus_rule_evaluations_total", "The total number of rule evaluations.", g),
    evalFailures: registry.counterVec("prometheus_rule_evaluation_failures_total", "The total number of rule evaluation failures.", g),
    iterationsTotal: registry.counterVec("prometheus_rule_group_iterations_total", "The total number of scheduled rule group evaluations, whether executed or missed.", g),
    iterationsMissed: registry.counterVec("prometheus_rule_group_iterations_missed_total", "The total number of rule group evaluations missed due to slow rule group evaluation.", g),
    groupDuration: registry.histogram("prometheus_rule_group_duration_seconds", "The duration of rule group evaluations.", [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60]),
    lastDuration: registry.gaugeVec("prometheus_rule_group_last_duration_seconds", "The duration of the last rule group evaluation.", g),
    interval: registry.gaugeVec("prometheus_rule_group_interval_seconds", "The interval of a rule group.", g),
    lastEvalTimestamp: registry.gaugeVec("prometheus_rule_group_last_evaluation_timestamp_seconds", "The timestamp of the last rule group evaluation in seconds.", g),
    groupRules: registry.gaugeVec("prometheus_rule_group_rules", "The number of rules.", g),
    lastSamples: registry.gaugeVec("prometheus_rule_group_last_evaluation_samples", "The number of samples returned during the last rule group evaluation.", g),
  };
}

/** Drops every per-group series of `key` (a removed group). */
export function removeGroupMetrics(m: RuleMetrics, key: string): void {
  for (const v of [m.evalTotal, m.evalFailures, m.iterationsTotal, m.iterationsMissed]) v.remove([key]);
  for (const v of [m.lastDuration, m.interval, m.lastEvalTimestamp, m.groupRules, m.lastSamples]) v.remove([key]);
}
