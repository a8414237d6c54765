/**
 * The `data` of Prometheus's `/api/v1/rules` and `/api/v1/alerts`, built
 * from {@link RuleManager.groups} as pure functions: same fields, order,
 * units (seconds as floats, Go RFC 3339 times) and filtering rules.
 */
import { formatGoFloatE } from "../base/index.ts";
import type { Labels } from "../model/index.ts";
import type { AlertStatus, GroupStatus } from "./manager.ts";

/** Filters of `/api/v1/rules`; empty lists mean "all". */
export interface RulesFilter {
  /** `type`: "alert" or "record" (anything else is rejected by the caller). */
  type?: "alert" | "record" | "";
  /** `rule_name[]`. */
  rule_name?: readonly string[];
  /** `rule_group[]` (group names). */
  group_name?: readonly string[];
  /** `file[]`. */
  file?: readonly string[];
  /** `exclude_alerts=true`: alerting rules carry `"alerts": null`. */
  exclude_alerts?: boolean;
}

/** An alert in API form. */
export interface APIAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  keepFiringSince?: string;
  value: string;
}

/** An alerting rule in API form. */
export interface APIAlertingRule {
  state: string;
  name: string;
  query: string;
  duration: number;
  keepFiringFor: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  alerts: APIAlert[] | null;
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  type: "alerting";
}

/** A recording rule in API form. */
export interface APIRecordingRule {
  name: string;
  query: string;
  labels?: Record<string, string>;
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  type: "recording";
}

/** A rule group in API form. */
export interface APIRuleGroup {
  name: string;
  file: string;
  rules: (APIAlertingRule | APIRecordingRule)[];
  interval: number;
  limit: number;
  evaluationTime: number;
  lastEvaluation: string;
}

/**
 * A time as Go's time.Time marshals to JSON in UTC: RFC 3339 with the
 * fraction trimmed of trailing zeros; 0 is Go's zero time.
 *
 * @example formatGoTime(1500) // "1970-01-01T00:00:01.5Z"
 */
export function formatGoTime(ms: number): string {
  if (ms === 0) return "0001-01-01T00:00:00Z";
  const iso = new Date(Math.floor(ms)).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_, frac: string) => (frac === "" ? "Z" : `.${frac}Z`));
}

/**
 * A float as Go's strconv.FormatFloat(v, 'e', -1, 64) (the base room's
 * formatGoFloatE).
 *
 * @example formatGoExp(1) // "1e+00"
 */
export const formatGoExp: (v: number) => string = formatGoFloatE;


function toRecord(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

function apiAlert(a: AlertStatus): APIAlert {
  return {
    labels: toRecord(a.labels),
    annotations: toRecord(a.annotations),
    state: a.state,
    activeAt: formatGoTime(a.activeAt),
    ...(a.keepFiringSince !== null ? { keepFiringSince: formatGoTime(a.keepFiringSince) } : {}),
    value: formatGoExp(a.value),
  };
}

/** Pending and firing alerts only, as Prometheus's ActiveAlerts. */
function activeAlerts(alerts: readonly AlertStatus[]): APIAlert[] {
  return alerts.filter((a) => a.resolvedAt === null).map(apiAlert);
}

/**
 * `/api/v1/rules` data: `{groups: [...]}` with the filters applied; groups
 * left without rules by the filters are omitted.
 *
 * @example rulesAPIData(manager.groups(), { type: "alert" })
 */
export function rulesAPIData(groups: readonly GroupStatus[], filter: RulesFilter = {}): { groups: APIRuleGroup[] } {
  const names = new Set(filter.rule_name ?? []);
  const groupNames = new Set(filter.group_name ?? []);
  const files = new Set(filter.file ?? []);
  const wantAlerts = !filter.type || filter.type === "alert";
  const wantRecording = !filter.type || filter.type === "record";
  const out: APIRuleGroup[] = [];
  for (const g of groups) {
    if (groupNames.size > 0 && !groupNames.has(g.name)) continue;
    if (files.size > 0 && !files.has(g.file)) continue;
    const rules: APIRuleGroup["rules"] = [];
    for (const r of g.rules) {
      if (names.size > 0 && !names.has(r.name)) continue;
      const lastError = r.lastError !== "" ? { lastError: r.lastError } : {};
      if (r.type === "alerting") {
        if (!wantAlerts) continue;
        rules.push({
          state: r.state,
          name: r.name,
          query: r.query,
          duration: r.duration / 1000,
          keepFiringFor: r.keepFiringFor / 1000,
          labels: toRecord(r.labels),
          annotations: toRecord(r.annotations),
          alerts: filter.exclude_alerts ? null : activeAlerts(r.alerts),
          health: r.health,
          ...lastError,
          evaluationTime: r.evaluationTime / 1000,
          lastEvaluation: formatGoTime(r.lastEvaluation),
          type: "alerting",
        });
      } else {
        if (!wantRecording) continue;
        rules.push({
          name: r.name,
          query: r.query,
          ...(r.labels.length > 0 ? { labels: toRecord(r.labels) } : {}),
          health: r.health,
          ...lastError,
          evaluationTime: r.evaluationTime / 1000,
          lastEvaluation: formatGoTime(r.lastEvaluation),
          type: "recording",
        });
      }
    }
    if (rules.length === 0) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.interval / 1000,
      limit: g.limit,
      evaluationTime: g.evaluationTime / 1000,
      lastEvaluation: formatGoTime(g.lastEvaluation),
    });
  }
  return { groups: out };
}

/**
 * `/api/v1/alerts` data: `{alerts: [...]}`, the pending and firing alerts
 * of every alerting rule in group order.
 */
export function alertsAPIData(groups: readonly GroupStatus[]): { alerts: APIAlert[] } {
  const alerts: APIAlert[] = [];
  for (const g of groups) for (const r of g.rules) if (r.type === "alerting") alerts.push(...activeAlerts(r.alerts));
  return { alerts };
}
