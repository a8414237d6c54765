/**
 * `GET /federate`: the latest sample (within the lookback delta) of every
 * series matching any `match[]` selector, with the server's external labels
 * attached, as Prometheus's federation handler writes it:
 *
 * - series sorted by metric name, one untyped family per name;
 * - labels with empty values and nameless series left out; stale markers
 *   dropped (the exposition formats cannot carry them);
 * - external labels appended (after the series' own, in name order) unless
 *   the series has the label already, with `instance=""` added when the
 *   external labels have no instance, so the scraping side sees an empty
 *   instance rather than its target's;
 * - text format 0.0.4, or protobuf-delimited `io.prometheus.client.MetricFamily`
 *   when the Accept header asks for it.
 *
 * @example
 * app.get("/federate", (c) => federate(c.req.raw, { querier: (a, b) => db.querier(a, b), lookbackDelta: 300_000, externalLabels: () => ({}) }));
 */
import { type Labels, type Matcher } from "../model/index.ts";
import { formatFloat, isStaleAt, ParseError } from "../promql/index.ts";
import type { StoredSeries } from "../tsdb/index.ts";
import { parseMetricSelector } from "./api/params.ts";
import { ProtoWriter, WIRE_I64, WIRE_VARINT } from "../remote/index.ts";

export const FEDERATE_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const FEDERATE_PROTO_CONTENT_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

export interface FederateOptions {
  /** A querier over [mint, maxt]; `select` may return a promise. */
  querier: (mint: number, maxt: number) => { select(m: readonly Matcher[], mint: number, maxt: number): StoredSeries[] | Promise<StoredSeries[]>; close?(): void };
  /** --query.lookback-delta in ms. */
  lookbackDelta: number;
  /** global.external_labels of the configuration in effect. */
  externalLabels: () => Readonly<Record<string, string>>;
  now?: () => number;
}

interface FederatedSample {
  labels: Labels;
  name: string;
  t: number;
  v: number;
}


/** Whether the Accept header asks for protobuf-delimited MetricFamily messages (expfmt.Negotiate). */
export function acceptsProtoDelimited(accept: string | null): boolean {
  if (!accept) return false;
  for (const part of accept.split(",")) {
    const [media, ...params] = part.split(";").map((p) => p.trim());
    if (media !== "application/vnd.google.protobuf") continue;
    const p = new Map(params.map((x) => {
      const eq = x.indexOf("=");
      return [x.slice(0, eq).trim(), x.slice(eq + 1).trim()] as const;
    }));
    if (p.get("proto") === "io.prometheus.client.MetricFamily" && p.get("encoding") === "delimited") return true;
  }
  return false;
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Collects the latest sample of each matching series, sorted by metric name (stable within a name). */
async function latestSamples(opts: FederateOptions, matcherSets: Matcher[][], now: number): Promise<FederatedSample[]> {
  const mint = now - opts.lookbackDelta;
  const q = opts.querier(mint, now);
  const seen = new Set<string>();
  const out: FederatedSample[] = [];
  const all: StoredSeries[] = [];
  try {
    for (const ms of matcherSets) {
      for (const s of await q.select(ms, mint, now)) all.push(s);
    }
    for (const s of all) {
      const key = labelsKeyFast(s.labels);
      if (seen.has(key)) continue;
      seen.add(key);
      const batch = s.samples();
      if (batch.length === 0) continue;
      const v = batch.v[batch.length - 1]!;
      // Read the marker's bits from the array: a NaN loaded into a JS number loses its payload.
      if (v !== v && isStaleAt(batch.v, batch.length - 1)) continue;
      let name = "";
      for (const l of s.labels) if (l.name === "__name__") name = l.value;
      out.push({ labels: s.labels, name, t: batch.t[batch.length - 1]!, v });
    }
  } finally {
    // The querier holds block references until closed.
    q.close?.();
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareLabelSets(a.labels, b.labels)));
  return out;
}

function labelsKeyFast(ls: Labels): string {
  let s = "";
  for (const l of ls) s += `${l.name}\xff${l.value}\xff`;
  return s;
}

function compareLabelSets(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.length - b.length;
}

/** The labels written for a sample: its own (no name, no empty values), then the external ones it lacks. */
function outputLabels(s: FederatedSample, external: readonly [string, string][]): [string, string][] {
  const out: [string, string][] = [];
  const own = new Set<string>();
  for (const l of s.labels) {
    if (l.value === "" || l.name === "__name__") continue;
    out.push([l.name, l.value]);
    own.add(l.name);
  }
  for (const [n, v] of external) if (!own.has(n)) out.push([n, v]);
  return out;
}

function encodeText(samples: FederatedSample[], external: readonly [string, string][]): string {
  const lines: string[] = [];
  let last = "";
  for (const s of samples) {
    if (s.name !== last) {
      lines.push(`# TYPE ${s.name} untyped`);
      last = s.name;
    }
    const ls = outputLabels(s, external);
    const labelText = ls.length === 0 ? "" : `{${ls.map(([n, v]) => `${n}="${escapeValue(v)}"`).join(",")}}`;
    lines.push(`${s.name}${labelText} ${formatFloat(s.v)} ${s.t}`);
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

const UNTYPED = 3;

function encodeProtoDelimited(samples: FederatedSample[], external: readonly [string, string][]): Uint8Array<ArrayBuffer> {
  const out = new ProtoWriter(4096);
  let i = 0;
  while (i < samples.length) {
    const name = samples[i]!.name;
    const fam = new ProtoWriter(256);
    fam.string(1, name);
    fam.tag(3, WIRE_VARINT);
    fam.uint32(UNTYPED);
    for (; i < samples.length && samples[i]!.name === name; i++) {
      const s = samples[i]!;
      fam.fork(4);
      for (const [n, v] of outputLabels(s, external)) {
        fam.fork(1);
        fam.string(1, n);
        fam.string(2, v);
        fam.join();
      }
      fam.fork(5);
      fam.tag(1, WIRE_I64);
      fam.double(s.v);
      fam.join();
      fam.tag(6, WIRE_VARINT);
      fam.int64(s.t);
      fam.join();
    }
    const bytes = fam.finish();
    out.uint32(bytes.length);
    out.raw(bytes);
  }
  return out.finish();
}

/** Handles GET/POST /federate. */
export async function federate(req: Request, opts: FederateOptions): Promise<Response> {
  const url = new URL(req.url);
  const values = url.searchParams.getAll("match[]");
  if (req.method === "POST" && (req.headers.get("Content-Type") ?? "").startsWith("application/x-www-form-urlencoded")) {
    values.push(...new URLSearchParams(await req.text()).getAll("match[]"));
  }
  const matcherSets: Matcher[][] = [];
  for (const v of values) {
    try {
      matcherSets.push(parseMetricSelector(v));
    } catch (e) {
      const msg = e instanceof ParseError || e instanceof Error ? e.message : String(e);
      return new Response(`${msg}\n`, { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
  }
  const now = opts.now?.() ?? Date.now();
  const samples = await latestSamples(opts, matcherSets, now);
  const ext = { ...opts.externalLabels() };
  if (!("instance" in ext)) ext.instance = "";
  const external = Object.entries(ext).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (acceptsProtoDelimited(req.headers.get("Accept"))) {
    return new Response(encodeProtoDelimited(samples, external), { status: 200, headers: { "Content-Type": FEDERATE_PROTO_CONTENT_TYPE } });
  }
  return new Response(encodeText(samples, external), { status: 200, headers: { "Content-Type": FEDERATE_TEXT_CONTENT_TYPE } });
}
