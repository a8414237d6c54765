/** Fetching from the role's APIs, and the small formatting helpers every page uses. */

/** The configuration the server puts into the page (src/ui/routes.ts indexHTML). */
export interface UIConfig {
  prefix: string;
  roles: string[];
  title: string;
  version: string;
  dashboards: boolean;
  /** Where the Pushgateway API lives under the prefix ("" for the pushgateway role, "/pushgateway" on the server); absent without one. */
  pushgateway?: string;
}

export const config: UIConfig = JSON.parse(document.getElementById("promts-config")?.textContent ?? "{}");

/** An absolute path under the route prefix. */
export function path(p: string): string {
  return `${config.prefix}${p}`;
}

/** Calls a Prometheus-style API (`{status, data, error}`); rejects with the server's error text. */
export async function api<T>(p: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path(p), init);
  const text = await res.text();
  let body: { status?: string; data?: T; error?: string; errorType?: string } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${res.status} ${res.statusText}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || body?.status === "error") throw new Error(body?.error ?? `${res.status} ${res.statusText}`);
  return body!.data as T;
}

/** Calls the Alertmanager API v2 (plain JSON); rejects with the server's error text. */
export async function amAPI<T>(p: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path(`/api/v2${p}`), init);
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      const j = JSON.parse(text);
      msg = typeof j === "string" ? j : j.message ?? j.error ?? text;
    } catch { /* plain text */ }
    throw new Error(`${res.status}: ${msg}`);
  }
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

export type Labels = Record<string, string>;

/** `name{a="b", c="d"}` as Prometheus prints a series. */
export function formatSeries(labels: Labels): string {
  const name = labels.__name__ ?? "";
  const rest = Object.keys(labels).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`).join(", ");
  return rest === "" && name !== "" ? name : `${name}{${rest}}`;
}

/** "2026-01-02 03:04:05.678 UTC" */
export function formatTime(t: number | string | Date): string {
  const d = t instanceof Date ? t : new Date(typeof t === "number" ? t : Date.parse(t));
  if (isNaN(d.getTime())) return String(t);
  return d.toISOString().replace("T", " ").replace("Z", " UTC");
}

/** "3m 4s ago" from an RFC 3339 time. */
export function ago(t: string | undefined): string {
  if (!t || t.startsWith("0001-")) return "never";
  const ms = Date.now() - Date.parse(t);
  if (isNaN(ms)) return t;
  return ms < 0 ? `in ${formatDuration(-ms)}` : `${formatDuration(ms)} ago`;
}

/** 90061000 → "1d 1h 1m 1s"; below a second, "123ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 3).join(" ");
}

/** Prometheus duration text → milliseconds; NaN when it is not one. */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return s !== "" && pos === s.length ? total : NaN;
}

/** 3_600_000 → "1h"; the largest units first, as Prometheus prints durations. */
export function durationText(ms: number): string {
  if (ms <= 0) return "0s";
  let out = "";
  for (const [unit, size] of [["y", 31_536_000_000], ["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    if (ms >= size) {
      out += `${Math.floor(ms / size)}${unit}`;
      ms %= size;
    }
  }
  return out;
}

/** Adds `?a=b` pairs to a path. */
export function withParams(p: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === "" ? p : `${p}?${s}`;
}
