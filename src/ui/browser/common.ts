/** Pieces every page shares: loading data, label badges, filters. */
import { html } from "htm/preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Labels } from "./api.ts";

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => void;
}

/** Loads once on mount (and whenever `deps` change); `reload` loads again. */
export function useData<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e: Error) => live && setState({ error: e.message, loading: false }),
    );
    return () => { live = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Shows the loading state or the error, else renders `body`. */
export function Status<T>(props: { loaded: Loaded<T>; children: (data: T) => unknown }) {
  const { loaded } = props;
  if (loaded.error) return html`<div class="alert error" role="alert">Error: ${loaded.error}</div>`;
  if (loaded.data === undefined) return html`<p class="muted">Loading…</p>`;
  return props.children(loaded.data);
}

export function LabelBadges(props: { labels: Labels | undefined; skipName?: boolean }) {
  const entries = Object.entries(props.labels ?? {}).filter(([k]) => !(props.skipName && k === "__name__"));
  return html`<span class="labels">${entries.map(([k, v]) => html`<span class="badge label">${k}="${v}"</span>`)}</span>`;
}

export function StateBadge(props: { state: string }) {
  const s = props.state.toLowerCase();
  const kind = s === "firing" || s === "down" || s === "err" || s === "unhealthy" || s === "expired"
    ? "bad" : s === "pending" || s === "unknown" ? "warn" : s === "inactive" || s === "up" || s === "ok" || s === "active" || s === "healthy" ? "good" : "neutral";
  return html`<span class=${`badge state ${kind}`}>${props.state.toUpperCase()}</span>`;
}

export function SearchBox(props: { value: string; onInput: (v: string) => void; placeholder: string }) {
  return html`<input type="search" class="search" aria-label=${props.placeholder} placeholder=${props.placeholder} value=${props.value}
    onInput=${(e: Event) => props.onInput((e.target as HTMLInputElement).value)}/>`;
}

/** Whether any of the texts contains the query (case-insensitive). */
export function matches(query: string, ...texts: string[]): boolean {
  const q = query.trim().toLowerCase();
  return q === "" || texts.some((t) => t.toLowerCase().includes(q));
}
