/**
 * The Pushgateway page: every group (its grouping key, last push time and
 * whether that push succeeded, and its metrics with their samples), with a
 * filter and a button deleting a group (DELETE on the group's push path, as
 * `curl -X DELETE …/metrics/job/<job>/<label>/<value>` does).
 */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { config, formatTime, path, type Labels } from "./api.ts";
import { LabelBadges, SearchBox, Status, matches, useData } from "./common.ts";

interface PushedMetric {
  labels: Labels;
  value?: string;
  count?: string;
  sum?: string;
  buckets?: Record<string, string>;
  quantiles?: Record<string, string>;
}

interface PushedFamily {
  time_stamp: string;
  type: string;
  help: string;
  metrics: PushedMetric[];
}

/** One entry of `GET /api/v1/metrics`: labels, last_push_successful, and one family per metric name. */
type Group = { labels: Labels; last_push_successful: boolean } & Record<string, PushedFamily | Labels | boolean>;

const META = new Set(["labels", "last_push_successful"]);

/** The Pushgateway API's base under the route prefix ("" for the pushgateway role, "/pushgateway" on the server). */
function base(): string {
  return config.pushgateway ?? "";
}

function families(g: Group): [string, PushedFamily][] {
  return Object.entries(g).filter(([k]) => !META.has(k)) as [string, PushedFamily][];
}

function pushTime(g: Group): number {
  const f = g.push_time_seconds as PushedFamily | undefined;
  return Number(f?.metrics[0]?.value ?? 0) * 1000;
}

/** base64url without padding, of the UTF-8 bytes (the Pushgateway's `@base64` path encoding). */
function base64url(s: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A path segment pair for one grouping label; values with "/" or empty go base64-encoded. */
function segment(name: string, value: string): string {
  if (value === "" || value.includes("/")) return `${name}@base64/${value === "" ? "=" : base64url(value)}`;
  return `${name}/${encodeURIComponent(value)}`;
}

/** The push path of a group: job first, then the other grouping labels. */
export function groupPath(labels: Labels): string {
  const job = labels.job ?? "";
  const rest = Object.keys(labels).filter((k) => k !== "job").sort();
  return `/metrics/${segment("job", job)}${rest.map((k) => `/${segment(k, labels[k]!)}`).join("")}`;
}

async function deleteGroup(labels: Labels): Promise<void> {
  const res = await fetch(path(`${base()}${groupPath(labels)}`), { method: "DELETE" });
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
}

function sampleText(m: PushedMetric): string {
  if (m.value !== undefined) return m.value;
  const parts = [`count ${m.count ?? ""}`, `sum ${m.sum ?? ""}`];
  for (const [k, v] of Object.entries(m.buckets ?? {})) parts.push(`le=${k}: ${v}`);
  for (const [k, v] of Object.entries(m.quantiles ?? {})) parts.push(`q=${k}: ${v}`);
  return parts.join(", ");
}

function GroupCard(props: { g: Group; onDeleted: () => void }) {
  const { g } = props;
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const remove = () => {
    if (!confirm(`Delete the group ${JSON.stringify(g.labels)}?`)) return;
    setBusy(true);
    deleteGroup(g.labels).then(props.onDeleted, (e: Error) => { setError(e.message); setBusy(false); });
  };
  const list = families(g);
  return html`<div class="card pg-group">
    <div class="toolbar">
      <h2 class="card-title"><${LabelBadges} labels=${g.labels}/></h2>
      <span class="spacer"></span>
      <span class=${g.last_push_successful ? "badge state good" : "badge state bad"}>${g.last_push_successful ? "LAST PUSH OK" : "LAST PUSH FAILED"}</span>
      <span class="muted small">pushed ${formatTime(pushTime(g))}</span>
      <button type="button" class="btn danger" disabled=${busy} onClick=${remove}>Delete group</button>
    </div>
    ${error && html`<div class="alert error" role="alert">${error}</div>`}
    <details>
      <summary>${list.length} metrics</summary>
      <table class="data"><thead><tr><th>Metric</th><th>Type</th><th>Labels</th><th>Value</th><th>Pushed</th></tr></thead><tbody>
        ${list.flatMap(([name, f]) => f.metrics.map((m, i) => html`<tr>
          <td class="mono" title=${f.help}>${i === 0 ? name : ""}</td><td>${i === 0 ? f.type : ""}</td>
          <td><${LabelBadges} labels=${m.labels}/></td><td class="mono">${sampleText(m)}</td><td class="small">${i === 0 ? formatTime(f.time_stamp) : ""}</td>
        </tr>`))}
      </tbody></table>
    </details>
  </div>`;
}

/** /pushgateway */
export function PushgatewayPage() {
  const loaded = useData(async () => {
    const res = await fetch(path(`${base()}/api/v1/metrics`));
    const body = await res.json() as { status: string; data?: Group[]; error?: string };
    if (!res.ok || body.status !== "success") throw new Error(body.error ?? `${res.status}`);
    return body.data ?? [];
  });
  const [filter, setFilter] = useState("");
  return html`<div class="page">
    <div class="toolbar">
      <${SearchBox} value=${filter} onInput=${setFilter} placeholder="Filter by label or metric"/>
      <span class="spacer"></span>
      <button type="button" class="btn" onClick=${loaded.reload}>Refresh</button>
    </div>
    <${Status} loaded=${loaded}>${(groups: Group[]) => {
      const shown = groups.filter((g) => matches(filter, ...Object.entries(g.labels).map(([k, v]) => `${k}="${v}"`), ...families(g).map(([n]) => n)));
      return shown.length === 0
        ? html`<p class="muted">${groups.length === 0 ? "No groups have been pushed." : "No group matches the filter."}</p>`
        : shown.map((g) => html`<${GroupCard} key=${groupPath(g.labels)} g=${g} onDeleted=${loaded.reload}/>`);
    }}<//>
  </div>`;
}
