/**
 * Remote-write decode benchmark: how many samples/s each way of decoding a
 * snappy-compressed 2,000-sample `prometheus.WriteRequest` reaches, to choose
 * the receiver's codecs by measurement.
 *
 *   npx bun bench/remote_codec.bench.ts [--reps=N]
 *
 * Snappy: promts's decoder (src/remote/snappy.ts) vs snappyjs (pure JS) vs
 * snappy (napi-rs native binding). Protobuf: promts's columnar decoder vs
 * protobufjs (reflection, one object per message) vs @bufbuild/protobuf's
 * BinaryReader driven by hand (the library's own wire reader, objects per
 * sample as its generated code makes). Requests are the shape Prometheus
 * sends: 2,000 series of ~8 labels with one sample each, and 100 series x 20
 * samples. Prints a markdown table and writes bench/results/remote_codec.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import protobuf from "protobufjs";
import snappyNative from "snappy";
// @ts-expect-error snappyjs ships no types
import SnappyJS from "snappyjs";
import { median } from "./machine.ts";
import { decodeWriteV1, encodeWriteV1, snappyDecode, snappyEncode, type EncodeSeries } from "../src/remote/index.ts";

const reps = Number(process.argv.find((a) => a.startsWith("--reps="))?.slice(7) ?? 200);
const LIMIT = 32 << 20;

function request(seriesCount: number, perSeries: number): EncodeSeries[] {
  const out: EncodeSeries[] = [];
  const t0 = 1_700_000_000_000;
  for (let s = 0; s < seriesCount; s++) {
    const t = new Float64Array(perSeries).map((_, i) => t0 + i * 15_000);
    const v = new Float64Array(perSeries).map((_, i) => (s % 3 === 0 ? s * 1000 + i * 17.25 : Math.round(Math.sin(s + i) * 1e6) / 100));
    out.push({
      labels: [
        { name: "__name__", value: `node_metric_${s % 50}_total` },
        { name: "cpu", value: String(s % 16) },
        { name: "device", value: `sd${String.fromCharCode(97 + (s % 8))}` },
        { name: "env", value: "production" },
        { name: "instance", value: `host-${Math.floor(s / 50)}.example.org:9100` },
        { name: "job", value: "node" },
        { name: "mode", value: ["user", "system", "idle", "iowait"][s % 4]! },
        { name: "region", value: "eu-west-1" },
      ],
      t,
      v,
    });
  }
  return out;
}

const protoSchema = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: "repeated", type: "TimeSeries", id: 1 } } },
        TimeSeries: {
          fields: {
            labels: { rule: "repeated", type: "Label", id: 1 },
            samples: { rule: "repeated", type: "Sample", id: 2 },
          },
        },
        Label: { fields: { name: { type: "string", id: 1 }, value: { type: "string", id: 2 } } },
        Sample: { fields: { value: { type: "double", id: 1 }, timestamp: { type: "int64", id: 2 } } },
      },
    },
  },
});
const WriteRequestType = protoSchema.lookupType("prometheus.WriteRequest");

function countProtobufjs(buf: Uint8Array): number {
  const msg = WriteRequestType.decode(buf) as unknown as { timeseries: { samples: unknown[] }[] };
  let n = 0;
  for (const ts of msg.timeseries) n += ts.samples.length;
  return n;
}

/** @bufbuild/protobuf's BinaryReader, building the objects its generated code would. */
function countBufbuild(buf: Uint8Array): number {
  const r = new BinaryReader(buf);
  const series: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: bigint }[] }[] = [];
  while (r.pos < r.len) {
    const [field, wt] = r.tag();
    if (field !== 1) {
      r.skip(wt);
      continue;
    }
    const end = r.pos + r.uint32();
    const ts = { labels: [] as { name: string; value: string }[], samples: [] as { value: number; timestamp: bigint }[] };
    while (r.pos < end) {
      const [f, w] = r.tag();
      if (f === 1 || f === 2) {
        const e = r.pos + r.uint32();
        if (f === 1) {
          const l = { name: "", value: "" };
          while (r.pos < e) {
            const [lf, lw] = r.tag();
            if (lf === 1) l.name = r.string();
            else if (lf === 2) l.value = r.string();
            else r.skip(lw);
          }
          ts.labels.push(l);
        } else {
          const s = { value: 0, timestamp: 0n };
          while (r.pos < e) {
            const [sf, sw] = r.tag();
            if (sf === 1 && sw === WireType.Bit64) s.value = r.double();
            else if (sf === 2) s.timestamp = BigInt(r.int64());
            else r.skip(sw);
          }
          ts.samples.push(s);
        }
      } else r.skip(w);
    }
    series.push(ts);
  }
  let n = 0;
  for (const ts of series) n += ts.samples.length;
  return n;
}

function time(fn: () => number, expected: number): number {
  for (let i = 0; i < 20; i++) if (fn() !== expected) throw new Error("decoder lost samples");
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = Bun.nanoseconds();
    for (let i = 0; i < reps; i++) fn();
    runs.push((Bun.nanoseconds() - start) / 1e9 / reps);
  }
  return median(runs);
}

interface Row {
  shape: string;
  snappy: string;
  protobuf: string;
  secondsPerRequest: number;
  samplesPerSecond: number;
}

const rows: Row[] = [];
const sizes: Record<string, { raw: number; snappyPromts: number; snappyNative: number }> = {};
for (const [shape, seriesCount, per] of [["2000 series x 1 sample", 2000, 1], ["100 series x 20 samples", 100, 20]] as const) {
  const raw = encodeWriteV1(request(seriesCount, per));
  const compressed = new Uint8Array(snappyNative.compressSync(Buffer.from(raw)));
  sizes[shape] = { raw: raw.length, snappyPromts: snappyEncode(raw).length, snappyNative: compressed.length };
  const samples = seriesCount * per;
  const snappies: [string, (b: Uint8Array) => Uint8Array][] = [
    ["promts", (b) => snappyDecode(b, LIMIT)],
    ["snappyjs", (b) => SnappyJS.uncompress(b) as Uint8Array],
    ["snappy (napi)", (b) => new Uint8Array(snappyNative.uncompressSync(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) as Buffer)],
  ];
  const protos: [string, (b: Uint8Array) => number][] = [
    ["promts", (b) => decodeWriteV1(b).samples],
    ["protobufjs", countProtobufjs],
    ["@bufbuild/protobuf", countBufbuild],
  ];
  for (const [sn, unsnap] of snappies) {
    if (!sameBytes(unsnap(compressed), raw)) throw new Error(`${sn} decoded different bytes`);
    for (const [pn, decode] of protos) {
      const sec = time(() => decode(unsnap(compressed)), samples);
      rows.push({ shape, snappy: sn, protobuf: pn, secondsPerRequest: sec, samplesPerSecond: samples / sec });
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

console.log(`Decode of one snappy-compressed remote-write 1.0 request (median of 7 runs x ${reps} requests):\n`);
console.log("| request | snappy | protobuf | µs/request | samples/s |");
console.log("| --- | --- | --- | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.shape} | ${r.snappy} | ${r.protobuf} | ${(r.secondsPerRequest * 1e6).toFixed(0)} | ${(r.samplesPerSecond / 1e6).toFixed(2)}M |`);
}
console.log("\nSizes (bytes): " + Object.entries(sizes).map(([k, s]) => `${k}: protobuf ${s.raw}, snappy promts ${s.snappyPromts}, snappy native ${s.snappyNative}`).join("; "));
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(join(import.meta.dir, "results", "remote_codec.json"), JSON.stringify({ reps, rows, sizes }, null, 2));
