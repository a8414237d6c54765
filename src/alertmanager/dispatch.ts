/**
 * The dispatcher: routes every alert through the tree and keeps one
 * aggregation group per (route, group labels). A group flushes first
 * group_wait after it was created (at once when an alert in it started
 * longer ago than that), then every group_interval; the pipeline's dedup
 * stage decides whether a flush actually notifies (new alerts, resolved
 * ones, or repeat_interval elapsed). After a successful flush, resolved
 * alerts that did not change meanwhile leave the group; an empty group is
 * removed.
 *
 * In a cluster (`alignTicks`), the group_interval ticks after the first
 * flush fall on a grid shared by every node — multiples of group_interval
 * since the Unix epoch, shifted by a phase derived from the group key — so
 * a node whose groups were created at another time (a restarted node)
 * still ticks together with its peers, and the position wait orders their
 * flushes as Alertmanager's design assumes. Only the interval after the
 * first flush is shortened to reach the grid; later ones are
 * group_interval apart, as in Alertmanager.
 *
 * The group key receivers see is Alertmanager's:
 * `<route key>:<group labels>`, e.g. `{}/{team="db"}:{alertname="DiskFull"}`.
 *
 * @example
 * const d = new Dispatcher(buildRouteTree(cfg.route), clock, flush, logger);
 * d.process(alert, fingerprint(alert.labels));
 */
import type { Logger } from "../log/index.ts";
import { keepLabels, labelsFromPairs, type Labels } from "../model/index.ts";
import type { Clock, Timer } from "./clock.ts";
import type { Route } from "./route.ts";
import { fingerprint, fingerprintOf, isResolved, type Alert } from "./types.ts";

/** What a flush hands to the notification pipeline about its group. */
export interface GroupInfo {
  groupKey: string;
  route: Route;
  groupLabels: Labels;
}

/**
 * Sends one flush through the pipeline; resolves true when every
 * integration succeeded (only then are resolved alerts dropped).
 */
export type FlushFn = (group: GroupInfo, alerts: Alert[]) => Promise<boolean>;

/** A snapshot of one aggregation group, for the API. */
export interface AlertGroup extends GroupInfo {
  alerts: Alert[];
}

/** Go's strconv.Quote for the characters label values hold in practice. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** `model.LabelSet.String()`: `{a="1", b="2"}`, sorted, ", "-separated. */
export function labelSetString(ls: Labels): string {
  return `{${ls.map((l) => `${l.name}=${quote(l.value)}`).join(", ")}}`;
}

/** The labels of `alert` that the route groups by. */
export function groupLabelsFor(alert: Alert, route: Route): Labels {
  if (route.opts.groupByAll) return alert.labels;
  return keepLabels(alert.labels, new Set(route.opts.groupBy));
}

/**
 * `model.LabelSet.Before` as a comparator: fewer labels first; between
 * sets of one size, the first differing label over the union of names
 * decides (a set lacking that name sorts first, else by value).
 *
 * @example compareLabelSets(labelsFromRecord({ z: "1" }), labelsFromRecord({ a: "1", b: "2" })) // < 0
 */
export function compareLabelSets(a: Labels, b: Labels): number {
  if (a.length !== b.length) return a.length - b.length;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && y && x.name === y.name) {
      if (x.value !== y.value) return x.value < y.value ? -1 : 1;
      i++;
      j++;
      continue;
    }
    // The smaller name is missing from the other set; the set missing it sorts first.
    return !y || (x && x.name < y.name) ? 1 : -1;
  }
  return 0;
}

/**
 * Alertmanager's AlertSlice order: by job, then instance (alerts having
 * the label before those without), then {@link compareLabelSets}.
 */
export function compareAlerts(a: Alert, b: Alert): number {
  for (const key of ["job", "instance"]) {
    const x = a.labels.find((l) => l.name === key)?.value;
    const y = b.labels.find((l) => l.name === key)?.value;
    if (x === undefined && y === undefined) continue;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return compareLabelSets(a.labels, b.labels);
}

class AggregationGroup {
  readonly alerts = new Map<string, Alert>();
  hasFlushed = false;
  flushing = false;
  private timer: Timer | undefined;

  constructor(readonly info: GroupInfo, private readonly dispatcher: Dispatcher) {
    this.schedule(info.route.opts.groupWait);
  }

  schedule(ms: number): void {
    this.timer?.cancel();
    this.timer = this.dispatcher.clock.setTimer(() => this.onTimer(), ms);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  insert(alert: Alert, fp: string): void {
    this.alerts.set(fp, alert);
    const clock = this.dispatcher.clock;
    if (!this.hasFlushed && alert.startsAt + this.info.route.opts.groupWait < clock.now()) this.schedule(0);
  }

  private onTimer(): void {
    this.schedule(this.dispatcher.nextTickIn(this.info));
    if (this.flushing) return;
    this.hasFlushed = true;
    this.dispatcher.track(this.flush());
  }

  /** Sends the current alerts (firing ones with endsAt cleared, as Alertmanager does) and prunes resolved ones. */
  private async flush(): Promise<void> {
    const now = this.dispatcher.clock.now();
    const snapshot = [...this.alerts];
    const sent = snapshot.map(([, a]) => (isResolved(a, now) ? a : { ...a, endsAt: 0 })).sort(compareAlerts);
    this.flushing = true;
    let ok = false;
    try {
      ok = await this.dispatcher.flushFn(this.info, sent);
    } catch (e) {
      this.dispatcher.logger.error("Notify for alerts failed", { aggrGroup: this.info.groupKey, err: e as Error });
    } finally {
      this.flushing = false;
    }
    if (!ok) return;
    for (const [fp, a] of snapshot) {
      if (isResolved(a, now) && this.alerts.get(fp) === a) this.alerts.delete(fp);
    }
    if (this.alerts.size === 0) this.dispatcher.remove(this);
  }
}

/** Routes alerts into aggregation groups and flushes them; see the module comment. */
export class Dispatcher {
  private readonly groupsByKey = new Map<string, AggregationGroup>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    readonly route: Route,
    readonly clock: Clock,
    readonly flushFn: FlushFn,
    readonly logger: Logger,
    /** Put group_interval ticks on the cluster-wide grid (see the module comment). */
    readonly alignTicks = false,
  ) {}

  /** How long until `group`'s next group_interval tick from now. */
  nextTickIn(group: GroupInfo): number {
    const interval = group.route.opts.groupInterval;
    if (!this.alignTicks || interval <= 0) return interval;
    const now = this.clock.now();
    const phase = Number(fingerprintOf(labelsFromPairs([["groupKey", group.groupKey]])) % BigInt(interval));
    const next = phase + Math.floor((now - phase) / interval + 1) * interval;
    return next - now;
  }

  /** Puts an alert into the group of every route it matches. */
  process(alert: Alert, fp: string = fingerprint(alert.labels)): void {
    if (this.stopped) return;
    for (const route of this.route.match(alert.labels)) {
      const groupLabels = groupLabelsFor(alert, route);
      const mapKey = `${route.id()}\u0000${fingerprint(groupLabels)}`;
      let group = this.groupsByKey.get(mapKey);
      if (!group) {
        const groupKey = `${route.key()}:${labelSetString(groupLabels)}`;
        group = new AggregationGroup({ groupKey, route, groupLabels }, this);
        this.groupsByKey.set(mapKey, group);
      }
      group.insert(alert, fp);
    }
  }

  /** Current groups with their alerts, sorted by group key. */
  groups(): AlertGroup[] {
    return [...this.groupsByKey.values()]
      .map((g) => ({ ...g.info, alerts: [...g.alerts.values()].sort(compareAlerts) }))
      .sort((a, b) => (a.groupKey < b.groupKey ? -1 : a.groupKey > b.groupKey ? 1 : 0));
  }

  /** Number of aggregation groups (alertmanager_dispatcher_aggregation_groups). */
  get groupCount(): number {
    return this.groupsByKey.size;
  }

  /** Resolves when every flush running now has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops all timers; running flushes finish on their own. */
  stop(): void {
    this.stopped = true;
    for (const g of this.groupsByKey.values()) g.stop();
    this.groupsByKey.clear();
  }

  /** @internal Called by groups. */
  track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** @internal Called by a group that became empty. */
  remove(group: AggregationGroup): void {
    for (const [k, g] of this.groupsByKey) {
      if (g === group) {
        g.stop();
        this.groupsByKey.delete(k);
      }
    }
  }
}
