/**
 * A small encoder of protobuf-delimited `io.prometheus.client.MetricFamily`
 * messages, for tests: what the Go client library sends to a Pushgateway.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function key(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

function bytesField(field: number, data: number[] | Uint8Array): number[] {
  return [...key(field, 2), ...varint(data.length), ...data];
}

function stringField(field: number, s: string): number[] {
  return bytesField(field, new TextEncoder().encode(s));
}

function doubleField(field: number, v: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [...key(field, 1), ...b];
}

export interface PbMetric {
  labels?: Record<string, string>;
  value?: number;
  summary?: { count: number; sum: number; quantiles: [number, number][] };
  histogram?: { count: number; sum: number; buckets: [number, number][] };
  timestampMs?: number;
}

export interface PbFamily {
  name: string;
  help?: string;
  type: "counter" | "gauge" | "summary" | "untyped" | "histogram";
  metrics: PbMetric[];
}

const TYPE_NUM = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;
const VALUE_FIELD = { counter: 3, gauge: 2, untyped: 5 } as const;

function metric(type: PbFamily["type"], m: PbMetric): number[] {
  const out: number[] = [];
  for (const [n, v] of Object.entries(m.labels ?? {})) out.push(...bytesField(1, [...stringField(1, n), ...stringField(2, v)]));
  if (type === "summary" && m.summary) {
    const s = [...key(1, 0), ...varint(m.summary.count), ...doubleField(2, m.summary.sum)];
    for (const [q, v] of m.summary.quantiles) s.push(...bytesField(3, [...doubleField(1, q), ...doubleField(2, v)]));
    out.push(...bytesField(4, s));
  } else if (type === "histogram" && m.histogram) {
    const h = [...key(1, 0), ...varint(m.histogram.count), ...doubleField(2, m.histogram.sum)];
    for (const [ub, c] of m.histogram.buckets) h.push(...bytesField(3, [...key(1, 0), ...varint(c), ...doubleField(2, ub)]));
    out.push(...bytesField(7, h));
  } else if (type !== "summary" && type !== "histogram") {
    out.push(...bytesField(VALUE_FIELD[type], doubleField(1, m.value ?? 0)));
  }
  if (m.timestampMs !== undefined) out.push(...key(6, 0), ...varint(m.timestampMs));
  return out;
}

/** Encodes families as a protobuf-delimited body. */
export function encodeDelimited(families: PbFamily[]): Uint8Array {
  const out: number[] = [];
  for (const f of families) {
    const msg = [...stringField(1, f.name)];
    if (f.help !== undefined) msg.push(...stringField(2, f.help));
    msg.push(...key(3, 0), ...varint(TYPE_NUM[f.type]));
    for (const m of f.metrics) msg.push(...bytesField(4, metric(f.type, m)));
    out.push(...varint(msg.length), ...msg);
  }
  return new Uint8Array(out);
}

export const PROTOBUF_CONTENT_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
