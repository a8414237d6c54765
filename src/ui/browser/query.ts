/**
 * The query page (/query): several panels, each with the PromQL editor, a
 * table (instant query), a graph (range query) and an explain tree
 * (parse_query). Panel state lives in the URL as Prometheus keeps it
 * (`g0.expr`, `g0.tab`, `g0.range_input`, `g0.end_input`, `g0.step_input`,
 * `g0.display_mode`), so /graph?g0.expr=… links keep working.
 */
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, durationText, formatSeries, formatTime, parseDuration, withParams, type Labels } from "./api.ts";
import { createEditor, type EditorHandle } from "./editor.ts";
import { Graph, type RangeSeries } from "./chart.ts";
import { navigate } from "./router.ts";

export type Tab = "table" | "graph" | "explain";

export interface PanelState {
  expr: string;
  tab: Tab;
  range: string;
  /** Evaluation/end time as text ("" = now). */
  end: string;
  /** Resolution in seconds as text ("" = automatic). */
  step: string;
  stacked: boolean;
}

export function defaultPanel(expr = ""): PanelState {
  return { expr, tab: "table", range: "1h", end: "", step: "", stacked: false };
}

/** Reads panels from g0.*, g1.*, … (Prometheus 2 and 3 spellings). */
export function panelsFromURL(search: URLSearchParams): PanelState[] {
  const panels: PanelState[] = [];
  for (let i = 0; i < 50; i++) {
    const g = (k: string) => search.get(`g${i}.${k}`);
    if (g("expr") === null && g("tab") === null) {
      if (i > 0 || panels.length > 0) break;
      continue;
    }
    const tab = g("tab");
    panels.push({
      expr: g("expr") ?? "",
      tab: tab === "0" || tab === "graph" ? "graph" : tab === "explain" ? "explain" : "table",
      range: g("range_input") ?? "1h",
      end: g("end_input") ?? g("moment_input") ?? "",
      step: g("step_input") ?? "",
      stacked: g("display_mode") === "stacked" || g("stacked") === "1",
    });
  }
  return panels.length > 0 ? panels : [defaultPanel()];
}

export function panelsToURL(panels: PanelState[]): string {
  const q = new URLSearchParams();
  panels.forEach((p, i) => {
    q.set(`g${i}.expr`, p.expr);
    q.set(`g${i}.tab`, p.tab);
    q.set(`g${i}.range_input`, p.range);
    if (p.end !== "") q.set(`g${i}.end_input`, p.end);
    if (p.step !== "") q.set(`g${i}.step_input`, p.step);
    if (p.stacked) q.set(`g${i}.display_mode`, "stacked");
  });
  return q.toString();
}

/** End time in seconds from the input text ("" = now). */
export function endSeconds(text: string): number {
  if (text.trim() === "") return Date.now() / 1000;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
  return isNaN(t) ? NaN : t / 1000;
}

/** Prometheus's automatic resolution: range / 250, at least 1s. */
export function autoStep(rangeSec: number): number {
  return Math.max(Math.floor(rangeSec / 250), 1);
}

const HISTORY_KEY = "promts.queryHistory";

function loadHistory(): string[] {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(h) ? h.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function remember(expr: string): void {
  const h = [expr, ...loadHistory().filter((x) => x !== expr)].slice(0, 50);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
  } catch { /* storage full or disabled */ }
}

type InstantResult =
  | { resultType: "vector"; result: { metric: Labels; value?: [number, string]; histogram?: [number, unknown] }[] }
  | { resultType: "matrix"; result: RangeSeries[] }
  | { resultType: "scalar" | "string"; result: [number, string] };

interface Outcome {
  error?: string;
  warnings?: string[];
  took?: number;
  table?: InstantResult;
  graph?: { series: RangeSeries[]; start: number; end: number; step: number };
  explain?: unknown;
}

const RANGE_STEPS = ["1m", "5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w", "2w", "4w", "8w", "1y"];

/** One query panel. */
export function Panel(props: {
  state: PanelState;
  index: number;
  onChange: (s: PanelState) => void;
  onRemove?: () => void;
  /** Runs once on mount (a panel loaded from the URL with an expression). */
  autorun?: boolean;
  compact?: boolean;
}) {
  const { state } = props;
  const editorBox = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const latest = useRef(state);
  latest.current = state;
  const [outcome, setOutcome] = useState<Outcome>({});
  const [loading, setLoading] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const runSeq = useRef(0);

  const run = async (s: PanelState = latest.current) => {
    const expr = s.expr.trim();
    if (expr === "") return;
    const seq = ++runSeq.current;
    setLoading(true);
    remember(expr);
    const t0 = performance.now();
    const out: Outcome = {};
    try {
      const end = endSeconds(s.end);
      if (isNaN(end)) throw new Error(`end time ${JSON.stringify(s.end)}: not a time like 2026-01-02 15:04:05`);
      if (s.tab === "table") {
        out.table = await api<InstantResult>(withParams("/api/v1/query", { query: expr, time: end.toFixed(3) }));
      } else if (s.tab === "graph") {
        const rangeMs = parseDuration(s.range);
        if (!(rangeMs > 0)) throw new Error(`range ${JSON.stringify(s.range)}: not a duration like 1h`);
        const step = s.step.trim() === "" ? autoStep(rangeMs / 1000) : Number(s.step);
        if (!(step > 0)) throw new Error(`resolution ${JSON.stringify(s.step)}: not a positive number of seconds`);
        // Like Prometheus's UI: the range ends at the end time exactly (so the newest samples show), starting range earlier.
        const start = end - rangeMs / 1000;
        const data = await api<{ resultType: string; result: RangeSeries[] }>(withParams("/api/v1/query_range", {
          query: expr, start: start.toFixed(3), end: end.toFixed(3), step,
        }));
        out.graph = { series: data.result, start, end, step };
      } else {
        out.explain = await api<unknown>(withParams("/api/v1/parse_query", { query: expr }));
      }
    } catch (e) {
      out.error = (e as Error).message;
    }
    out.took = performance.now() - t0;
    if (seq !== runSeq.current) return;
    setOutcome(out);
    setLoading(false);
  };

  useEffect(() => {
    if (!editorBox.current) return;
    editor.current = createEditor(editorBox.current, state.expr,
      (text) => props.onChange({ ...latest.current, expr: text }),
      () => run());
    if (props.autorun && state.expr.trim() !== "") void run();
    return () => editor.current?.view.destroy();
  }, []);

  const set = (patch: Partial<PanelState>, rerun = true) => {
    const next = { ...state, ...patch };
    props.onChange(next);
    if (rerun && (outcome.table || outcome.graph || outcome.explain || outcome.error)) void run(next);
  };

  const shiftRange = (dir: 1 | -1) => {
    const cur = parseDuration(state.range);
    const idx = RANGE_STEPS.map(parseDuration).findIndex((d) => d >= cur);
    const i = Math.max(0, Math.min(RANGE_STEPS.length - 1, (idx < 0 ? RANGE_STEPS.length : idx) + (dir > 0 ? (RANGE_STEPS.map(parseDuration)[idx] === cur ? 1 : 0) : -1)));
    set({ range: RANGE_STEPS[i]! });
  };
  const shiftEnd = (dir: 1 | -1) => {
    const end = endSeconds(state.end);
    const range = parseDuration(state.range) / 1000 || 3600;
    const next = end + (dir * range) / 2;
    set({ end: next * 1000 >= Date.now() ? "" : formatTime(next * 1000).replace(" UTC", "") });
  };
  const history = showHistory ? loadHistory() : [];

  return html`<section class="panel" aria-label=${`Query panel ${props.index + 1}`}>
    <div class="expr-row">
      <div class="editor" ref=${editorBox}></div>
      <button type="button" class="btn icon" title="Query history" aria-label="Query history" aria-expanded=${showHistory} onClick=${() => setShowHistory(!showHistory)}>⟲</button>
      <button type="button" class="btn primary execute" onClick=${() => run()} disabled=${loading}>${loading ? "Running…" : "Execute"}</button>
      ${props.onRemove && html`<button type="button" class="btn icon" title="Remove panel" aria-label="Remove panel" onClick=${props.onRemove}>✕</button>`}
    </div>
    ${showHistory && html`<ul class="history" aria-label="Query history">
      ${history.length === 0 ? html`<li class="muted">No queries yet.</li>` : history.map((h) => html`<li><button type="button" class="linklike" onClick=${() => {
        editor.current?.setValue(h);
        setShowHistory(false);
        props.onChange({ ...latest.current, expr: h });
      }}>${h}</button></li>`)}
    </ul>`}
    <div class="tabs" role="tablist">
      ${(["table", "graph", "explain"] as Tab[]).map((t) => html`<button type="button" role="tab" aria-selected=${state.tab === t}
        class=${state.tab === t ? "tab active" : "tab"} onClick=${() => set({ tab: t })}>${t[0]!.toUpperCase() + t.slice(1)}</button>`)}
      <span class="stats">${loading ? "Loading…" : outcome.took !== undefined ? `Load time: ${Math.round(outcome.took)}ms` + resultStats(outcome) : ""}</span>
    </div>
    <div class="tab-body">
      ${state.tab !== "explain" && html`<div class="controls">
        ${state.tab === "graph" && html`<span class="group">
          <button type="button" class="btn" aria-label="Shorter range" onClick=${() => shiftRange(-1)}>−</button>
          <input aria-label="Range" class="range-input" value=${state.range} size="6" onChange=${(e: Event) => set({ range: (e.target as HTMLInputElement).value.trim() })}/>
          <button type="button" class="btn" aria-label="Longer range" onClick=${() => shiftRange(1)}>+</button>
        </span>`}
        <span class="group">
          ${state.tab === "graph" && html`<button type="button" class="btn" aria-label="Earlier" onClick=${() => shiftEnd(-1)}>‹</button>`}
          <input aria-label=${state.tab === "graph" ? "End time (UTC, empty for now)" : "Evaluation time (UTC, empty for now)"} class="end-input" placeholder=${state.tab === "graph" ? "End time (now)" : "Evaluation time (now)"}
            value=${state.end} size="20" onChange=${(e: Event) => set({ end: (e.target as HTMLInputElement).value.trim() })}/>
          ${state.tab === "graph" && html`<button type="button" class="btn" aria-label="Later" onClick=${() => shiftEnd(1)}>›</button>`}
        </span>
        ${state.tab === "graph" && html`<span class="group">
          <input aria-label="Resolution in seconds (empty for automatic)" placeholder=${`Res. (${autoStep((parseDuration(state.range) || 3600000) / 1000)}s)`} value=${state.step} size="9"
            onChange=${(e: Event) => set({ step: (e.target as HTMLInputElement).value.trim() })}/>
        </span>
        <span class="group" role="radiogroup" aria-label="Display mode">
          <button type="button" role="radio" aria-checked=${!state.stacked} class=${!state.stacked ? "btn toggled" : "btn"} onClick=${() => set({ stacked: false })}>Lines</button>
          <button type="button" role="radio" aria-checked=${state.stacked} class=${state.stacked ? "btn toggled" : "btn"} onClick=${() => set({ stacked: true })}>Stacked</button>
        </span>`}
      </div>`}
      ${outcome.error && html`<div class="alert error" role="alert">${outcome.error}</div>`}
      ${outcome.warnings?.map((w) => html`<div class="alert warn">${w}</div>`)}
      ${state.tab === "table" && outcome.table && html`<${ResultTable} data=${outcome.table}/>`}
      ${state.tab === "graph" && outcome.graph && (outcome.graph.series.length === 0
        ? html`<p class="muted">No data queried yet, or the query returned no series.</p>`
        : html`<${Graph} series=${outcome.graph.series} start=${outcome.graph.start} end=${outcome.graph.end} step=${outcome.graph.step} stacked=${state.stacked}/>`)}
      ${state.tab === "explain" && outcome.explain !== undefined && html`<div class="explain"><${AstNode} node=${outcome.explain}/></div>`}
      ${!outcome.error && outcome.took === undefined && !loading && html`<p class="muted">No data queried yet.</p>`}
    </div>
  </section>`;
}

function resultStats(o: Outcome): string {
  if (o.table) {
    const n = o.table.resultType === "scalar" || o.table.resultType === "string" ? 1 : o.table.result.length;
    return `   Result series: ${n}`;
  }
  if (o.graph) return `   Resolution: ${durationText(o.graph.step * 1000)}   Result series: ${o.graph.series.length}`;
  return "";
}

const MAX_ROWS = 10_000;

/** The table of an instant query's result. */
export function ResultTable(props: { data: InstantResult }) {
  const d = props.data;
  if (d.resultType === "scalar" || d.resultType === "string") {
    return html`<table class="data result"><tbody><tr><td class="series">${d.resultType}</td><td class="value">${d.result[1]}</td></tr></tbody></table>`;
  }
  if (d.result.length === 0) return html`<p class="muted">Empty query result</p>`;
  const vector = d.resultType === "vector" ? d.result.slice(0, MAX_ROWS) : [];
  const matrix = d.resultType === "matrix" ? d.result.slice(0, MAX_ROWS) : [];
  return html`<div>
    ${d.result.length > MAX_ROWS && html`<div class="alert warn">Showing ${MAX_ROWS} of ${d.result.length} series.</div>`}
    <table class="data result"><tbody>
    ${d.resultType === "vector"
      ? vector.map((r: { metric: Labels; value?: [number, string]; histogram?: [number, unknown] }) => html`<tr>
          <td class="series">${formatSeries(r.metric)}</td>
          <td class="value">${r.value ? r.value[1] : JSON.stringify(r.histogram?.[1])}</td></tr>`)
      : matrix.map((r: RangeSeries) => html`<tr>
          <td class="series">${formatSeries(r.metric)}</td>
          <td class="value">${(r.values ?? []).map(([t, v]) => html`<div>${v} @${t}</div>`)}</td></tr>`)}
    </tbody></table></div>`;
}

type Node = Record<string, unknown>;

function matcherText(ms: unknown): string {
  if (!Array.isArray(ms)) return "";
  const shown = ms.filter((m: Node) => m.name !== "__name__").map((m: Node) => `${m.name}${m.type}${JSON.stringify(m.value)}`);
  return shown.length > 0 ? `{${shown.join(", ")}}` : "";
}

function nodeText(n: Node): string {
  switch (n.type) {
    case "vectorSelector": return `${n.name ?? ""}${matcherText(n.matchers)}${n.offset ? ` offset ${durationText(n.offset as number)}` : ""}`;
    case "matrixSelector": return `range vector selector [${durationText(n.range as number)}]`;
    case "aggregation": {
      const g = n.grouping as string[];
      return `${n.op}${n.without ? ` without(${g.join(", ")})` : g.length > 0 ? ` by(${g.join(", ")})` : ""}`;
    }
    case "binaryExpr": {
      const m = n.matching as Node | null;
      const on = m && ((m.labels as string[]).length > 0 || m.on) ? ` ${m.on ? "on" : "ignoring"}(${(m.labels as string[]).join(", ")})` : "";
      const card = m && m.card !== "one-to-one" && m.card !== "many-to-many" ? ` ${m.card === "many-to-one" ? "group_left" : "group_right"}(${(m.include as string[]).join(", ")})` : "";
      return `binary operator ${n.op}${n.bool ? " bool" : ""}${on}${card}`;
    }
    case "call": return `${(n.func as Node)?.name ?? "?"}()`;
    case "subquery": return `subquery [${durationText(n.range as number)}:${n.step ? durationText(n.step as number) : ""}]`;
    case "numberLiteral": return `number ${n.val}`;
    case "stringLiteral": return `string ${JSON.stringify(n.val)}`;
    case "parenExpr": return "( … )";
    case "unaryExpr": return `unary ${n.op}`;
    default: return String(n.type);
  }
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const k of ["param", "lhs", "rhs", "expr", "vectorSelector"]) {
    const v = n[k];
    if (v && typeof v === "object" && "type" in (v as Node)) out.push(v as Node);
  }
  if (Array.isArray(n.args)) for (const a of n.args) if (a && typeof a === "object") out.push(a as Node);
  return out;
}

/** One node of the explain tree and its children. */
export function AstNode(props: { node: unknown }) {
  const n = props.node as Node;
  if (!n || typeof n !== "object") return null;
  const kids = children(n);
  return html`<div class="ast-node">
    <div class="ast-label"><span class="ast-type">${String(n.type)}</span> <code>${nodeText(n)}</code></div>
    ${kids.length > 0 && html`<div class="ast-children">${kids.map((k) => html`<${AstNode} node=${k}/>`)}</div>`}
  </div>`;
}

let nextKey = 1;

/** The whole query page. */
export function QueryPage(props: { search: URLSearchParams }) {
  const [panels, setPanels] = useState(() => panelsFromURL(props.search).map((p) => ({ key: nextKey++, state: p })));
  useEffect(() => {
    const q = panelsToURL(panels.map((p) => p.state));
    if (q !== location.search.slice(1)) navigate(`/query?${q}`, true);
  }, [panels]);
  const update = (key: number, s: PanelState) => setPanels((ps) => ps.map((p) => (p.key === key ? { key, state: s } : p)));
  return html`<div class="page query-page">
    ${panels.map((p, i) => html`<${Panel} key=${p.key} index=${i} state=${p.state} autorun=${true}
      onChange=${(s: PanelState) => update(p.key, s)}
      onRemove=${panels.length > 1 ? () => setPanels((ps) => ps.filter((x) => x.key !== p.key)) : undefined}/>`)}
    <button type="button" class="btn add-panel" onClick=${() => setPanels((ps) => [...ps, { key: nextKey++, state: defaultPanel() }])}>+ Add query</button>
  </div>`;
}
