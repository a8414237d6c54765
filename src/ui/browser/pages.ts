/** The server's status pages: alerts, rules, targets, service discovery, config, flags, runtime & build, TSDB. */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { ago, api, formatDuration, formatSeries, formatTime, path, withParams, type Labels } from "./api.ts";
import { LabelBadges, matches, SearchBox, StateBadge, Status, useData } from "./common.ts";

interface RuleAlert {
  labels: Labels;
  annotations: Labels;
  state: string;
  activeAt?: string;
  value: string;
}

interface Rule {
  name: string;
  query: string;
  type: "alerting" | "recording";
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  labels?: Labels;
  annotations?: Labels;
  duration?: number;
  keepFiringFor?: number;
  state?: string;
  alerts?: RuleAlert[];
}

interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

function graphLink(expr: string): string {
  return path(withParams("/query", { "g0.expr": expr, "g0.tab": "table" }));
}

function RuleDefinition(props: { rule: Rule }) {
  const r = props.rule;
  // htm drops whitespace-only text containing newlines, so line breaks are explicit strings.
  const lines: unknown[] = [
    `${r.type === "alerting" ? "alert" : "record"}: `, html`<b>${r.name}</b>`, "\n",
    "expr: ", html`<a href=${graphLink(r.query)}>${r.query}</a>`, "\n",
  ];
  if (r.duration) lines.push(`for: ${formatDuration(r.duration * 1000)}\n`);
  if (r.keepFiringFor) lines.push(`keep_firing_for: ${formatDuration(r.keepFiringFor * 1000)}\n`);
  for (const [key, map] of [["labels", r.labels], ["annotations", r.annotations]] as const) {
    if (map && Object.keys(map).length > 0) lines.push(`${key}:\n${Object.entries(map).map(([k, v]) => `  ${k}: ${v}\n`).join("")}`);
  }
  return html`<pre class="rule-def"><code>${lines}</code></pre>`;
}

function EvalInfo(props: { rule: Rule }) {
  const r = props.rule;
  return html`<span class="eval-info">
    <${StateBadge} state=${r.health}/> last evaluation ${ago(r.lastEvaluation)}, took ${formatDuration(r.evaluationTime * 1000)}
    ${r.lastError && html`<div class="alert error">Error: ${r.lastError}</div>`}
  </span>`;
}

export function AlertsPage() {
  const loaded = useData(() => api<{ groups: RuleGroup[] }>("/api/v1/rules?type=alert"));
  const [q, setQ] = useState("");
  const [states, setStates] = useState<Record<string, boolean>>({ inactive: true, pending: true, firing: true });
  return html`<div class="page">
    <div class="toolbar">
      ${["inactive", "pending", "firing"].map((s) => html`<label class="check"><input type="checkbox" checked=${states[s]}
        onChange=${(e: Event) => setStates({ ...states, [s]: (e.target as HTMLInputElement).checked })}/> ${s[0]!.toUpperCase() + s.slice(1)}</label>`)}
      <${SearchBox} value=${q} onInput=${setQ} placeholder="Filter by alert name or labels"/>
    </div>
    <${Status} loaded=${loaded}>${(d: { groups: RuleGroup[] }) => {
      const groups = d.groups.map((g) => ({ ...g, rules: g.rules.filter((r) => states[r.state ?? "inactive"] && matches(q, r.name, formatSeries(r.labels ?? {}), ...(r.alerts ?? []).map((a) => formatSeries(a.labels)))) }))
        .filter((g) => g.rules.length > 0);
      if (groups.length === 0) return html`<p class="muted">No alerting rules${d.groups.length > 0 ? " match the filters" : " configured"}.</p>`;
      return groups.map((g) => html`<div class="card">
        <h2 class="card-title">${g.name} <span class="muted small">${g.file}</span></h2>
        ${g.rules.map((r) => {
          const counts = (r.alerts ?? []).reduce((m, a) => ({ ...m, [a.state]: (m[a.state] ?? 0) + 1 }), {} as Record<string, number>);
          return html`<details class="rule" open=${r.state === "firing"}>
            <summary><${StateBadge} state=${r.state ?? "inactive"}/> <b>${r.name}</b>
              ${Object.entries(counts).map(([s, n]) => html` <span class="badge neutral">${s} (${n})</span>`)}</summary>
            <${RuleDefinition} rule=${r}/>
            <${EvalInfo} rule=${r}/>
            ${(r.alerts ?? []).length > 0 && html`<table class="data"><thead><tr><th>Labels</th><th>State</th><th>Active since</th><th>Value</th><th>Annotations</th></tr></thead><tbody>
              ${r.alerts!.map((a) => html`<tr><td><${LabelBadges} labels=${a.labels}/></td><td><${StateBadge} state=${a.state}/></td>
                <td title=${a.activeAt ?? ""}>${a.activeAt ? `${formatTime(a.activeAt)} (${ago(a.activeAt)})` : ""}</td><td>${a.value}</td>
                <td>${Object.entries(a.annotations ?? {}).map(([k, v]) => html`<div><b>${k}:</b> ${v}</div>`)}</td></tr>`)}
            </tbody></table>`}
          </details>`;
        })}
      </div>`);
    }}<//>
  </div>`;
}

export function RulesPage() {
  const loaded = useData(() => api<{ groups: RuleGroup[] }>("/api/v1/rules"));
  const [q, setQ] = useState("");
  return html`<div class="page">
    <div class="toolbar"><${SearchBox} value=${q} onInput=${setQ} placeholder="Filter by rule name or query"/></div>
    <${Status} loaded=${loaded}>${(d: { groups: RuleGroup[] }) => {
      const groups = d.groups.map((g) => ({ ...g, rules: g.rules.filter((r) => matches(q, r.name, r.query)) })).filter((g) => g.rules.length > 0);
      if (groups.length === 0) return html`<p class="muted">No rules${d.groups.length > 0 ? " match the filter" : " configured"}.</p>`;
      return groups.map((g) => html`<div class="card">
        <h2 class="card-title">${g.name} <span class="muted small">${g.file} · every ${formatDuration(g.interval * 1000)} · last run ${ago(g.lastEvaluation)}, took ${formatDuration(g.evaluationTime * 1000)}</span></h2>
        <table class="data"><thead><tr><th>Rule</th><th>Health</th><th>Last evaluation</th><th>Evaluation time</th></tr></thead><tbody>
        ${g.rules.map((r) => html`<tr><td><${RuleDefinition} rule=${r}/>${r.lastError && html`<div class="alert error">Error: ${r.lastError}</div>`}</td>
          <td><${StateBadge} state=${r.health}/></td><td>${ago(r.lastEvaluation)}</td><td>${formatDuration(r.evaluationTime * 1000)}</td></tr>`)}
        </tbody></table>
      </div>`);
    }}<//>
  </div>`;
}

interface Target {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: string;
  scrapeInterval?: string;
  scrapeTimeout?: string;
}

interface TargetsData {
  activeTargets: Target[];
  droppedTargets: { discoveredLabels: Labels; scrapePool?: string }[];
  droppedTargetCounts?: Record<string, number>;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    m.set(k, [...(m.get(k) ?? []), it]);
  }
  return new Map([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export function TargetsPage() {
  const loaded = useData(() => api<TargetsData>("/api/v1/targets?state=active"));
  const [q, setQ] = useState("");
  const [pool, setPool] = useState("");
  const [health, setHealth] = useState<Record<string, boolean>>({ up: true, down: true, unknown: true });
  return html`<div class="page">
    <${Status} loaded=${loaded}>${(d: TargetsData) => {
      const pools = groupBy(d.activeTargets, (t) => t.scrapePool);
      const shown = [...pools.entries()].filter(([p]) => pool === "" || p === pool)
        .map(([p, ts]) => [p, ts, ts.filter((t) => health[t.health] !== false && matches(q, t.scrapeUrl, formatSeries(t.labels)))] as const);
      return html`<div class="toolbar">
          <label>Scrape pool <select value=${pool} onChange=${(e: Event) => setPool((e.target as HTMLSelectElement).value)}>
            <option value="">All pools</option>${[...pools.keys()].map((p) => html`<option value=${p}>${p}</option>`)}</select></label>
          ${["up", "down", "unknown"].map((s) => html`<label class="check"><input type="checkbox" checked=${health[s]}
            onChange=${(e: Event) => setHealth({ ...health, [s]: (e.target as HTMLInputElement).checked })}/> ${s[0]!.toUpperCase() + s.slice(1)}</label>`)}
          <${SearchBox} value=${q} onInput=${setQ} placeholder="Filter by endpoint or labels"/>
          <button type="button" class="btn" onClick=${loaded.reload}>Refresh</button>
        </div>
        ${shown.length === 0 && html`<p class="muted">No targets.</p>`}
        ${shown.map(([p, all, ts]) => html`<div class="card">
          <h2 class="card-title">${p} <span class="muted small">(${all.filter((t) => t.health === "up").length}/${all.length} up)</span></h2>
          <table class="data targets"><thead><tr><th>Endpoint</th><th>State</th><th>Labels</th><th>Last scrape</th><th>Scrape duration</th><th>Error</th></tr></thead><tbody>
          ${ts.map((t) => html`<tr>
            <td><a href=${t.globalUrl || t.scrapeUrl} target="_blank" rel="noreferrer">${t.scrapeUrl}</a>
              <${Lazy} summary="Relabeling">${() => html`<${RelabelView} target=${t}/>`}<//></td>
            <td><${StateBadge} state=${t.health}/></td>
            <td><${LabelBadges} labels=${t.labels}/></td>
            <td title=${t.lastScrape}>${ago(t.lastScrape)}${t.scrapeInterval ? html`<div class="muted small">every ${t.scrapeInterval}</div>` : ""}</td>
            <td>${formatDuration(t.lastScrapeDuration * 1000)}</td>
            <td>${t.lastError && html`<span class="error-text">${t.lastError}</span>`}</td></tr>`)}
          </tbody></table></div>`)}`;
    }}<//>
  </div>`;
}

interface RelabelStep {
  rule: { action?: string; source_labels?: string[]; separator?: string; regex?: string; target_label?: string; replacement?: string; modulus?: number };
  output: Labels;
  keep: boolean;
}

function ruleText(r: RelabelStep["rule"]): string {
  const parts = [`action: ${r.action ?? "replace"}`];
  if (r.source_labels && r.source_labels.length > 0) parts.push(`source_labels: [${r.source_labels.join(", ")}]`);
  if (r.regex !== undefined && r.regex !== "(.*)") parts.push(`regex: ${r.regex}`);
  if (r.target_label) parts.push(`target_label: ${r.target_label}`);
  if (r.replacement !== undefined && r.replacement !== "$1") parts.push(`replacement: ${r.replacement}`);
  if (r.modulus) parts.push(`modulus: ${r.modulus}`);
  return parts.join("\n");
}

/** What each of the pool's relabel_configs did to the target's discovered labels, loaded when opened. */
function RelabelView(props: { target: { discoveredLabels: Labels; labels?: Labels; scrapePool: string } }) {
  const t = props.target;
  const loaded = useData(() => api<{ steps: RelabelStep[] }>(withParams("/api/v1/targets/relabel_steps", { scrapePool: t.scrapePool, labels: JSON.stringify(t.discoveredLabels) })));
  return html`<${Status} loaded=${loaded}>${(d: { steps: RelabelStep[] }) => html`<table class="data relabel-table"><tbody>
    <tr><th>Discovered labels</th><td><${LabelBadges} labels=${t.discoveredLabels}/></td></tr>
    ${d.steps.map((s, i) => html`<tr class=${s.keep ? "" : "removed"}><th><pre class="rule-def"><code>${`${i + 1}. ${ruleText(s.rule)}`}</code></pre></th>
      <td>${s.keep ? html`<${LabelBadges} labels=${s.output}/>` : html`<b>Target dropped</b>`}</td></tr>`)}
    ${t.labels && html`<tr><th>Target labels</th><td><${LabelBadges} labels=${t.labels}/></td></tr>`}
  </tbody></table>`}<//>`;
}

/** Loads its content only when opened. */
function Lazy(props: { summary: string; children: () => unknown }) {
  const [open, setOpen] = useState(false);
  return html`<details class="relabel" onToggle=${(e: Event) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
    <summary>${props.summary}</summary>${open && props.children()}</details>`;
}

export function ServiceDiscoveryPage() {
  const loaded = useData(() => api<TargetsData>("/api/v1/targets?state=any"));
  const [q, setQ] = useState("");
  return html`<div class="page">
    <div class="toolbar"><${SearchBox} value=${q} onInput=${setQ} placeholder="Filter by labels"/></div>
    <${Status} loaded=${loaded}>${(d: TargetsData) => {
      const all = [
        ...d.activeTargets.map((t) => ({ pool: t.scrapePool, discovered: t.discoveredLabels, labels: t.labels as Labels | undefined })),
        ...d.droppedTargets.map((t) => ({ pool: t.scrapePool ?? t.discoveredLabels.job ?? "", discovered: t.discoveredLabels, labels: undefined as Labels | undefined })),
      ];
      const pools = groupBy(all, (t) => t.pool);
      if (pools.size === 0) return html`<p class="muted">No service discovery results.</p>`;
      return html`<nav class="pool-index" aria-label="Scrape pools">${[...pools.entries()].map(([p, ts]) => html`<a href=${`#pool-${p}`}>${p} (${ts.filter((t) => t.labels).length} / ${ts.length} active targets)</a>`)}</nav>
      ${[...pools.entries()].map(([p, ts]) => html`<div class="card" id=${`pool-${p}`}>
        <h2 class="card-title">${p}</h2>
        <table class="data"><thead><tr><th>Discovered labels</th><th>Target labels</th></tr></thead><tbody>
        ${ts.filter((t) => matches(q, formatSeries(t.discovered), formatSeries(t.labels ?? {}))).map((t) => html`<tr>
          <td><${LabelBadges} labels=${t.discovered}/></td>
          <td>${t.labels ? html`<${LabelBadges} labels=${t.labels}/>` : html`<span class="badge neutral">Dropped</span>`}</td></tr>`)}
        </tbody></table></div>`)}`;
    }}<//>
  </div>`;
}

export function ConfigPage() {
  const loaded = useData(() => api<{ yaml: string }>("/api/v1/status/config"));
  return html`<div class="page"><${Status} loaded=${loaded}>${(d: { yaml: string }) => html`
    <div class="toolbar"><button type="button" class="btn" onClick=${() => navigator.clipboard?.writeText(d.yaml)}>Copy to clipboard</button></div>
    <pre class="config"><code>${d.yaml}</code></pre>`}<//></div>`;
}

export function FlagsPage() {
  const loaded = useData(() => api<Record<string, string>>("/api/v1/status/flags"));
  const [q, setQ] = useState("");
  return html`<div class="page">
    <div class="toolbar"><${SearchBox} value=${q} onInput=${setQ} placeholder="Filter by flag name or value"/></div>
    <${Status} loaded=${loaded}>${(d: Record<string, string>) => html`<table class="data"><thead><tr><th>Flag</th><th>Value</th></tr></thead><tbody>
      ${Object.entries(d).sort(([a], [b]) => a.localeCompare(b)).filter(([k, v]) => matches(q, k, v)).map(([k, v]) => html`<tr><td><code>--${k}</code></td><td><code>${v}</code></td></tr>`)}
    </tbody></table>`}<//>
  </div>`;
}

function KeyValues(props: { title: string; data: Record<string, unknown> }) {
  return html`<div class="card"><h2 class="card-title">${props.title}</h2><table class="data kv"><tbody>
    ${Object.entries(props.data).map(([k, v]) => html`<tr><th>${k}</th><td>${typeof v === "object" ? JSON.stringify(v) : String(v)}</td></tr>`)}
  </tbody></table></div>`;
}

export function RuntimeInfoPage() {
  const loaded = useData(() => Promise.all([
    api<Record<string, unknown>>("/api/v1/status/runtimeinfo"),
    api<Record<string, unknown>>("/api/v1/status/buildinfo"),
    api<{ activeAlertmanagers: { url: string }[]; droppedAlertmanagers: { url: string }[] }>("/api/v1/alertmanagers").catch(() => undefined),
  ]));
  return html`<div class="page"><${Status} loaded=${loaded}>${([rt, build, ams]: [Record<string, unknown>, Record<string, unknown>, { activeAlertmanagers: { url: string }[] } | undefined]) => html`
    <${KeyValues} title="Runtime information" data=${{ ...rt, startTime: `${formatTime(String(rt.startTime))} (${ago(String(rt.startTime))})` }}/>
    <${KeyValues} title="Build information" data=${build}/>
    ${ams && html`<div class="card"><h2 class="card-title">Alertmanagers</h2><table class="data"><tbody>
      ${ams.activeAlertmanagers.length === 0 ? html`<tr><td class="muted">None discovered.</td></tr>` : ams.activeAlertmanagers.map((a) => html`<tr><td>${a.url}</td></tr>`)}
    </tbody></table></div>`}`}<//></div>`;
}

interface TSDBStatus {
  headStats: Record<string, number>;
  seriesCountByMetricName: { name: string; value: number }[];
  labelValueCountByLabelName: { name: string; value: number }[];
  memoryInBytesByLabelName: { name: string; value: number }[];
  seriesCountByLabelValuePair: { name: string; value: number }[];
}

export function TSDBStatusPage() {
  const loaded = useData(() => api<TSDBStatus>("/api/v1/status/tsdb"));
  const table = (title: string, rows: { name: string; value: number }[] | undefined, what: string) => html`<div class="card">
    <h2 class="card-title">${title}</h2><table class="data"><thead><tr><th>Name</th><th>${what}</th></tr></thead><tbody>
    ${(rows ?? []).map((r) => html`<tr><td>${r.name}</td><td>${r.value}</td></tr>`)}</tbody></table></div>`;
  return html`<div class="page"><${Status} loaded=${loaded}>${(d: TSDBStatus) => html`
    <${KeyValues} title="Head block" data=${{
      "Number of series": d.headStats.numSeries, "Number of chunks": d.headStats.chunkCount,
      "Number of label pairs": d.headStats.numLabelPairs,
      "Min time": d.headStats.minTime ? formatTime(d.headStats.minTime) : "", "Max time": d.headStats.maxTime ? formatTime(d.headStats.maxTime) : "",
    }}/>
    ${table("Top 10 series count by metric names", d.seriesCountByMetricName, "Count")}
    ${table("Top 10 label names with value count", d.labelValueCountByLabelName, "Count")}
    ${table("Top 10 label names with high memory usage", d.memoryInBytesByLabelName, "Bytes")}
    ${table("Top 10 series count by label value pairs", d.seriesCountByLabelValuePair, "Count")}`}<//></div>`;
}
