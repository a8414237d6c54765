/**
 * Dashboards (PromDash's job): named, saved sets of panels, stored by the
 * server as one JSON file per dashboard under `<data dir>/dashboards/`, and
 * the HTTP API the UI uses to list, get, put and delete them:
 *
 * - `GET    /api/v1/dashboards`        → `{status:"success", data:[{name,title,panels,updated}]}`
 * - `GET    /api/v1/dashboards/:name`  → `{status:"success", data:<dashboard>}` or 404
 * - `PUT    /api/v1/dashboards/:name`  ← a dashboard JSON → `{status:"success", data:<stored dashboard>}`
 * - `DELETE /api/v1/dashboards/:name`  → `{status:"success"}` or 404
 *
 * Bad input answers 400 `{status:"error", errorType:"bad_data", error}`
 * naming the field at fault. Writes go to a temporary file then rename, so a
 * crash never leaves half a dashboard.
 */
import { Hono } from "hono";
import { mkdirSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { writeFileAtomic } from "../base/index.ts";
import { join } from "node:path";
import type { ClusterPeer } from "../cluster/index.ts";

/** A dashboard name: what its URL and file are called. */
export const DASHBOARD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Where a panel sits on the dashboard's 24-column grid (Grafana's gridPos). */
export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One panel: a PromQL query shown as a graph or a table over a range. */
export interface DashboardPanel {
  title: string;
  expr: string;
  type: "graph" | "table";
  /** Range as a Prometheus duration, e.g. "1h"; the dashboard's range when absent. */
  range?: string;
  stacked?: boolean;
  gridPos: GridPos;
}

/** A saved dashboard. */
export interface Dashboard {
  name: string;
  title: string;
  /** Default range of its panels, e.g. "1h". */
  range: string;
  panels: DashboardPanel[];
  /** RFC 3339 time of the last save, set by the server. */
  updated?: string;
}

/** A listing entry. */
export interface DashboardSummary {
  name: string;
  title: string;
  panels: number;
  updated: string;
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const MAX_PANELS = 200;
const MAX_BYTES = 1 << 20;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function gridNumber(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${where}: must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Checks a dashboard read from JSON and returns it in canonical form;
 * throws an Error naming the first field at fault.
 */
export function validateDashboard(input: unknown, name: string): Dashboard {
  if (!DASHBOARD_NAME.test(name)) throw new Error(`name ${JSON.stringify(name)}: must match ${DASHBOARD_NAME.source}`);
  if (!isObject(input)) throw new Error("dashboard: must be a JSON object");
  if (input.name !== undefined && input.name !== name) throw new Error(`name: body says ${JSON.stringify(input.name)} but the URL says ${JSON.stringify(name)}`);
  const title = input.title ?? name;
  if (typeof title !== "string" || title.length > 200) throw new Error("title: must be a string of at most 200 characters");
  const range = input.range ?? "1h";
  if (typeof range !== "string" || !DURATION.test(range)) throw new Error(`range: ${JSON.stringify(range)} is not a duration like 1h`);
  if (!Array.isArray(input.panels)) throw new Error("panels: must be an array");
  if (input.panels.length > MAX_PANELS) throw new Error(`panels: at most ${MAX_PANELS} panels`);
  const panels = input.panels.map((p: unknown, i: number): DashboardPanel => {
    const where = `panels[${i}]`;
    if (!isObject(p)) throw new Error(`${where}: must be an object`);
    if (typeof p.expr !== "string") throw new Error(`${where}.expr: must be a string`);
    const ptitle = p.title ?? "";
    if (typeof ptitle !== "string") throw new Error(`${where}.title: must be a string`);
    const type = p.type ?? "graph";
    if (type !== "graph" && type !== "table") throw new Error(`${where}.type: must be "graph" or "table", got ${JSON.stringify(type)}`);
    if (p.range !== undefined && (typeof p.range !== "string" || !DURATION.test(p.range))) throw new Error(`${where}.range: ${JSON.stringify(p.range)} is not a duration like 1h`);
    if (p.stacked !== undefined && typeof p.stacked !== "boolean") throw new Error(`${where}.stacked: must be true or false`);
    const g = isObject(p.gridPos) ? p.gridPos : { x: 0, y: i * 8, w: 12, h: 8 };
    const gridPos = {
      x: gridNumber(g.x, `${where}.gridPos.x`, 0, 23),
      y: gridNumber(g.y, `${where}.gridPos.y`, 0, 10_000),
      w: gridNumber(g.w, `${where}.gridPos.w`, 1, 24),
      h: gridNumber(g.h, `${where}.gridPos.h`, 1, 100),
    };
    const panel: DashboardPanel = { title: ptitle, expr: p.expr, type, gridPos };
    if (p.range !== undefined) panel.range = p.range as string;
    if (p.stacked) panel.stacked = true;
    return panel;
  });
  return { name, title, range, panels };
}

/** A change to one dashboard: stored (with its content) or deleted, at `updated`. */
export interface DashboardChange {
  name: string;
  /** Unix ms of the save or the deletion. */
  updated: number;
  /** The dashboard, or null when it was deleted. */
  dashboard: Dashboard | null;
}

/** The dashboards of one server, as files in one directory. */
export class DashboardStore {
  /** Called after every local put or delete (the cluster replica broadcasts it). */
  onChange: ((c: DashboardChange) => void) | undefined;

  constructor(readonly dir: string) {}

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  list(): DashboardSummary[] {
    if (!existsSync(this.dir)) return [];
    const out: DashboardSummary[] = [];
    for (const f of readdirSync(this.dir).sort()) {
      if (!f.endsWith(".json")) continue;
      const d = this.get(f.slice(0, -5));
      if (d) out.push({ name: d.name, title: d.title, panels: d.panels.length, updated: d.updated ?? "" });
    }
    return out;
  }

  /** The dashboard, or undefined when there is none (or its file is unreadable). */
  get(name: string): Dashboard | undefined {
    if (!DASHBOARD_NAME.test(name)) return undefined;
    let text: string;
    try {
      text = readFileSync(this.file(name), "utf8");
    } catch {
      return undefined;
    }
    try {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const d = validateDashboard(raw, name);
      if (typeof raw.updated === "string") d.updated = raw.updated;
      return d;
    } catch {
      return undefined;
    }
  }

  /** Validates and stores; returns what was stored. */
  put(name: string, input: unknown, now = new Date()): Dashboard {
    const d = validateDashboard(input, name);
    d.updated = now.toISOString();
    mkdirSync(this.dir, { recursive: true });
    this.write(d);
    this.forgetDeletion(name);
    this.onChange?.({ name, updated: now.getTime(), dashboard: d });
    return d;
  }

  /** Removes; false when there was none. */
  delete(name: string, now = new Date()): boolean {
    if (!DASHBOARD_NAME.test(name) || !existsSync(this.file(name))) return false;
    rmSync(this.file(name));
    this.recordDeletion(name, now.getTime());
    this.onChange?.({ name, updated: now.getTime(), dashboard: null });
    return true;
  }

  /** Every dashboard and every remembered deletion, for a full exchange with a peer. */
  changes(): DashboardChange[] {
    const out: DashboardChange[] = [];
    for (const s of this.list()) {
      const d = this.get(s.name);
      if (d) out.push({ name: s.name, updated: Date.parse(d.updated ?? "") || 0, dashboard: d });
    }
    for (const [name, updated] of Object.entries(this.deletions())) out.push({ name, updated, dashboard: null });
    return out;
  }

  /**
   * Takes a change from a peer when it is newer than what this store has
   * (the last save or deletion wins); returns whether it changed anything.
   * Does not call `onChange`.
   */
  apply(c: DashboardChange): boolean {
    if (!DASHBOARD_NAME.test(c.name)) throw new Error(`dashboard name ${JSON.stringify(c.name)}: must match ${DASHBOARD_NAME.source}`);
    const have = this.get(c.name);
    const haveAt = have ? Date.parse(have.updated ?? "") || 0 : this.deletions()[c.name] ?? -1;
    if (c.updated <= haveAt) return false;
    if (c.dashboard === null) {
      if (have) rmSync(this.file(c.name), { force: true });
      this.recordDeletion(c.name, c.updated);
      return true;
    }
    const d = validateDashboard(c.dashboard, c.name);
    d.updated = new Date(c.updated).toISOString();
    this.write(d);
    this.forgetDeletion(c.name);
    return true;
  }

  private write(d: Dashboard): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file(d.name), JSON.stringify(d, null, 2) + "\n");
  }

  /** Deletions are remembered (name → Unix ms) so a peer that missed one does not bring the dashboard back. */
  private deletions(): Record<string, number> {
    try {
      const raw = JSON.parse(readFileSync(join(this.dir, TOMBSTONES), "utf8")) as unknown;
      if (!isObject(raw)) return {};
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(raw)) if (DASHBOARD_NAME.test(k) && typeof v === "number" && Number.isFinite(v)) out[k] = v;
      return out;
    } catch {
      return {};
    }
  }

  private recordDeletion(name: string, at: number): void {
    const all = this.deletions();
    all[name] = at;
    // Deletions older than the retention are forgotten.
    for (const [k, v] of Object.entries(all)) if (v < at - DELETION_RETENTION_MS) delete all[k];
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(join(this.dir, TOMBSTONES), JSON.stringify(all) + "\n");
  }

  private forgetDeletion(name: string): void {
    const all = this.deletions();
    if (!(name in all)) return;
    delete all[name];
    writeFileAtomic(join(this.dir, TOMBSTONES), JSON.stringify(all) + "\n");
  }
}

/** The file remembering deletions (no `.json` suffix: it is not a dashboard). */
const TOMBSTONES = ".deleted";
/** How long a deletion is remembered for peers that were away. */
const DELETION_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** The largest replicated message taken from a peer. */
const MAX_REPLICA_BYTES = 64 << 20;

/** What the replica needs of the cluster. */
export type DashboardCluster = Pick<ClusterPeer, "addState">;

function decodeChanges(data: Uint8Array): DashboardChange[] {
  if (data.byteLength > MAX_REPLICA_BYTES) throw new Error(`dashboards: message of ${data.byteLength} bytes is over ${MAX_REPLICA_BYTES}`);
  const raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data)) as unknown;
  if (!Array.isArray(raw)) throw new Error("dashboards: message is not a list of changes");
  return raw.map((c: unknown, i: number): DashboardChange => {
    if (!isObject(c) || typeof c.name !== "string" || typeof c.updated !== "number" || !Number.isFinite(c.updated) || (c.dashboard !== null && !isObject(c.dashboard))) {
      throw new Error(`dashboards: change ${i} is not {name, updated, dashboard}`);
    }
    return { name: c.name, updated: c.updated, dashboard: c.dashboard === null ? null : validateDashboard(c.dashboard, c.name) };
  });
}

/**
 * Replicates a store over the cluster: every local save or deletion is
 * broadcast, a peer's change is taken when newer (last writer wins, by
 * save time), and a joining node gets every dashboard and deletion in the
 * full-state exchange.
 */
export function replicateDashboards(store: DashboardStore, cluster: DashboardCluster): void {
  const encode = (changes: DashboardChange[]) => new TextEncoder().encode(JSON.stringify(changes));
  const channel = cluster.addState("dashboards", {
    marshal: () => encode(store.changes()),
    merge: (data) => {
      for (const c of decodeChanges(data)) store.apply(c);
    },
  });
  store.onChange = (c) => channel.broadcast(encode([c]));
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } });
}

function badData(error: string, status = 400): Response {
  return json({ status: "error", errorType: status === 404 ? "not_found" : "bad_data", error }, status);
}

/** The dashboards API, to mount at `/api/v1/dashboards` under the route prefix. */
export function dashboardsAPI(store: DashboardStore): Hono {
  const app = new Hono();
  app.get("/", () => json({ status: "success", data: store.list() }));
  app.get("/:name", (c) => {
    const name = c.req.param("name");
    const d = store.get(name);
    return d ? json({ status: "success", data: d }) : badData(`dashboard ${JSON.stringify(name)} not found`, 404);
  });
  app.put("/:name", async (c) => {
    const name = c.req.param("name");
    const text = await c.req.text();
    if (text.length > MAX_BYTES) return badData(`dashboard ${JSON.stringify(name)}: body larger than ${MAX_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return badData(`dashboard ${JSON.stringify(name)}: body is not JSON: ${(e as Error).message}`);
    }
    try {
      return json({ status: "success", data: store.put(name, body) });
    } catch (e) {
      return badData(`dashboard ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  });
  app.delete("/:name", (c) => {
    const name = c.req.param("name");
    return store.delete(name) ? json({ status: "success" }) : badData(`dashboard ${JSON.stringify(name)} not found`, 404);
  });
  return app;
}
