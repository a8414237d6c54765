/**
 * Dashboards (PromDash's job): /dashboards lists them, creates and imports
 * (promts or Grafana JSON); /dashboards/:name shows one as a 24-column grid
 * of panels and edits it (add, remove, retitle, resize, move), saving to the
 * server. The URL of a dashboard is its share link; `?range=` overrides its
 * range in the link.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { api, parseDuration, path, withParams } from "./api.ts";
import { Status, useData } from "./common.ts";
import { Graph, type RangeSeries } from "./chart.ts";
import { ResultTable, autoStep } from "./query.ts";
import { navigate } from "./router.ts";
import type { Dashboard, DashboardPanel, DashboardSummary } from "../dashboards.ts";
import { importGrafana, slugify } from "../grafana.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

async function save(d: Dashboard): Promise<Dashboard> {
  return api<Dashboard>(`/api/v1/dashboards/${encodeURIComponent(d.name)}`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...d, updated: undefined }),
  });
}

/** Reads JSON text as a promts dashboard, or converts it when it is Grafana's. */
export function fromJSON(text: string): { dashboard: Dashboard; skipped: string[] } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const panels = Array.isArray(raw.panels) ? raw.panels as Record<string, unknown>[] : [];
  const isGrafana = raw.dashboard !== undefined || Array.isArray(raw.rows) || panels.some((p) => p && typeof p === "object" && ("targets" in p || "datasource" in p));
  if (isGrafana) return importGrafana(raw);
  if (!Array.isArray(raw.panels)) throw new Error("a dashboard needs a \"panels\" array");
  const title = typeof raw.title === "string" ? raw.title : "Imported";
  const name = typeof raw.name === "string" && NAME.test(raw.name) ? raw.name : slugify(title);
  return { dashboard: { ...(raw as unknown as Dashboard), name, title }, skipped: [] };
}

export function DashboardsPage() {
  const loaded = useData(() => api<DashboardSummary[]>("/api/v1/dashboards"));
  const [name, setName] = useState("");
  const [importText, setImportText] = useState("");
  const [error, setError] = useState("");
  const [note, setNote] = useState("");

  const create = async (e: Event) => {
    e.preventDefault();
    setError("");
    const n = name.trim();
    if (!NAME.test(n)) return setError(`Name ${JSON.stringify(n)}: use letters, digits, "_", "." and "-" (starting with a letter or digit).`);
    try {
      await save({ name: n, title: n, range: "1h", panels: [{ title: "", expr: "up", type: "graph", gridPos: { x: 0, y: 0, w: 12, h: 8 } }] });
      navigate(`/dashboards/${n}?edit=1`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const doImport = async (text: string) => {
    setError("");
    setNote("");
    try {
      const { dashboard, skipped } = fromJSON(text);
      const stored = await save(dashboard);
      setNote(`Imported "${stored.title}" as ${stored.name} (${stored.panels.length} panels)${skipped.length > 0 ? `; skipped: ${skipped.join("; ")}` : ""}.`);
      setImportText("");
      loaded.reload();
    } catch (err) {
      setError(`Import failed: ${(err as Error).message}`);
    }
  };
  const del = async (n: string) => {
    if (!confirm(`Delete dashboard ${n}?`)) return;
    await api(`/api/v1/dashboards/${encodeURIComponent(n)}`, { method: "DELETE" }).catch((err: Error) => setError(err.message));
    loaded.reload();
  };

  return html`<div class="page">
    <${Status} loaded=${loaded}>${(list: DashboardSummary[]) => html`<div class="card"><h2 class="card-title">Dashboards</h2>
      ${list.length === 0 ? html`<p class="muted">No dashboards yet.</p>` : html`<table class="data"><thead><tr><th>Name</th><th>Title</th><th>Panels</th><th>Updated</th><th></th></tr></thead><tbody>
        ${list.map((d) => html`<tr><td><a href=${path(`/dashboards/${d.name}`)}>${d.name}</a></td><td>${d.title}</td><td>${d.panels}</td><td>${d.updated}</td>
          <td><a class="btn small" href=${path(`/api/v1/dashboards/${d.name}`)} download=${`${d.name}.json`}>Export</a>
          <button type="button" class="btn small danger" onClick=${() => del(d.name)}>Delete</button></td></tr>`)}
      </tbody></table>`}</div>`}<//>
    <form class="card form-row" onSubmit=${create}>
      <label>New dashboard name <input name="dashboard-name" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)}/></label>
      <button type="submit" class="btn primary">Create</button>
    </form>
    <div class="card">
      <h2 class="card-title">Import</h2>
      <p class="muted small">Paste a promts dashboard JSON or a Grafana dashboard JSON (Prometheus panels: their queries, titles and grid positions are kept), or choose a file.</p>
      <textarea aria-label="Dashboard JSON to import" rows="6" class="mono wide" value=${importText} onInput=${(e: Event) => setImportText((e.target as HTMLTextAreaElement).value)}></textarea>
      <div class="toolbar">
        <button type="button" class="btn primary" onClick=${() => doImport(importText)}>Import</button>
        <label class="btn">Choose file…<input type="file" accept="application/json,.json" class="hidden"
          onChange=${async (e: Event) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) await doImport(await f.text()); }}/></label>
      </div>
    </div>
    ${error && html`<div class="alert error" role="alert">${error}</div>`}
    ${note && html`<div class="alert info">${note}</div>`}
  </div>`;
}

function DashPanel(props: { panel: DashboardPanel; range: string; refresh: number }) {
  const p = props.panel;
  const [out, setOut] = useState<{ error?: string; series?: RangeSeries[]; start?: number; end?: number; step?: number; table?: unknown }>({});
  useEffect(() => {
    let live = true;
    const rangeMs = parseDuration(p.range ?? props.range) || 3_600_000;
    const now = Date.now() / 1000;
    const step = autoStep(rangeMs / 1000);
    const end = now;
    const start = end - rangeMs / 1000;
    const load = p.type === "table"
      ? api<unknown>(withParams("/api/v1/query", { query: p.expr, time: now.toFixed(3) })).then((table) => ({ table }))
      : api<{ result: RangeSeries[] }>(withParams("/api/v1/query_range", { query: p.expr, start: start.toFixed(3), end: end.toFixed(3), step })).then((d) => ({ series: d.result, start, end, step }));
    load.then((o) => live && setOut(o), (e: Error) => live && setOut({ error: e.message }));
    return () => { live = false; };
  }, [p.expr, p.type, p.range, props.range, props.refresh]);
  return html`<div class="dash-panel-body">
    ${out.error && html`<div class="alert error">${out.error}</div>`}
    ${out.series && (out.series.length === 0 ? html`<p class="muted">No data.</p>` : html`<${Graph} series=${out.series} start=${out.start} end=${out.end} step=${out.step} stacked=${p.stacked ?? false} height=${Math.max(100, p.gridPos.h * 44 - 120)}/>`)}
    ${out.table !== undefined && html`<${ResultTable} data=${out.table}/>`}
  </div>`;
}

export function DashboardPage(props: { name: string; search: URLSearchParams }) {
  const loaded = useData(() => api<Dashboard>(`/api/v1/dashboards/${encodeURIComponent(props.name)}`), [props.name]);
  return html`<div class="page"><${Status} loaded=${loaded}>${(d: Dashboard) => html`<${DashboardView} key=${d.updated} initial=${d} search=${props.search}/>`}<//></div>`;
}

function DashboardView(props: { initial: Dashboard; search: URLSearchParams }) {
  const [d, setD] = useState<Dashboard>(props.initial);
  const [editing, setEditing] = useState(props.search.get("edit") === "1");
  const [dirty, setDirty] = useState(false);
  const [msg, setMsg] = useState("");
  const [refresh, setRefresh] = useState(0);
  const range = props.search.get("range") ?? d.range;
  const change = (next: Dashboard) => { setD(next); setDirty(true); };
  const setPanel = (i: number, patch: Partial<DashboardPanel>) => change({ ...d, panels: d.panels.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  const setGrid = (i: number, patch: Partial<DashboardPanel["gridPos"]>) => setPanel(i, { gridPos: { ...d.panels[i]!.gridPos, ...patch } });
  const doSave = async () => {
    try {
      const stored = await save(d);
      setD(stored);
      setDirty(false);
      setMsg(`Saved at ${stored.updated}.`);
    } catch (e) {
      setMsg(`Save failed: ${(e as Error).message}`);
    }
  };
  const exportJSON = () => {
    const blob = new Blob([JSON.stringify({ ...d, updated: undefined }, null, 2)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${d.name}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  const addPanel = () => {
    const y = d.panels.reduce((m, p) => Math.max(m, p.gridPos.y + p.gridPos.h), 0);
    change({ ...d, panels: [...d.panels, { title: "", expr: "", type: "graph", gridPos: { x: 0, y, w: 12, h: 8 } }] });
  };
  const panels = [...d.panels.entries()].sort(([, a], [, b]) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  return html`<div>
    <div class="toolbar">
      ${editing
        ? html`<input aria-label="Dashboard title" class="title-input" value=${d.title} onInput=${(e: Event) => change({ ...d, title: (e.target as HTMLInputElement).value })}/>`
        : html`<h1 class="dash-title">${d.title}</h1>`}
      <label>Range <input aria-label="Dashboard range" size="5" value=${range} onChange=${(e: Event) => {
        const v = (e.target as HTMLInputElement).value.trim();
        if (editing) change({ ...d, range: v });
        else navigate(withParams(`/dashboards/${d.name}`, { range: v }), true);
      }}/></label>
      <button type="button" class="btn" onClick=${() => setRefresh(refresh + 1)}>Refresh</button>
      <span class="spacer"></span>
      ${editing && html`<button type="button" class="btn" onClick=${addPanel}>+ Add panel</button>`}
      <button type="button" class=${editing ? "btn toggled" : "btn"} aria-pressed=${editing} onClick=${() => setEditing(!editing)}>Edit</button>
      <button type="button" class="btn primary" disabled=${!dirty} onClick=${doSave}>Save</button>
      <button type="button" class="btn" onClick=${exportJSON}>Export JSON</button>
      <button type="button" class="btn" onClick=${() => { void navigator.clipboard?.writeText(location.href); setMsg(`Link copied: ${location.href}`); }}>Share</button>
    </div>
    ${msg && html`<div class="alert info" role="status">${msg}</div>`}
    ${dirty && html`<div class="alert warn">Unsaved changes.</div>`}
    <div class="dash-grid">
      ${panels.map(([i, p]) => html`<section class="dash-panel" key=${i} aria-label=${p.title || p.expr}
        style=${`grid-column:${p.gridPos.x + 1} / span ${Math.min(p.gridPos.w, 24 - p.gridPos.x)};grid-row:${p.gridPos.y + 1} / span ${p.gridPos.h}`}>
        <header class="dash-panel-head">
          ${editing ? html`<input aria-label="Panel title" placeholder="Panel title" value=${p.title} onInput=${(e: Event) => setPanel(i, { title: (e.target as HTMLInputElement).value })}/>`
            : html`<h3>${p.title || p.expr}</h3>`}
          <a class="btn small" title="Open in the query page" href=${path(withParams("/query", { "g0.expr": p.expr, "g0.tab": p.type, "g0.range_input": p.range ?? range }))}>↗</a>
        </header>
        ${editing && html`<div class="dash-panel-edit">
          <textarea aria-label="Panel query" class="mono" rows="2" onChange=${(e: Event) => setPanel(i, { expr: (e.target as HTMLTextAreaElement).value })}>${p.expr}</textarea>
          <div class="form-row small">
            <select aria-label="Panel type" value=${p.type} onChange=${(e: Event) => setPanel(i, { type: (e.target as HTMLSelectElement).value as "graph" | "table" })}>
              <option value="graph">Graph</option><option value="table">Table</option></select>
            <label class="check"><input type="checkbox" checked=${p.stacked ?? false} onChange=${(e: Event) => setPanel(i, { stacked: (e.target as HTMLInputElement).checked })}/> stacked</label>
            ${(["x", "y", "w", "h"] as const).map((k) => html`<label>${k}<input type="number" aria-label=${`Panel ${k}`} value=${p.gridPos[k]} min=${k === "w" || k === "h" ? 1 : 0} max=${k === "x" ? 23 : k === "w" ? 24 : 1000}
              onChange=${(e: Event) => setGrid(i, { [k]: Number((e.target as HTMLInputElement).value) })}/></label>`)}
            <button type="button" class="btn small danger" onClick=${() => change({ ...d, panels: d.panels.filter((_, j) => j !== i) })}>Remove</button>
          </div></div>`}
        ${p.expr.trim() !== "" && html`<${DashPanel} panel=${p} range=${range} refresh=${refresh}/>`}
      </section>`)}
    </div>
  </div>`;
}
