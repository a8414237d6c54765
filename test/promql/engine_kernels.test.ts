/**
 * The WebAssembly range kernels against the TypeScript ones: identical
 * presence and bit-identical values on irregular data with NaN, ±Inf and
 * counter resets; plus a timing comparison printed for the report.
 */
import { expect, test } from "bun:test";
import { JsKernelBatch, kernelWasm, WASM_KERNEL_IDS, WasmKernelBatch, type KernelBatch } from "../../src/promql/kernels.ts";
import { seededRandom } from "../support/random.ts";

function randomSeries(rand: () => number, n: number): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(n), v = new Float64Array(n);
  let time = Math.floor(rand() * 10_000), value = rand() * 100;
  for (let i = 0; i < n; i++) {
    time += 1 + Math.floor(rand() * 30_000);
    const r = rand();
    if (r < 0.03) value = 0;
    else if (r < 0.05) value = NaN;
    else if (r < 0.06) value = rand() < 0.5 ? Infinity : -Infinity;
    else value = (Number.isFinite(value) ? value : 0) + rand() * 50;
    t[i] = time;
    v[i] = value;
  }
  return { t, v };
}

function sameFloat(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test("WebAssembly and TypeScript kernels agree bit for bit", () => {
  const wasm = kernelWasm();
  expect(wasm).not.toBeNull();
  const rand = seededRandom(42);
  const steps = 60;
  const refs = Float64Array.from({ length: steps }, (_, i) => 300_000 + i * 60_000);
  const p0 = Float64Array.from({ length: steps }, (_, i) => (i % 7 === 0 ? 0.3 : i % 5 === 0 ? 1.2 : 0.9));
  const p1 = Float64Array.from({ length: steps }, () => 0.4);
  let compared = 0;
  for (const name of Object.keys(WASM_KERNEL_IDS)) {
    const params = name === "double_exponential_smoothing" ? [Float64Array.from(p0, (x) => Math.min(x, 0.5)), p1] : [p0];
    const js = new JsKernelBatch(name, refs, 300_000, 0, 60_000, params);
    const wa = new WasmKernelBatch(name, refs, 300_000, 0, 60_000, params, wasm!);
    try {
      for (let k = 0; k < 20; k++) {
        const { t, v } = randomSeries(rand, 1 + Math.floor(rand() * 400));
        const a = js.run(t, v), b = wa.run(t, v);
        for (let i = 0; i < steps; i++) {
          expect(`${name}[${i}] present=${b.present[i]}`).toBe(`${name}[${i}] present=${a.present[i]}`);
          if (a.present[i] && !sameFloat(a.values[i]!, b.values[i]!)) {
            throw new Error(`${name} step ${i}: js ${a.values[i]} wasm ${b.values[i]}`);
          }
          if (a.present[i]) compared++;
        }
      }
    } finally {
      wa.close();
    }
  }
  expect(compared).toBeGreaterThan(10_000);
});

test("rate and increase add the same counter resets when windows jump back and forth", () => {
  const wasm = kernelWasm()!;
  const rand = seededRandom(9);
  // Windows that move forward, then jump back to the start, then overlap irregularly.
  const refs = Float64Array.from([600_000, 900_000, 1_500_000, 2_400_000, 700_000, 750_000, 3_000_000, 3_000_000, 1_200_000, 6_000_000]);
  for (const name of ["rate", "increase"]) {
    const js = new JsKernelBatch(name, refs, 600_000, 0, 60_000, []);
    const wa = new WasmKernelBatch(name, refs, 600_000, 0, 60_000, [], wasm);
    try {
      let resetsSeen = 0;
      for (let k = 0; k < 30; k++) {
        const n = 2 + Math.floor(rand() * 300);
        const t = new Float64Array(n), v = new Float64Array(n);
        let value = 0;
        for (let i = 0; i < n; i++) {
          t[i] = i * 20_000 + Math.floor(rand() * 5_000);
          const reset = rand() < 0.15;
          if (reset) resetsSeen++;
          value = reset ? rand() * 10 : value + rand() * 100;
          v[i] = value;
        }
        const a = js.run(t, v), b = wa.run(t, v);
        for (let i = 0; i < refs.length; i++) {
          expect(b.present[i]).toBe(a.present[i]!);
          if (a.present[i]) expect(Object.is(a.values[i], b.values[i])).toBe(true);
        }
      }
      expect(resetsSeen).toBeGreaterThan(100);
    } finally {
      wa.close();
    }
  }
});

test("kernel timing: rate and avg_over_time over 2000 series × 720 samples, 240 steps", () => {
  const wasm = kernelWasm()!;
  const rand = seededRandom(7);
  const series = Array.from({ length: 2000 }, () => {
    const t = Float64Array.from({ length: 720 }, (_, i) => i * 15_000);
    const v = Float64Array.from({ length: 720 }, (_, i) => i * 10 + rand());
    return { t, v };
  });
  const refs = Float64Array.from({ length: 240 }, (_, i) => 300_000 + i * 43_750);
  const time = (make: () => KernelBatch): number => {
    const batch = make();
    const start = performance.now();
    let checksum = 0;
    for (const s of series) checksum += batch.run(s.t, s.v).values[100]!;
    batch.close();
    expect(Number.isFinite(checksum)).toBe(true);
    return performance.now() - start;
  };
  for (const name of ["rate", "avg_over_time"]) {
    const jsMs = time(() => new JsKernelBatch(name, refs, 300_000, 300_000, 43_750, []));
    const wasmMs = time(() => new WasmKernelBatch(name, refs, 300_000, 300_000, 43_750, [], wasm));
    console.log(`kernel ${name}: js ${jsMs.toFixed(1)} ms, wasm ${wasmMs.toFixed(1)} ms (2000 series × 720 samples × 240 steps)`);
  }
});
