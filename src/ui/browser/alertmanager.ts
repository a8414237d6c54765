/** The Alertmanager pages: alerts grouped by route with matcher filters, silences (list, create, edit, expire), status. */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { ago, amAPI, durationText, formatDuration, formatTime, parseDuration, path, withParams, type Labels } from "./api.ts";
import { LabelBadges, StateBadge, Status, useData } from "./common.ts";
import { navigate } from "./router.ts";

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^,}"\s]*)\s*(,|$)/y;

/** Parses `{a="b", c=~"d"}` (braces optional) into matchers; throws naming the position that does not parse. */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith("{")) {
    if (!s.endsWith("}")) throw new Error(`matchers ${JSON.stringify(text)}: missing closing "}"`);
    s = s.slice(1, -1).trim();
  }
  const out: Matcher[] = [];
  MATCHER.lastIndex = 0;
  while (MATCHER.lastIndex < s.length) {
    const at = MATCHER.lastIndex;
    const m = MATCHER.exec(s);
    if (!m) throw new Error(`matchers ${JSON.stringify(text)}: cannot parse at ${JSON.stringify(s.slice(at, at + 20))}`);
    const raw = m[3]!;
    const value = raw.startsWith("\"") ? JSON.parse(raw) as string : raw;
    out.push({ name: m[1]!, value, isRegex: m[2]!.includes("~"), isEqual: !m[2]!.startsWith("!") });
    if (m[4] === "") break;
  }
  return out;
}

export function matcherText(m: Matcher): string {
  return `${m.name}${m.isEqual ? "" : "!"}${m.isRegex ? "~" : "="}${JSON.stringify(m.value)}`;
}

function matchersText(ms: Matcher[]): string {
  return `{${ms.map(matcherText).join(", ")}}`;
}

interface AMAlert {
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  generatorURL?: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
  receivers: { name: string }[];
}

interface AlertGroup {
  labels: Labels;
  receiver: { name: string };
  alerts: AMAlert[];
}

function silenceLinkFor(labels: Labels): string {
  const ms = Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
  return path(withParams("/alertmanager/silences/new", { filter: matchersText(ms) }));
}

export function AMAlertsPage(props: { search: URLSearchParams }) {
  const filterText = props.search.get("filter") ?? "";
  const [draft, setDraft] = useState(filterText);
  const [silenced, setSilenced] = useState(props.search.get("silenced") === "true");
  const [inhibited, setInhibited] = useState(props.search.get("inhibited") === "true");
  const loaded = useData(async () => {
    const q = new URLSearchParams();
    for (const m of parseMatchers(filterText)) q.append("filter", matcherText(m));
    q.set("silenced", String(silenced));
    q.set("inhibited", String(inhibited));
    return amAPI<AlertGroup[]>(`/alerts/groups?${q}`);
  }, [filterText, silenced, inhibited]);
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(withParams("/alertmanager/alerts", { filter: draft.trim() === "" ? undefined : draft.trim() }));
  };
  return html`<div class="page">
    <form class="toolbar" onSubmit=${apply}>
      <input class="search wide" aria-label="Filter alerts by matchers" placeholder='Filter by matchers, e.g. {alertname="X", severity=~"crit.*"}' value=${draft}
        onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)}/>
      <button type="submit" class="btn primary">Filter</button>
      <label class="check"><input type="checkbox" checked=${silenced} onChange=${(e: Event) => setSilenced((e.target as HTMLInputElement).checked)}/> Silenced</label>
      <label class="check"><input type="checkbox" checked=${inhibited} onChange=${(e: Event) => setInhibited((e.target as HTMLInputElement).checked)}/> Inhibited</label>
      <a class="btn" href=${path("/alertmanager/silences/new")}>New silence</a>
    </form>
    <${Status} loaded=${loaded}>${(groups: AlertGroup[]) => groups.length === 0 ? html`<p class="muted">No alert groups found.</p>` : groups.map((g) => html`<div class="card">
      <h2 class="card-title"><${LabelBadges} labels=${g.labels}/> <span class="muted small">receiver: ${g.receiver.name} · ${g.alerts.length} alert${g.alerts.length === 1 ? "" : "s"}</span></h2>
      ${g.alerts.map((a) => html`<div class="am-alert">
        <div><span class="muted small">${formatTime(a.startsAt)} (${ago(a.startsAt)})</span> <${StateBadge} state=${a.status.state}/>
          <a class="btn small" href=${silenceLinkFor(a.labels)}>Silence</a>
          ${a.generatorURL && html`<a class="btn small" href=${a.generatorURL}>Source</a>`}</div>
        <${LabelBadges} labels=${a.labels}/>
        ${Object.entries(a.annotations ?? {}).map(([k, v]) => html`<div class="annotation"><b>${k}:</b> ${v}</div>`)}
      </div>`)}
    </div>`)}<//>
  </div>`;
}

interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  updatedAt?: string;
  createdBy: string;
  comment: string;
  status: { state: "active" | "pending" | "expired" };
}

async function expire(id: string): Promise<void> {
  await amAPI<unknown>(`/silence/${encodeURIComponent(id)}`, { method: "DELETE" });
}

function SilenceRow(props: { s: Silence; onChange: () => void }) {
  const { s } = props;
  const [err, setErr] = useState("");
  return html`<div class="silence" data-silence-id=${s.id}>
    <div class="silence-head">
      <${StateBadge} state=${s.status.state}/>
      <a href=${path(`/alertmanager/silences/${s.id}`)} class="mono small">${s.id}</a>
      <span class="muted small">${s.status.state === "expired" ? `expired ${ago(s.endsAt)}` : s.status.state === "pending" ? `starts ${ago(s.startsAt)}` : `ends ${ago(s.endsAt)}`}</span>
      <span class="spacer"></span>
      <a class="btn small" href=${path(withParams("/alertmanager/silences/new", { id: s.id }))}>${s.status.state === "expired" ? "Recreate" : "Edit"}</a>
      ${s.status.state !== "expired" && html`<button type="button" class="btn small danger" onClick=${() => expire(s.id).then(props.onChange, (e: Error) => setErr(e.message))}>Expire</button>`}
    </div>
    <div class="labels">${s.matchers.map((m) => html`<span class="badge label">${matcherText(m)}</span>`)}</div>
    <div class="muted small">${s.createdBy}: ${s.comment}</div>
    ${err && html`<div class="alert error">${err}</div>`}
  </div>`;
}

export function SilencesPage() {
  const loaded = useData(() => amAPI<Silence[]>("/silences"));
  const [tab, setTab] = useState<"active" | "pending" | "expired">("active");
  return html`<div class="page">
    <div class="toolbar">
      <span class="tabs" role="tablist">${(["active", "pending", "expired"] as const).map((t) => html`<button type="button" role="tab" aria-selected=${tab === t}
        class=${tab === t ? "tab active" : "tab"} onClick=${() => setTab(t)}>${t[0]!.toUpperCase() + t.slice(1)}${loaded.data ? ` (${loaded.data.filter((s) => s.status.state === t).length})` : ""}</button>`)}</span>
      <span class="spacer"></span>
      <a class="btn primary" href=${path("/alertmanager/silences/new")}>New silence</a>
    </div>
    <${Status} loaded=${loaded}>${(all: Silence[]) => {
      const list = all.filter((s) => s.status.state === tab).sort((a, b) => a.endsAt.localeCompare(b.endsAt));
      return list.length === 0 ? html`<p class="muted">No ${tab} silences.</p>` : html`<div class="card">${list.map((s) => html`<${SilenceRow} key=${s.id} s=${s} onChange=${loaded.reload}/>`)}</div>`;
    }}<//>
  </div>`;
}

/** /alertmanager/silences/:id — one silence, or the editor for "new" (`?id=` edits, `?filter=` pre-fills). */
export function SilencePage(props: { id: string; search: URLSearchParams }) {
  if (props.id === "new") return html`<${SilenceEditor} key=${props.search.toString()} editId=${props.search.get("id") ?? ""} filter=${props.search.get("filter") ?? ""}/>`;
  const loaded = useData(() => amAPI<Silence>(`/silence/${encodeURIComponent(props.id)}`), [props.id]);
  return html`<div class="page"><${Status} loaded=${loaded}>${(s: Silence) => html`<div class="card">
    <h2 class="card-title">Silence <span class="mono">${s.id}</span></h2>
    <table class="data kv"><tbody>
      <tr><th>State</th><td><${StateBadge} state=${s.status.state}/></td></tr>
      <tr><th>Matchers</th><td>${s.matchers.map((m) => html`<span class="badge label">${matcherText(m)}</span>`)}</td></tr>
      <tr><th>Starts</th><td>${formatTime(s.startsAt)}</td></tr>
      <tr><th>Ends</th><td>${formatTime(s.endsAt)}</td></tr>
      <tr><th>Created by</th><td>${s.createdBy}</td></tr>
      <tr><th>Comment</th><td>${s.comment}</td></tr>
    </tbody></table>
    <div class="toolbar">
      <a class="btn" href=${path(withParams("/alertmanager/silences/new", { id: s.id }))}>Edit</a>
      ${s.status.state !== "expired" && html`<button type="button" class="btn danger" onClick=${() => expire(s.id).then(loaded.reload)}>Expire</button>`}
      <a class="btn" href=${path(withParams("/alertmanager/alerts", { filter: matchersText(s.matchers), silenced: "true" }))}>Affected alerts</a>
    </div></div>`}<//></div>`;
}

function toLocalInput(iso: string): string {
  return formatTime(iso).replace(" UTC", "").slice(0, 19);
}

function fromInput(text: string): number {
  return Date.parse(/[zZ]$/.test(text) ? text : `${text.trim().replace(" ", "T")}Z`);
}

function SilenceEditor(props: { editId: string; filter: string }) {
  const loaded = useData(async () => {
    const now = new Date();
    const base = {
      matchers: [] as Matcher[], startsAt: now.toISOString(), endsAt: new Date(now.getTime() + 2 * 3_600_000).toISOString(),
      createdBy: localStorage.getItem("promts.silenceCreator") ?? "", comment: "", id: "",
    };
    if (props.editId !== "") {
      const s = await amAPI<Silence>(`/silence/${encodeURIComponent(props.editId)}`);
      const expired = s.status.state === "expired";
      return { ...base, ...s, id: expired ? "" : s.id, startsAt: expired ? base.startsAt : s.startsAt, endsAt: expired ? base.endsAt : s.endsAt };
    }
    if (props.filter !== "") base.matchers = parseMatchers(props.filter).filter((m) => m.name !== "__name__");
    if (base.matchers.length === 0) base.matchers = [{ name: "", value: "", isRegex: false, isEqual: true }];
    return base;
  }, [props.editId, props.filter]);
  return html`<div class="page"><${Status} loaded=${loaded}>${(init: { matchers: Matcher[]; startsAt: string; endsAt: string; createdBy: string; comment: string; id: string }) =>
    html`<${SilenceForm} init=${init}/>`}<//></div>`;
}

function SilenceForm(props: { init: { matchers: Matcher[]; startsAt: string; endsAt: string; createdBy: string; comment: string; id: string } }) {
  const { init } = props;
  const [matchers, setMatchers] = useState<Matcher[]>(init.matchers);
  const [start, setStart] = useState(toLocalInput(init.startsAt));
  const [duration, setDuration] = useState(durationText(Math.max(0, Date.parse(init.endsAt) - Date.parse(init.startsAt))));
  const [createdBy, setCreatedBy] = useState(init.createdBy);
  const [comment, setComment] = useState(init.comment);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const startMs = fromInput(start);
  const durMs = parseDuration(duration);
  const endText = !isNaN(startMs) && durMs > 0 ? formatTime(startMs + durMs) : "—";
  const setM = (i: number, patch: Partial<Matcher>) => setMatchers(matchers.map((m, j) => (j === i ? { ...m, ...patch } : m)));

  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    if (isNaN(startMs)) return setError(`Start ${JSON.stringify(start)}: not a time like 2026-01-02 15:04:05 (UTC)`);
    if (!(durMs > 0)) return setError(`Duration ${JSON.stringify(duration)}: not a duration like 2h`);
    const ms = matchers.filter((m) => m.name.trim() !== "");
    if (ms.length === 0) return setError("A silence needs at least one matcher.");
    if (createdBy.trim() === "") return setError("Creator: required.");
    if (comment.trim() === "") return setError("Comment: required.");
    setBusy(true);
    try {
      localStorage.setItem("promts.silenceCreator", createdBy.trim());
      const body: Record<string, unknown> = {
        matchers: ms.map((m) => ({ ...m, name: m.name.trim() })),
        startsAt: new Date(startMs).toISOString(), endsAt: new Date(startMs + durMs).toISOString(),
        createdBy: createdBy.trim(), comment: comment.trim(),
      };
      if (init.id !== "") body.id = init.id;
      const res = await amAPI<{ silenceID: string }>("/silences", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      navigate(`/alertmanager/silences/${res.silenceID}`);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return html`<form class="card silence-form" onSubmit=${submit}>
    <h2 class="card-title">${init.id !== "" ? "Edit silence" : "New silence"}</h2>
    <div class="form-row">
      <label>Start (UTC)<input name="startsAt" value=${start} onInput=${(e: Event) => setStart((e.target as HTMLInputElement).value)}/></label>
      <label>Duration<input name="duration" value=${duration} size="8" onInput=${(e: Event) => setDuration((e.target as HTMLInputElement).value)}/></label>
      <span class="muted small">Ends ${endText}</span>
    </div>
    <fieldset><legend>Matchers <span class="muted small">(alerts affected by this silence)</span></legend>
      ${matchers.map((m, i) => html`<div class="form-row matcher-row">
        <input aria-label=${`Matcher ${i + 1} label name`} placeholder="label name" value=${m.name} onInput=${(e: Event) => setM(i, { name: (e.target as HTMLInputElement).value })}/>
        <select aria-label=${`Matcher ${i + 1} operator`} value=${`${m.isEqual ? "" : "!"}${m.isRegex ? "~" : "="}`}
          onChange=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; setM(i, { isEqual: !v.startsWith("!"), isRegex: v.endsWith("~") }); }}>
          <option value="=">=</option><option value="!=">!=</option><option value="~">=~</option><option value="!~">!~</option>
        </select>
        <input aria-label=${`Matcher ${i + 1} value`} placeholder="value" value=${m.value} onInput=${(e: Event) => setM(i, { value: (e.target as HTMLInputElement).value })}/>
        <button type="button" class="btn icon" aria-label=${`Remove matcher ${i + 1}`} onClick=${() => setMatchers(matchers.filter((_, j) => j !== i))}>✕</button>
      </div>`)}
      <button type="button" class="btn" onClick=${() => setMatchers([...matchers, { name: "", value: "", isRegex: false, isEqual: true }])}>+ Add matcher</button>
    </fieldset>
    <div class="form-row"><label>Creator<input name="createdBy" value=${createdBy} onInput=${(e: Event) => setCreatedBy((e.target as HTMLInputElement).value)}/></label></div>
    <div class="form-row"><label class="grow">Comment<textarea name="comment" rows="3" onInput=${(e: Event) => setComment((e.target as HTMLTextAreaElement).value)}>${comment}</textarea></label></div>
    ${error && html`<div class="alert error" role="alert">${error}</div>`}
    <div class="toolbar"><button type="submit" class="btn primary" disabled=${busy}>${init.id !== "" ? "Update" : "Create"}</button>
      <a class="btn" href=${path("/alertmanager/silences")}>Cancel</a></div>
  </form>`;
}

interface AMStatus {
  cluster: { name?: string; status: string; peers?: { name: string; address: string }[] };
  versionInfo: Record<string, string>;
  config: { original: string };
  uptime: string;
}

export function AMStatusPage() {
  const loaded = useData(() => amAPI<AMStatus>("/status"));
  return html`<div class="page"><${Status} loaded=${loaded}>${(s: AMStatus) => html`
    <div class="card"><h2 class="card-title">Status</h2><table class="data kv"><tbody>
      <tr><th>Uptime</th><td>${formatTime(s.uptime)} (${formatDuration(Date.now() - Date.parse(s.uptime))})</td></tr>
    </tbody></table></div>
    <div class="card"><h2 class="card-title">Cluster status</h2><table class="data kv"><tbody>
      <tr><th>Name</th><td>${s.cluster.name ?? ""}</td></tr>
      <tr><th>Status</th><td><${StateBadge} state=${s.cluster.status}/></td></tr>
      <tr><th>Peers</th><td>${(s.cluster.peers ?? []).length === 0 ? html`<span class="muted">none</span>` : html`<ol class="peers">${s.cluster.peers!.map((p) => html`<li>${p.name} <span class="muted">${p.address}</span></li>`)}</ol>`}</td></tr>
    </tbody></table></div>
    <div class="card"><h2 class="card-title">Version information</h2><table class="data kv"><tbody>
      ${Object.entries(s.versionInfo).map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}
    </tbody></table></div>
    <div class="card"><h2 class="card-title">Config</h2><pre class="config"><code>${s.config.original}</code></pre></div>`}<//></div>`;
}
