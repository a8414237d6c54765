/**
 * Imports a Grafana dashboard JSON as far as it maps onto a promts
 * dashboard: each panel's first Prometheus target's `expr`, its title and
 * its `gridPos`; rows' nested panels are flattened; panels without a query
 * (text, rows) are dropped. Pure: the browser bundle uses it too.
 */
import type { Dashboard, DashboardPanel } from "./dashboards.ts";

/** What the import kept and what it dropped, for the UI to tell. */
export interface GrafanaImport {
  dashboard: Dashboard;
  /** One line per panel or target that did not map. */
  skipped: string[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function int(v: unknown, fallback: number, min: number, max: number): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
}

/** A dashboard name from a title: letters, digits, "_", "." and "-". */
export function slugify(title: string): string {
  const s = title.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+|-+$/g, "").slice(0, 100);
  return s === "" ? "imported" : s;
}

/** Converts; throws naming what is wrong when the input is not a Grafana dashboard. */
export function importGrafana(input: unknown): GrafanaImport {
  const root = obj(input);
  if (!root) throw new Error("Grafana dashboard: must be a JSON object");
  const model = obj(root.dashboard) ?? root; // the export API wraps it in {dashboard: …}
  if (!Array.isArray(model.panels) && !Array.isArray(model.rows)) throw new Error("Grafana dashboard: has neither panels nor rows");
  const title = typeof model.title === "string" && model.title !== "" ? model.title : "Imported dashboard";
  const flat: Obj[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const p of list) {
      const o = obj(p);
      if (!o) continue;
      flat.push(o);
      walk(o.panels);
    }
  };
  walk(model.panels);
  // Old (schema < 16) dashboards keep panels in rows without gridPos.
  if (Array.isArray(model.rows)) for (const r of model.rows) walk(obj(r)?.panels);

  const panels: DashboardPanel[] = [];
  const skipped: string[] = [];
  let autoY = 0;
  for (const p of flat) {
    const ptitle = typeof p.title === "string" ? p.title : "";
    const targets = Array.isArray(p.targets) ? p.targets.map(obj).filter((t): t is Obj => t !== undefined) : [];
    const exprs = targets.filter((t) => typeof t.expr === "string" && t.expr.trim() !== "" && t.hide !== true);
    if (exprs.length === 0) {
      if (p.type !== "row") skipped.push(`panel ${JSON.stringify(ptitle)} (${String(p.type ?? "?")}): no Prometheus query`);
      continue;
    }
    const g = obj(p.gridPos);
    const gridPos = g
      ? { x: int(g.x, 0, 0, 23), y: int(g.y, 0, 0, 10_000), w: int(g.w, 12, 1, 24), h: int(g.h, 8, 1, 100) }
      : { x: 0, y: autoY, w: 24, h: 8 };
    autoY = Math.max(autoY, gridPos.y + gridPos.h);
    const type = p.type === "table" || p.type === "table-old" ? "table" : "graph";
    const stacked = obj(obj(obj(p.fieldConfig)?.defaults)?.custom)?.stacking !== undefined
      ? obj(obj(obj(obj(p.fieldConfig)?.defaults)?.custom)?.stacking)?.mode === "normal"
      : p.stack === true;
    exprs.forEach((t, i) => {
      const panel: DashboardPanel = {
        title: exprs.length > 1 ? `${ptitle} (${typeof t.refId === "string" ? t.refId : i + 1})` : ptitle,
        expr: t.expr as string,
        type,
        gridPos: i === 0 ? gridPos : { ...gridPos, y: autoY },
      };
      if (i > 0) autoY += gridPos.h;
      if (stacked) panel.stacked = true;
      panels.push(panel);
    });
  }
  const time = obj(model.time);
  const from = typeof time?.from === "string" ? /^now-(\d+[smhdwy])$/.exec(time.from)?.[1] : undefined;
  return { dashboard: { name: slugify(title), title, range: from ?? "1h", panels }, skipped };
}
