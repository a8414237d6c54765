/**
 * Alerting rules with Prometheus's state machine. Each evaluation turns the
 * query result into alerts keyed by their label set:
 *
 *   new result ─▶ pending ──(active for `for`)──▶ firing
 *   result gone: pending ─▶ dropped; firing ─▶ inactive (resolvedAt set),
 *   unless `keep_firing_for` keeps it firing that long after the last result.
 *
 * Resolved alerts stay known for 15 minutes so they are re-sent as resolved
 * (Alertmanager may have missed the first message); the API lists only
 * pending and firing ones. Each evaluation yields the `ALERTS` and
 * `ALERTS_FOR_STATE` samples for active alerts once the rule's `for` state
 * has been restored after a restart.
 */
import type { Logger } from "../log/index.ts";
import { labelsKey, labelsToRecord, METRIC_NAME, type Label, type Labels } from "../model/index.ts";
import { expandAlertTemplate } from "./template.ts";
import type { EvalContext, OutputSample, RuleHealth, SentAlert } from "./types.ts";

/** How long a resolved alert is kept (and re-sent as resolved): 15 minutes, as Prometheus. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** The state of one alert or, as the most severe of its alerts, of a rule. */
export type AlertState = "inactive" | "pending" | "firing";

const STATE_ORDER: Record<AlertState, number> = { inactive: 0, pending: 1, firing: 2 };

/**
 * One alert of a rule. Times are milliseconds; `null` is Go's zero time
 * (never happened).
 */
export interface Alert {
  labels: Labels;
  /** Sorted by name; empty values are kept, as Prometheus keeps them. */
  annotations: Labels;
  state: AlertState;
  value: number;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  lastSentAt: number | null;
  validUntil: number | null;
  keepFiringSince: number | null;
}

function sortedPairs(entries: [string, string][]): Labels {
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([name, value]) => ({ name, value }));
}

/** Static description of an alerting rule (labels already include the group's). */
export interface AlertingRuleSpec {
  name: string;
  /** The expression as Prometheus prints it. */
  query: string;
  holdDuration: number;
  keepFiringFor: number;
  labels: Labels;
  annotations: Labels;
}

/** See the module comment. */
export class AlertingRule {
  readonly type = "alerting";
  /** Alerts by label-set key; includes resolved alerts within their retention. */
  active = new Map<string, Alert>();
  health: RuleHealth = "unknown";
  lastError = "";
  /** Wall time (ms) the last evaluation started; 0 when never evaluated. */
  lastEvaluation = 0;
  /** How long the last evaluation took (ms). */
  evaluationTime = 0;

  constructor(
    readonly spec: AlertingRuleSpec,
    /** False until the `for` state has been restored from ALERTS_FOR_STATE; no ALERTS series are written before. */
    public restored: boolean,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** Identity for keeping state across reloads: name plus labels, as Prometheus's nameAndLabels. */
  identity(): string {
    return this.spec.name + labelsKey(this.spec.labels);
  }

  /** The most severe state among the rule's alerts. */
  state(): AlertState {
    let s: AlertState = "inactive";
    for (const a of this.active.values()) if (STATE_ORDER[a.state] > STATE_ORDER[s]) s = a.state;
    return s;
  }

  /** Pending and firing alerts (resolved ones are left out, as in Prometheus's ActiveAlerts). */
  activeAlerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.resolvedAt === null);
  }

  /**
   * Runs one evaluation at `ts` (ms): queries at ts − queryOffset, updates
   * the alerts and returns the ALERTS / ALERTS_FOR_STATE samples. Throws on
   * query errors, duplicate label sets and an exceeded `limit` (which also
   * forgets every alert, as Prometheus does).
   */
  async eval(ts: number, ctx: EvalContext): Promise<OutputSample[]> {
    const evalTime = ts - ctx.queryOffset;
    const result = await ctx.query(this.spec.query, evalTime);
    const fresh = new Map<string, Alert>();
    const onError = (err: Error): void => this.logger.warn("Expanding alert template failed", { err, alert: this.spec.name });
    for (const sample of result) {
      const input = {
        labels: labelsToRecord(sample.metric),
        externalLabels: ctx.externalLabels,
        externalURL: ctx.externalURL,
        value: sample.v,
        query: ctx.templateQuery(ts),
      };
      const built = new Map<string, string>();
      for (const l of sample.metric) if (l.name !== METRIC_NAME) built.set(l.name, l.value);
      for (const l of this.spec.labels) {
        const v = await expandAlertTemplate(this.spec.name, l.value, input, onError);
        if (v === "") built.delete(l.name);
        else built.set(l.name, v);
      }
      built.set("alertname", this.spec.name);
      const annotations: [string, string][] = [];
      for (const a of this.spec.annotations) annotations.push([a.name, await expandAlertTemplate(this.spec.name, a.value, input, onError)]);
      const labels = sortedPairs([...built.entries()]);
      const key = labelsKey(labels);
      if (fresh.has(key)) throw new Error("vector contains metrics with the same labelset after applying alert labels");
      fresh.set(key, {
        labels,
        annotations: sortedPairs(annotations),
        state: "pending",
        value: sample.v,
        activeAt: ts,
        firedAt: null,
        resolvedAt: null,
        lastSentAt: null,
        validUntil: null,
        keepFiringSince: null,
      });
    }

    for (const [key, a] of fresh) {
      const old = this.active.get(key);
      if (old && old.state !== "inactive") {
        old.value = a.value;
        old.annotations = a.annotations;
        continue;
      }
      this.active.set(key, a);
    }

    const out: OutputSample[] = [];
    let activeCount = 0;
    for (const [key, a] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (a.state === "firing" && this.spec.keepFiringFor > 0) {
          if (a.keepFiringSince === null) a.keepFiringSince = ts;
          if (ts - a.keepFiringSince < this.spec.keepFiringFor) keepFiring = true;
        }
        if (a.state === "pending" || (a.resolvedAt !== null && ts - a.resolvedAt > RESOLVED_RETENTION_MS)) {
          this.active.delete(key);
        }
        if (a.state !== "inactive" && !keepFiring) {
          a.state = "inactive";
          a.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = null;
      }
      activeCount++;
      if (a.state === "pending" && ts - a.activeAt >= this.spec.holdDuration) {
        a.state = "firing";
        a.firedAt = ts;
      }
      if (this.restored) {
        out.push({ metric: this.alertsSeriesLabels(a), t: evalTime, v: 1 });
        out.push({ metric: this.forStateSeriesLabels(a), t: evalTime, v: Math.floor(a.activeAt / 1000) });
      }
    }
    if (ctx.limit > 0 && activeCount > ctx.limit) {
      this.active = new Map();
      throw new Error(`exceeded limit of ${ctx.limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /** Labels of the `ALERTS` series of an alert: its labels plus __name__, alertname and alertstate. */
  alertsSeriesLabels(a: Alert): Labels {
    return withExtra(a.labels, [
      [METRIC_NAME, "ALERTS"],
      ["alertname", this.spec.name],
      ["alertstate", a.state],
    ]);
  }

  /** Labels of the `ALERTS_FOR_STATE` series of an alert (value: activeAt in seconds). */
  forStateSeriesLabels(a: Alert): Labels {
    return withExtra(a.labels, [
      [METRIC_NAME, "ALERTS_FOR_STATE"],
      ["alertname", this.spec.name],
    ]);
  }

  /**
   * The alerts due for sending at `ts`, marked as sent: firing ones every
   * `resendDelay`, resolved ones once right away and then every
   * `resendDelay` while retained; pending ones never. A firing alert is
   * valid for 4 × max(resendDelay, interval), so two missed evaluations or
   * sends do not resolve it at the Alertmanager.
   */
  alertsToSend(ts: number, resendDelay: number, interval: number, generatorURL: string): SentAlert[] {
    const out: SentAlert[] = [];
    for (const a of this.active.values()) {
      if (!needsSending(a, ts, resendDelay)) continue;
      a.lastSentAt = ts;
      a.validUntil = ts + 4 * Math.max(resendDelay, interval);
      out.push({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.firedAt ?? 0,
        endsAt: a.resolvedAt ?? a.validUntil,
        generatorURL,
      });
    }
    return out;
  }
}

function needsSending(a: Alert, ts: number, resendDelay: number): boolean {
  if (a.state === "pending") return false;
  if (a.resolvedAt !== null && (a.lastSentAt === null || a.resolvedAt > a.lastSentAt)) return true;
  return a.lastSentAt === null || a.lastSentAt + resendDelay < ts;
}

function withExtra(labels: Labels, extra: [string, string][]): Labels {
  const m = new Map<string, string>();
  for (const l of labels) m.set(l.name, l.value);
  for (const [n, v] of extra) m.set(n, v);
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== "") out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
