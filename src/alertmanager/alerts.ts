/**
 * The alert store: every alert Alertmanager currently knows, keyed by
 * fingerprint. Posting an alert that is already known merges the two like
 * Alertmanager's provider does (earliest start wins; the newer update's end
 * wins unless an explicit later end exists); alerts posted without endsAt
 * get `now + resolve_timeout` and are marked `timeout`. Subscribers (the
 * dispatcher) see every accepted alert; resolved alerts are dropped by
 * {@link AlertStore.gc}.
 */
import { labelsFromPairs, LABEL_NAME_RE, type Labels } from "../model/index.ts";
import { fingerprint, isResolved, type Alert } from "./types.ts";

/** An alert as a client posts it, before the store fills in times. */
export interface PostableAlert {
  labels: Labels;
  annotations?: Labels;
  /** 0 or absent: now (or endsAt when only that is given). */
  startsAt?: number;
  /** 0 or absent: now + resolve_timeout. */
  endsAt?: number;
  generatorURL?: string;
}

/**
 * Checks an alert the way Alertmanager's `Alert.Validate` does and returns
 * the problem in its words, or undefined when it is fine.
 *
 * @example validateAlert({ ...alert, labels: [] }) // "at least one label pair required"
 */
export function validateAlert(a: Alert): string | undefined {
  if (a.startsAt === 0) return "start time missing";
  if (a.endsAt !== 0 && a.endsAt < a.startsAt) return "start time must be before end time";
  const badLabel = a.labels.find((l) => !LABEL_NAME_RE.test(l.name));
  if (badLabel) return `invalid label set: invalid name ${JSON.stringify(badLabel.name)}`;
  if (a.labels.length === 0) return "at least one label pair required";
  const badAnnotation = a.annotations.find((l) => !LABEL_NAME_RE.test(l.name));
  if (badAnnotation) return `invalid annotations: invalid name ${JSON.stringify(badAnnotation.name)}`;
  return undefined;
}

/**
 * Fills in a posted alert's times as Alertmanager's API does: startsAt
 * defaults to now (or endsAt), a missing endsAt becomes now +
 * resolveTimeout with `timeout` set, empty label values are dropped.
 */
export function normalizeAlert(p: PostableAlert, now: number, resolveTimeout: number): Alert {
  const endsAt = p.endsAt ?? 0;
  const startsAt = p.startsAt || (endsAt !== 0 ? endsAt : now);
  return {
    labels: labelsFromPairs(p.labels.map((l) => [l.name, l.value] as const)),
    annotations: labelsFromPairs((p.annotations ?? []).map((l) => [l.name, l.value] as const)),
    startsAt,
    endsAt: endsAt !== 0 ? endsAt : now + resolveTimeout,
    generatorURL: p.generatorURL ?? "",
    updatedAt: now,
    timeout: endsAt === 0,
  };
}

/**
 * Alertmanager's `Alert.Merge`: `older` and `newer` have the same labels.
 * The result keeps the newer annotations, the earliest start, and for the
 * end: the later explicit resolve time when both are resolved, else a
 * later non-timeout end of the older one.
 */
export function mergeAlerts(a: Alert, b: Alert, now: number): Alert {
  const [older, newer] = b.updatedAt < a.updatedAt ? [b, a] : [a, b];
  let startsAt = newer.startsAt;
  let endsAt = newer.endsAt;
  if (older.startsAt < newer.startsAt) startsAt = older.startsAt;
  if (isResolved(newer, now)) {
    if (isResolved(older, now) && older.endsAt > newer.endsAt) endsAt = older.endsAt;
  } else if (older.endsAt > newer.endsAt && !older.timeout) {
    endsAt = older.endsAt;
  }
  return { ...newer, startsAt, endsAt };
}

/** Receives each alert the store accepted (already merged). */
export type AlertListener = (alert: Alert, fingerprint: string) => void;

/** The in-memory alert store; see the module comment. */
export class AlertStore {
  private readonly alerts = new Map<string, Alert>();
  private readonly listeners = new Set<AlertListener>();

  /**
   * Stores `alert`, merging with a known alert of the same fingerprint when
   * their activity ranges overlap (as Alertmanager does), and tells the
   * subscribers. Returns the stored alert.
   */
  put(alert: Alert, now: number): Alert {
    const fp = fingerprint(alert.labels);
    let stored = alert;
    const old = this.alerts.get(fp);
    if (old) {
      const endsInside = alert.endsAt > old.startsAt && alert.endsAt < old.endsAt;
      const startsInside = alert.startsAt > old.startsAt && alert.startsAt < old.endsAt;
      if (endsInside || startsInside) stored = mergeAlerts(old, alert, now);
    }
    this.alerts.set(fp, stored);
    for (const l of this.listeners) l(stored, fp);
    return stored;
  }

  /** The alert with this fingerprint, if known. */
  get(fp: string): Alert | undefined {
    return this.alerts.get(fp);
  }

  /** All alerts with their fingerprints, in no particular order. */
  list(): [string, Alert][] {
    return [...this.alerts];
  }

  /** Number of stored alerts. */
  get size(): number {
    return this.alerts.size;
  }

  /** Registers a listener; returns a function that removes it. */
  subscribe(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops resolved alerts; returns their fingerprints. */
  gc(now: number): string[] {
    const removed: string[] = [];
    for (const [fp, a] of this.alerts) {
      if (isResolved(a, now)) {
        this.alerts.delete(fp);
        removed.push(fp);
      }
    }
    return removed;
  }
}
