/**
 * The Pushgateway's metric store: groups keyed by grouping key, each holding
 * the families last pushed to it, its last push time and last failure time.
 *
 * - PUT replaces a group's metrics; POST replaces only the families pushed;
 *   DELETE drops the group.
 * - Grouping-key labels override those of the same name in the body; a
 *   metric without an `instance` label gets `instance=""`.
 * - The consistency check (on unless disabled) refuses a push whose metrics
 *   carry timestamps, repeat a series already in the gateway, or give a
 *   metric name another type than it has elsewhere; the group keeps its old
 *   metrics and records the failure time.
 * - With a TTL, a group not changed for longer than the TTL is dropped.
 *
 * Every change bumps `version`, which persistence watches.
 *
 * @example
 * const store = new PushStore();
 * store.push(parseGroupingKey("batch", ""), parseTextFamilies("done 1\n"), "PUT", Date.now());
 * store.gather(); // families `done`, `push_failure_time_seconds`, `push_time_seconds`
 */
import { compareMetrics, familyJSON, pairsKey, protoText, sortPairs, type Pair, type PushedFamily, type PushedMetric } from "./families.ts";
import { groupingKeyString } from "./grouping.ts";

export const PUSH_TIME_METRIC = "push_time_seconds";
export const PUSH_FAILURE_TIME_METRIC = "push_failure_time_seconds";
const PUSH_TIME_HELP = "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_TIME_HELP = "Last Unix time when changing this group in the Pushgateway failed.";

/** One family of a group, with the time it was last pushed (ms). */
export interface StoredFamily {
  family: PushedFamily;
  pushedAt: number;
}

export interface Group {
  /** The grouping key, sorted by name (always has `job`). */
  key: Pair[];
  families: Map<string, StoredFamily>;
  /** Last successful change (ms); 0 when none succeeded. */
  pushTime: number;
  /** Last failed change (ms); 0 when none failed. */
  failureTime: number;
  lastPushSuccessful: boolean;
}

/** A push refused by the consistency check (answered with 400). */
export class InconsistentPushError extends Error {
  constructor(detail: string) {
    super(`pushed metrics are invalid or inconsistent with existing metrics: ${detail}`);
    this.name = "InconsistentPushError";
  }
}

export type PushMethod = "PUT" | "POST";

export interface PushStoreOptions {
  /** Skip the consistency check (--push.disable-consistency-check). */
  disableConsistencyCheck?: boolean;
  /** Drop groups not changed for this long (ms); 0 disables expiry. */
  groupTTL?: number;
}

/** Applies the grouping key to a pushed metric's labels. */
function applyKey(m: PushedMetric, key: readonly Pair[]): PushedMetric {
  const names = new Set(key.map(([n]) => n));
  const labels: Pair[] = m.labels.filter(([n]) => !names.has(n));
  labels.push(...key);
  if (!labels.some(([n]) => n === "instance")) labels.push(["instance", ""]);
  return { ...m, labels: sortPairs(labels) };
}

/** A change to one group, for replication: the group as it now is, or its deletion at `at` (ms). */
export type GroupChange = { group: Group } | { key: Pair[]; deletedAt: number };

/** When a group last changed (a push, a failed push): what "newest" means between replicas. */
export function groupChangeTime(g: Group): number {
  return Math.max(g.pushTime, g.failureTime);
}

export class PushStore {
  private readonly groups = new Map<string, Group>();
  /** Called after every local change (the cluster replica broadcasts it). */
  onChange: ((c: GroupChange) => void) | undefined;
  /** Bumped on every change; persistence writes when it moved. */
  version = 0;
  private readonly checkConsistency: boolean;
  readonly groupTTL: number;

  constructor(opts: PushStoreOptions = {}) {
    this.checkConsistency = !opts.disableConsistencyCheck;
    this.groupTTL = opts.groupTTL ?? 0;
  }

  get size(): number {
    return this.groups.size;
  }

  /** The groups, ordered by grouping key. */
  list(now = Date.now()): Group[] {
    this.expire(now);
    return [...this.groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, g]) => g);
  }

  get(key: readonly Pair[]): Group | undefined {
    return this.groups.get(groupingKeyString(key));
  }

  /**
   * Applies a push. Throws InconsistentPushError (after recording the failure
   * time on the group) when the consistency check refuses it.
   */
  push(key: Pair[], pushed: readonly PushedFamily[], method: PushMethod, now: number): void {
    this.expire(now);
    const id = groupingKeyString(key);
    const old = this.groups.get(id);
    const families = new Map<string, StoredFamily>(method === "POST" && old ? old.families : []);
    for (const f of pushed) {
      if (f.name === PUSH_TIME_METRIC || f.name === PUSH_FAILURE_TIME_METRIC) continue;
      families.set(f.name, { family: { ...f, metrics: f.metrics.map((m) => applyKey(m, key)) }, pushedAt: now });
    }
    if (this.checkConsistency) {
      try {
        this.check(id, pushed, families);
      } catch (err) {
        const g = old ?? { key, families: new Map(), pushTime: 0, failureTime: 0, lastPushSuccessful: false };
        g.failureTime = now;
        g.lastPushSuccessful = false;
        this.groups.set(id, g);
        this.version++;
        this.onChange?.({ group: g });
        throw err;
      }
    }
    const g: Group = { key, families, pushTime: now, failureTime: old?.failureTime ?? 0, lastPushSuccessful: true };
    this.groups.set(id, g);
    this.version++;
    this.onChange?.({ group: g });
  }

  /** Drops a group; false when there was none. */
  delete(key: readonly Pair[], now = Date.now()): boolean {
    const had = this.groups.delete(groupingKeyString(key));
    if (had) {
      this.version++;
      this.onChange?.({ key: [...key], deletedAt: now });
    }
    return had;
  }

  /** Drops every group. */
  wipe(now = Date.now()): void {
    if (this.groups.size > 0) this.version++;
    const keys = [...this.groups.values()].map((g) => g.key);
    this.groups.clear();
    for (const key of keys) this.onChange?.({ key, deletedAt: now });
  }

  /**
   * Takes a peer's change when it is newer than this store's group (by
   * change time; equal times are broken by the encoded content, so every
   * node picks the same). A deletion removes a group changed before it.
   * Returns whether something changed. No consistency check: the node that
   * took the push checked it.
   */
  applyRemote(c: GroupChange, tieBreak: (a: Group, b: Group) => number): boolean {
    const key = "group" in c ? c.group.key : c.key;
    const id = groupingKeyString(key);
    const have = this.groups.get(id);
    if ("deletedAt" in c) {
      if (!have || groupChangeTime(have) >= c.deletedAt) return false;
      this.groups.delete(id);
      this.version++;
      return true;
    }
    if (have) {
      const d = groupChangeTime(c.group) - groupChangeTime(have);
      if (d < 0 || (d === 0 && tieBreak(c.group, have) <= 0)) return false;
    }
    this.groups.set(id, c.group);
    this.version++;
    return true;
  }

  /** Replaces the whole state (persistence restore). */
  restore(groups: readonly Group[]): void {
    this.groups.clear();
    for (const g of groups) this.groups.set(groupingKeyString(g.key), g);
    this.version++;
  }

  /** Drops groups past the TTL; returns how many. */
  expire(now: number): number {
    if (this.groupTTL <= 0) return 0;
    let n = 0;
    for (const [id, g] of this.groups) {
      if (now - Math.max(g.pushTime, g.failureTime) > this.groupTTL) {
        this.groups.delete(id);
        n++;
      }
    }
    if (n > 0) this.version++;
    return n;
  }

  private check(id: string, pushed: readonly PushedFamily[], candidate: Map<string, StoredFamily>): void {
    for (const f of pushed) {
      for (const m of f.metrics) {
        if (m.timestampMs !== undefined) throw new InconsistentPushError("pushed metrics must not have timestamps");
      }
    }
    // Types and series of every other group, then the candidate's.
    const types = new Map<string, string>();
    const seen = new Set<string>();
    const visit = (fam: PushedFamily, own: boolean): void => {
      const t = types.get(fam.name);
      for (const m of fam.metrics) {
        if (own && t !== undefined && t !== fam.type) {
          throw new InconsistentPushError(`collected metric "${fam.name}" ${protoText(fam, m)} is not a ${t.toUpperCase()}`);
        }
        const k = `${fam.name}\xfd${pairsKey(m.labels)}`;
        if (seen.has(k)) {
          if (own) throw new InconsistentPushError(`collected metric "${fam.name}" ${protoText(fam, m)} was collected before with the same name and label values`);
        }
        seen.add(k);
      }
      if (t === undefined) types.set(fam.name, fam.type);
    };
    for (const [gid, g] of this.groups) {
      if (gid === id) continue;
      for (const sf of g.families.values()) visit(sf.family, false);
    }
    for (const sf of candidate.values()) visit(sf.family, true);
    // Names that a summary's or histogram's series take.
    for (const sf of candidate.values()) {
      const f = sf.family;
      const suffixes = f.type === "histogram" ? ["_bucket", "_sum", "_count"] : f.type === "summary" ? ["_sum", "_count"] : [];
      for (const s of suffixes) {
        const other = types.get(f.name + s);
        if (other !== undefined) {
          throw new InconsistentPushError(`collected metric named "${f.name}${s}" collides with previously collected ${f.type} named "${f.name}"`);
        }
      }
    }
  }

  /**
   * Every group's families merged by name and sorted, plus
   * `push_time_seconds` and `push_failure_time_seconds` for each group.
   */
  gather(now = Date.now()): PushedFamily[] {
    const groups = this.list(now);
    const byName = new Map<string, PushedFamily>();
    for (const g of groups) {
      for (const { family } of g.families.values()) {
        const have = byName.get(family.name);
        if (!have) byName.set(family.name, { ...family, metrics: [...family.metrics] });
        else have.metrics.push(...family.metrics);
      }
    }
    const pushTimes: PushedMetric[] = [], failures: PushedMetric[] = [];
    for (const g of groups) {
      const labels = applyKey({ labels: [] }, g.key).labels;
      pushTimes.push({ labels, value: g.pushTime / 1000 });
      failures.push({ labels, value: g.failureTime / 1000 });
    }
    if (groups.length > 0) {
      byName.set(PUSH_TIME_METRIC, { name: PUSH_TIME_METRIC, help: PUSH_TIME_HELP, type: "gauge", metrics: pushTimes });
      byName.set(PUSH_FAILURE_TIME_METRIC, { name: PUSH_FAILURE_TIME_METRIC, help: PUSH_FAILURE_TIME_HELP, type: "gauge", metrics: failures });
    }
    const out = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const f of out) f.metrics.sort(compareMetrics);
    return out;
  }

  /** The `data` of `GET /api/v1/metrics`. */
  groupsJSON(now = Date.now()): Record<string, unknown>[] {
    return this.list(now).map((g) => {
      const labels: Record<string, string> = {};
      for (const [n, v] of g.key) labels[n] = v;
      const at = goTime(Math.max(g.pushTime, g.failureTime));
      const obj: Record<string, unknown> = {};
      const gl = applyKey({ labels: [] }, g.key).labels;
      const entries: [string, unknown][] = [
        ["labels", labels],
        ["last_push_successful", g.lastPushSuccessful],
        [PUSH_FAILURE_TIME_METRIC, familyJSON({ name: PUSH_FAILURE_TIME_METRIC, help: PUSH_FAILURE_TIME_HELP, type: "gauge", metrics: [{ labels: gl, value: g.failureTime / 1000 }] }, at)],
        [PUSH_TIME_METRIC, familyJSON({ name: PUSH_TIME_METRIC, help: PUSH_TIME_HELP, type: "gauge", metrics: [{ labels: gl, value: g.pushTime / 1000 }] }, at)],
      ];
      for (const [name, sf] of g.families) {
        entries.push([name, familyJSON({ ...sf.family, metrics: [...sf.family.metrics].sort(compareMetrics) }, goTime(sf.pushedAt))]);
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (const [k, v] of entries) obj[k] = v;
      return obj;
    });
  }
}

/** A time as Go's RFC 3339 with nanoseconds, trailing zeros dropped. */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === "" ? "Z" : `.${frac}Z`));
}
