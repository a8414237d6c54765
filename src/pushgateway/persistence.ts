/**
 * The Pushgateway's persistence file (`--persistence.file`): the whole store
 * as JSON, written every `--persistence.interval` when something changed and
 * at shutdown, atomically (write a temporary file, fsync, rename). The format
 * is promts's own (the Pushgateway writes Go gob); see docs/differences.md.
 *
 * @example
 * const p = new Persistence(store, "/var/lib/promts/pushgateway.json", 300_000, logger);
 * p.load();   // throws PersistenceError naming the file when it is corrupt
 * p.start();
 * await p.stop(); // final write
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../base/index.ts";
import type { Logger } from "../log/index.ts";
import type { FamilyType, Pair, PushedFamily, PushedMetric } from "./families.ts";
import type { Group, PushStore } from "./store.ts";

export class PersistenceError extends Error {
  constructor(file: string, detail: string) {
    super(`persistence file ${file}: ${detail}`);
    this.name = "PersistenceError";
  }
}

const FORMAT = "promts-pushgateway/1";
const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "summary", "histogram", "untyped"]);

function num(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

function readNum(v: unknown, where: string): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  throw new Error(`${where}: not a number`);
}

function encodeMetric(m: PushedMetric): unknown {
  const o: Record<string, unknown> = { l: m.labels };
  if (m.value !== undefined) o.v = num(m.value);
  if (m.count !== undefined) o.c = num(m.count);
  if (m.sum !== undefined) o.s = num(m.sum);
  if (m.quantiles) o.q = m.quantiles.map(([q, v]) => [num(q), num(v)]);
  if (m.buckets) o.b = m.buckets.map(([u, c]) => [num(u), num(c)]);
  return o;
}

function pairs(v: unknown, where: string): Pair[] {
  if (!Array.isArray(v)) throw new Error(`${where}: labels are not a list`);
  return v.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") throw new Error(`${where}: label ${i} is not a [name, value] pair`);
    return [p[0], p[1]] as const;
  });
}

function numPairs(v: unknown, where: string): [number, number][] {
  if (!Array.isArray(v)) throw new Error(`${where}: not a list`);
  return v.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`${where}[${i}]: not a pair`);
    return [readNum(p[0], `${where}[${i}]`), readNum(p[1], `${where}[${i}]`)];
  });
}

function decodeMetric(o: unknown, where: string): PushedMetric {
  if (typeof o !== "object" || o === null) throw new Error(`${where}: not an object`);
  const r = o as Record<string, unknown>;
  const m: PushedMetric = { labels: pairs(r.l, where) };
  if (r.v !== undefined) m.value = readNum(r.v, `${where}.v`);
  if (r.c !== undefined) m.count = readNum(r.c, `${where}.c`);
  if (r.s !== undefined) m.sum = readNum(r.s, `${where}.s`);
  if (r.q !== undefined) m.quantiles = numPairs(r.q, `${where}.q`);
  if (r.b !== undefined) m.buckets = numPairs(r.b, `${where}.b`);
  return m;
}

/** One group as a JSON value (the persistence file's and the cluster's form). */
export function groupToJSON(g: Group): unknown {
  return {
    key: g.key,
    pushTime: g.pushTime,
    failureTime: g.failureTime,
    ok: g.lastPushSuccessful,
    families: [...g.families.values()].map(({ family: f, pushedAt }) => ({
      name: f.name, help: f.help, type: f.type, at: pushedAt, metrics: f.metrics.map(encodeMetric),
    })),
  };
}

/** The store's groups as the file's JSON text. */
export function encodeGroups(groups: readonly Group[]): string {
  return JSON.stringify({ format: FORMAT, groups: groups.map(groupToJSON) });
}

/** Parses the file's text back into groups; throws Error naming what is wrong. */
export function decodeGroups(text: string): Group[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || (doc as { format?: unknown }).format !== FORMAT) throw new Error(`not a promts Pushgateway persistence file (format "${FORMAT}" expected)`);
  const list = (doc as { groups?: unknown }).groups;
  if (!Array.isArray(list)) throw new Error("groups: not a list");
  return list.map((g, gi) => groupFromJSON(g, `groups[${gi}]`));
}

/** Reads one group written by {@link groupToJSON}; throws Error naming `where` and the field at fault. */
export function groupFromJSON(g: unknown, where: string): Group {
  if (typeof g !== "object" || g === null) throw new Error(`${where}: not an object`);
  const r = g as Record<string, unknown>;
  const key = pairs(r.key, `${where}.key`);
  if (!key.some(([n]) => n === "job")) throw new Error(`${where}.key: no job label`);
  if (!Array.isArray(r.families)) throw new Error(`${where}.families: not a list`);
  const families = new Map<string, { family: PushedFamily; pushedAt: number }>();
  r.families.forEach((f: unknown, fi: number) => {
    const fw = `${where}.families[${fi}]`;
    if (typeof f !== "object" || f === null) throw new Error(`${fw}: not an object`);
    const fr = f as Record<string, unknown>;
    if (typeof fr.name !== "string" || fr.name === "") throw new Error(`${fw}.name: not a metric name`);
    if (typeof fr.type !== "string" || !TYPES.has(fr.type)) throw new Error(`${fw}.type: not a metric type`);
    if (fr.help !== undefined && typeof fr.help !== "string") throw new Error(`${fw}.help: not a string`);
    if (!Array.isArray(fr.metrics)) throw new Error(`${fw}.metrics: not a list`);
    const family: PushedFamily = {
      name: fr.name, type: fr.type as FamilyType,
      metrics: fr.metrics.map((m: unknown, mi: number) => decodeMetric(m, `${fw}.metrics[${mi}]`)),
    };
    if (typeof fr.help === "string") family.help = fr.help;
    families.set(fr.name, { family, pushedAt: readNum(fr.at, `${fw}.at`) });
  });
  return {
    key, families,
    pushTime: readNum(r.pushTime, `${where}.pushTime`),
    failureTime: readNum(r.failureTime, `${where}.failureTime`),
    lastPushSuccessful: r.ok === true,
  };
}

/** Keeps a store in its persistence file. */
export class Persistence {
  private timer: ReturnType<typeof setInterval> | undefined;
  private written = -1;

  constructor(
    private readonly store: PushStore,
    readonly file: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Loads the file into the store when it exists. Throws PersistenceError naming the file when it is unusable. */
  load(): number {
    if (!existsSync(this.file)) return 0;
    let groups: Group[];
    try {
      groups = decodeGroups(readFileSync(this.file, "utf8"));
    } catch (err) {
      throw new PersistenceError(this.file, (err as Error).message);
    }
    this.store.restore(groups);
    this.store.expire(Date.now());
    this.written = this.store.version;
    return groups.length;
  }

  /** Writes the store if it changed since the last write; false (logged) when the write failed. */
  flush(): boolean {
    this.store.expire(Date.now());
    const v = this.store.version;
    if (v === this.written) return true;
    try {
      writeFileAtomic(this.file, encodeGroups(this.store.list()));
      this.written = v;
      return true;
    } catch (err) {
      this.logger.error("Error persisting metrics", { file: this.file, err });
      return false;
    }
  }

  start(): void {
    if (this.intervalMs > 0) this.timer = setInterval(() => this.flush(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
