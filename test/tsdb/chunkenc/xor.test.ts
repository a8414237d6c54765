import { describe, expect, test } from "bun:test";
import {
  chunkNumSamples, decodeXor, encodeXor, HeadChunkStore, plainXor, WasmSamples, wasmExports, MAX_CHUNK_SAMPLES,
} from "../../../src/tsdb/chunkenc/index.ts";
import { MAX_TIME, MIN_TIME } from "../../../src/tsdb/types.ts";
import {
  bitsOf, floatsFromBits, GO_NAN_BITS, loadVectors, STALE_NAN_BITS, vectorChunks, vectorSamples,
} from "./helpers.ts";
import { seededRandom } from "../../support/random.ts";

const vectors = loadVectors();

const codecs = [
  { name: "wasm", encode: encodeXor, decode: decodeXor },
  { name: "plain", encode: plainXor.encode, decode: plainXor.decode },
] as const;

describe("Prometheus vectors", () => {
  expect(vectors.length).toBeGreaterThan(0);
  for (const codec of codecs) {
    for (const c of vectors) {
      test(`${codec.name}: ${c.name}`, () => {
        const { t, v } = vectorSamples(c);
        let offset = 0;
        for (const want of vectorChunks(c)) {
          const n = chunkNumSamples(want);
          const got = codec.encode(t.subarray(offset, offset + n), v.subarray(offset, offset + n));
          expect(Buffer.from(got).toString("hex")).toBe(Buffer.from(want).toString("hex"));
          const decoded = codec.decode(want);
          expect(Array.from(decoded.t)).toEqual(Array.from(t.subarray(offset, offset + n)));
          expect(bitsOf(decoded.v)).toEqual(bitsOf(v.subarray(offset, offset + n)));
          offset += n;
        }
        expect(offset).toBe(c.samples.length);
      });
    }
  }
});

const EDGE_BITS = [
  STALE_NAN_BITS, GO_NAN_BITS, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7fffffffffffffffn, 0x7ff0000000000001n,
  0x8000000000000000n, 0n, 0x7ff0000000000000n, 0xfff0000000000000n, 1n, 0x000fffffffffffffn, 0x800fffffffffffffn,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x3ff0000000000000n, 0xbff0000000000000n, 0x0010000000000000n,
];

/** Deltas that land in every delta-of-delta bucket and on each bucket's edges. */
const DOD_STEPS = [
  15000, 15000, 15001, 15000, 15000 + 8192, 15000, 15000 - 8191, 15000, 15000 + 8193, 15000, 15000 - 8192, 15000,
  15000 + 65536, 15000, 15000 + 65537, 15000, 15000 - 65535, 15000, 15000 + 524288, 15000, 15000 + 524289, 15000,
  15000 - 524287, 15000, 2 ** 40, 1, 2 ** 41 + 3, 7, 1, 1,
];

function roundTrip(t: Float64Array, v: Float64Array, label: string): void {
  const wasmChunk = encodeXor(t, v);
  const plainChunk = plainXor.encode(t, v);
  expect(Buffer.from(wasmChunk).equals(Buffer.from(plainChunk)), `${label}: wasm and plain bytes differ`).toBe(true);
  expect(chunkNumSamples(wasmChunk)).toBe(t.length);
  for (const codec of codecs) {
    const decoded = codec.decode(wasmChunk);
    expect(Array.from(decoded.t), `${label}/${codec.name} timestamps`).toEqual(Array.from(t));
    expect(bitsOf(decoded.v), `${label}/${codec.name} values`).toEqual(bitsOf(v));
  }
}

describe("round trips", () => {
  test("edge values (NaN payloads, stale marker, -0, ±Inf, denormals, max float) in every order", () => {
    const random = seededRandom(7);
    for (let round = 0; round < 40; round++) {
      const bits = Array.from({ length: 50 }, () => EDGE_BITS[Math.floor(random() * EDGE_BITS.length)]!);
      const t = new Float64Array(bits.length).map((_, i) => 1_700_000_000_000 + i * 15000);
      roundTrip(t, floatsFromBits(bits), `edge round ${round}`);
    }
  });

  test("every delta-of-delta bucket and its edges", () => {
    const t = new Float64Array(DOD_STEPS.length + 1);
    t[0] = 1_600_000_000_000;
    DOD_STEPS.forEach((d, i) => (t[i + 1] = t[i]! + d));
    const v = new Float64Array(t.length).map((_, i) => i * 0.25);
    roundTrip(t, v, "dod steps");
    // each dod written, including the 64-bit one, must come back when reversed in sign too
    const mirrored = new Float64Array(t.length).map((_, i) => -t[i]!);
    roundTrip(mirrored, v, "negative timestamps, negative deltas");
  });

  test("huge and negative timestamps", () => {
    roundTrip(new Float64Array([MIN_TIME + 1, 0, MAX_TIME - 1, MAX_TIME]), new Float64Array([1, 2, 3, 4]), "extremes");
    roundTrip(new Float64Array([-1, -2, -3, 5, -(2 ** 50)]), new Float64Array([1, 1, 1, 1, 1]), "decreasing");
    roundTrip(new Float64Array([0]), new Float64Array([-0]), "single zero");
    roundTrip(new Float64Array([]), new Float64Array([]), "empty");
  });

  test("timestamps beyond 2^53 (WASM only: plain TS is exact to 2^53)", () => {
    const t = new Float64Array([2 ** 62, -(2 ** 62), 2 ** 60, 2 ** 61]);
    const v = new Float64Array([1, 2, 3, 4]);
    expect(Array.from(decodeXor(encodeXor(t, v)).t)).toEqual(Array.from(t));
  });

  test("random gauges, counters and bit patterns with jittered timestamps", () => {
    const random = seededRandom(42);
    for (let round = 0; round < 60; round++) {
      const n = 1 + Math.floor(random() * 300);
      const t = new Float64Array(n);
      const v = new Float64Array(n);
      const words = new Uint32Array(v.buffer);
      let ts = Math.floor((random() - 0.5) * 2 ** 44);
      let counter = 0;
      for (let i = 0; i < n; i++) {
        ts += round % 5 === 0 ? Math.floor(random() * 2 ** 22) : 15000 + Math.floor((random() - 0.5) * 1000);
        t[i] = ts;
        switch (round % 3) {
          case 0:
            v[i] = (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10);
            break;
          case 1:
            counter += Math.floor(random() * 100);
            v[i] = counter;
            break;
          default:
            words[2 * i] = Math.floor(random() * 2 ** 32);
            words[2 * i + 1] = Math.floor(random() * 2 ** 32);
        }
      }
      roundTrip(t, v, `random round ${round}`);
    }
  });

  test("n selects a prefix", () => {
    const t = new Float64Array([1, 2, 3, 4]);
    const v = new Float64Array([5, 6, 7, 8]);
    for (const codec of codecs) {
      const chunk = codec.encode(t, v, 2);
      expect(chunkNumSamples(chunk)).toBe(2);
      expect(Array.from(codec.decode(chunk).v)).toEqual([5, 6]);
    }
  });
});

describe("bad input", () => {
  test("non-integer or out-of-range timestamps are rejected with the index", () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 64]) {
      const t = new Float64Array([1000, bad]);
      expect(() => encodeXor(t, new Float64Array([1, 2]))).toThrow(/t\[1\]/);
      expect(() => plainXor.encode(t, new Float64Array([1, 2]))).toThrow(/t\[1\]/);
    }
  });

  test("too many samples and bad n are rejected", () => {
    const big = new Float64Array(MAX_CHUNK_SAMPLES + 1);
    expect(() => encodeXor(big, big)).toThrow(/65535/);
    expect(() => encodeXor(new Float64Array(2), new Float64Array(2), 3)).toThrow(RangeError);
    expect(() => plainXor.encode(new Float64Array(2), new Float64Array(2), -1)).toThrow(RangeError);
  });

  test("chunks without a header are rejected", () => {
    for (const codec of codecs) {
      expect(() => codec.decode(new Uint8Array([]))).toThrow(/header/);
      expect(() => codec.decode(new Uint8Array([1]))).toThrow(/header/);
    }
  });

  test("every truncation of a valid chunk is reported, never a crash", () => {
    const t = new Float64Array(DOD_STEPS.length + 1);
    t[0] = 1_600_000_000_000;
    DOD_STEPS.forEach((d, i) => (t[i + 1] = t[i]! + d));
    const v = floatsFromBits(Array.from({ length: t.length }, (_, i) => EDGE_BITS[i % EDGE_BITS.length]!));
    const chunk = encodeXor(t, v);
    for (let len = 2; len < chunk.length - 1; len++) {
      for (const codec of codecs) {
        expect(() => codec.decode(chunk.subarray(0, len)), `${codec.name} at ${len}`).toThrow(/truncated/);
      }
    }
  });

  test("random garbage decodes or throws a RangeError, in both codecs alike", () => {
    const random = seededRandom(99);
    for (let round = 0; round < 300; round++) {
      const bytes = new Uint8Array(2 + Math.floor(random() * 60)).map(() => Math.floor(random() * 256));
      bytes[0] = 0;
      let wasmResult: string;
      let plainResult: string;
      try {
        const d = decodeXor(bytes);
        expect(d.t.length).toBe(chunkNumSamples(bytes));
        wasmResult = `${Array.from(d.t)}|${bitsOf(d.v)}`;
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        wasmResult = "error";
      }
      try {
        const d = plainXor.decode(bytes);
        plainResult = `${Array.from(d.t)}|${bitsOf(d.v)}`;
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        plainResult = "error";
      }
      if (wasmResult !== "error" && plainResult !== "error") expect(wasmResult).toBe(plainResult);
    }
  });
});

describe("WasmSamples", () => {
  test("decodes several chunks back to back into module memory", () => {
    const random = seededRandom(3);
    const samples = new WasmSamples();
    const wantT: number[] = [];
    const wantBits: string[] = [];
    let ts = 1_700_000_000_000;
    for (let c = 0; c < 20; c++) {
      const n = 1 + Math.floor(random() * 200);
      const t = new Float64Array(n).map(() => (ts += 1000 + Math.floor(random() * 30000)));
      const v = floatsFromBits(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? STALE_NAN_BITS : BigInt(Math.floor(random() * 2 ** 52)))));
      expect(samples.appendChunk(encodeXor(t, v))).toBe(n);
      wantT.push(...t);
      wantBits.push(...bitsOf(v));
    }
    expect(samples.length).toBe(wantT.length);
    expect(Array.from(samples.times())).toEqual(wantT);
    const raw = new BigUint64Array(wasmExports().memory.buffer, samples.vPtr, samples.length);
    expect(Array.from(raw, (b) => b.toString(16))).toEqual(wantBits);
    const copy = samples.copyOut();
    expect(bitsOf(copy.v)).toEqual(wantBits);
    samples.clear();
    expect(samples.length).toBe(0);
    samples.free();
    expect(samples.capacity).toBe(0);
  });

  test("a malformed chunk leaves the held samples alone", () => {
    const samples = new WasmSamples();
    samples.appendChunk(encodeXor(new Float64Array([1, 2]), new Float64Array([3, 4])));
    expect(() => samples.appendChunk(new Uint8Array([0, 5, 0x80]))).toThrow(/truncated/);
    expect(samples.length).toBe(2);
    samples.free();
  });
});

test("unfreed WasmSamples and unclosed stores are returned to the module when collected", async () => {
  const wasm = wasmExports();
  const garbageBytes = (): number => {
    const start = wasm.memBytesInUse();
    for (let i = 0; i < 50; i++) new WasmSamples().reserve(10_000);
    for (let i = 0; i < 20; i++) {
      const store = new HeadChunkStore();
      store.ensure(5000);
    }
    return wasm.memBytesInUse() - start;
  };
  const before = wasm.memBytesInUse();
  const garbage = garbageBytes();
  expect(garbage).toBeGreaterThan(50 * 2 * 80_000 + 20 * 5000 * 64);
  const deadline = Date.now() + 5000;
  while (wasm.memBytesInUse() > before && Date.now() < deadline) {
    Bun.gc(true);
    await Bun.sleep(10);
  }
  expect(wasm.memBytesInUse()).toBeLessThanOrEqual(before);
});
