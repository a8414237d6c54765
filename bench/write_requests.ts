/** Pre-encoded Remote-Write 1.0 requests the remote-write benchmarks send: `series` node-exporter-like series, `samples` each, 15 s apart from `t0`. */
import { encodeWriteV1, snappyEncode } from "../src/remote/index.ts";

export function buildWriteRequests(o: { series: number; samples: number; perRequest: number; t0: number; metricPrefix: string }): Uint8Array<ArrayBuffer>[] {
  const out: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < o.samples; i++) {
    for (let s0 = 0; s0 < o.series; s0 += o.perRequest) {
      const series = [];
      for (let s = s0; s < Math.min(o.series, s0 + o.perRequest); s++) {
        series.push({
          labels: [
            { name: "__name__", value: `${o.metricPrefix}_${s % 100}` },
            { name: "instance", value: `host-${Math.floor(s / 1000)}:9100` },
            { name: "job", value: "node" },
            { name: "series", value: String(s) },
          ],
          t: [o.t0 + i * 15_000],
          v: [s + i * 0.5],
        });
      }
      out.push(snappyEncode(encodeWriteV1(series)));
    }
  }
  return out;
}
