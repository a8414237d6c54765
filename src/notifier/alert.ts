/**
 * The alert the notifier queues and posts: what Prometheus's rules hand to
 * its notifier, and its Alertmanager API v2 JSON form.
 */
import type { Labels } from "../model/index.ts";

/**
 * An alert on its way to Alertmanagers. Times are milliseconds since the
 * epoch; 0 means unset (Go's zero time), which Alertmanager reads as "now"
 * for `startsAt` and "not resolved" for `endsAt`.
 */
export interface Alert {
  labels: Labels;
  annotations: Labels;
  startsAt: number;
  endsAt: number;
  generatorURL: string;
}

/** One element of the `POST /api/v2/alerts` body (Alertmanager's PostableAlert). */
export interface PostableAlert {
  annotations: Record<string, string>;
  endsAt: string;
  startsAt: string;
  generatorURL: string;
  labels: Record<string, string>;
}

/**
 * Formats a time as go-openapi's strfmt.DateTime does (RFC 3339 with
 * milliseconds, UTC); 0 is Go's zero time.
 *
 * @example formatAPITime(0) // "0001-01-01T00:00:00.000Z"
 */
export function formatAPITime(ms: number): string {
  if (ms === 0) return "0001-01-01T00:00:00.000Z";
  return new Date(ms).toISOString();
}

function toRecord(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

/**
 * The v2 API body for a batch of alerts, keys in the order Prometheus
 * marshals them.
 *
 * @example JSON.stringify(toPostableAlerts(alerts))
 */
export function toPostableAlerts(alerts: readonly Alert[]): PostableAlert[] {
  return alerts.map((a) => ({
    annotations: toRecord(a.annotations),
    endsAt: formatAPITime(a.endsAt),
    startsAt: formatAPITime(a.startsAt),
    generatorURL: a.generatorURL,
    labels: toRecord(a.labels),
  }));
}
