/** Shared helpers for the chunkenc tests: the Prometheus vectors, bit-level values. */
import { readFileSync } from "node:fs";

/** A Float64Array whose elements have exactly the given bit patterns. */
export function floatsFromBits(bits: readonly bigint[]): Float64Array {
  const out = new Float64Array(bits.length);
  const view = new BigUint64Array(out.buffer);
  bits.forEach((b, i) => (view[i] = b));
  return out;
}

/** The bit patterns of the first `n` elements (hex), for exact comparisons and readable failures. */
export function bitsOf(values: Float64Array, n: number = values.length): string[] {
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(view.getBigUint64(i * 8, true).toString(16));
  return out;
}

/** The bit pattern Go's math.NaN() produces, which Prometheus wrote for "NaN" in the vectors. */
export const GO_NAN_BITS = 0x7ff8000000000001n;
/** The staleness marker. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** One case of /work/shared/vectors/xor-chunks.json: samples and the chunks Prometheus cut and encoded. */
export interface VectorCase {
  name: string;
  samples: [number, number | string][];
  chunks: { encoding: number; data: string }[];
}

/** The shared Prometheus XOR vectors, read at test time (they are not copied into the repo). */
export function loadVectors(): VectorCase[] {
  return (JSON.parse(readFileSync("/work/shared/vectors/xor-chunks.json", "utf8")) as { cases: VectorCase[] }).cases;
}

function vectorValueBits(v: number | string): bigint {
  if (v === "NaN") return GO_NAN_BITS;
  const scratch = new Float64Array([v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : (v as number)]);
  return new BigUint64Array(scratch.buffer)[0]!;
}

/** A case's samples as arrays ("NaN" becomes Go's NaN bits, as Prometheus stored it). */
export function vectorSamples(c: VectorCase): { t: Float64Array; v: Float64Array } {
  return {
    t: new Float64Array(c.samples.map((s) => s[0])),
    v: floatsFromBits(c.samples.map((s) => vectorValueBits(s[1]))),
  };
}

/** A case's chunk bytes, in order. */
export function vectorChunks(c: VectorCase): Uint8Array[] {
  return c.chunks.map((chunk) => {
    if (chunk.encoding !== 1) throw new Error(`vector ${c.name}: encoding ${chunk.encoding} is not XOR`);
    return new Uint8Array(Buffer.from(chunk.data, "base64"));
  });
}
