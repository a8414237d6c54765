import { describe, expect, test } from "bun:test";
import snappyNative from "snappy";
// @ts-expect-error snappyjs ships no types
import SnappyJS from "snappyjs";
import { SnappyError, snappyDecode, snappyDecodedLength, snappyEncode } from "../../src/remote/index.ts";
import { seededRandom } from "../support/random.ts";

function inputs(): Uint8Array<ArrayBuffer>[] {
  const random = seededRandom(7);
  const out: Uint8Array<ArrayBuffer>[] = [new Uint8Array(0), Uint8Array.of(42), new TextEncoder().encode("hello hello hello hello hello")];
  for (const size of [15, 16, 17, 100, 4095, 65535, 65536, 65537, 300_000]) {
    const random_ = new Uint8Array(size).map(() => Math.floor(random() * 256));
    const text = new TextEncoder().encode(Array.from({ length: size }, (_, i) => `metric_${i % 37}{job="node"} ${i}\n`).join("").slice(0, size));
    const runs = new Uint8Array(size).map((_, i) => (Math.floor(i / 97) % 3) * 7);
    out.push(random_, text, runs);
  }
  return out;
}

describe("snappy", () => {
  test("round-trips, and other implementations read what it writes", () => {
    for (const input of inputs()) {
      const enc = snappyEncode(input);
      expect(snappyDecode(enc, input.length)).toEqual(input);
      expect(new Uint8Array(SnappyJS.uncompress(enc))).toEqual(input);
      // The native binding hands back a detached buffer for empty output.
      if (input.length > 0) expect(new Uint8Array(snappyNative.uncompressSync(Buffer.from(enc)) as Buffer)).toEqual(input);
    }
  });

  test("decodes what the native library writes", () => {
    for (const input of inputs()) {
      const enc = new Uint8Array(snappyNative.compressSync(Buffer.from(input)));
      expect(snappyDecode(enc, input.length)).toEqual(input);
    }
  });

  test("compresses repetitive data", () => {
    const text = new TextEncoder().encode("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1\n".repeat(1000));
    expect(snappyEncode(text).length).toBeLessThan(text.length / 10);
  });

  test("checks the declared size against the limit before allocating", () => {
    // A 5-byte header declaring 4 GiB - 1 and nothing else.
    const bomb = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(snappyDecodedLength(bomb)).toBe(2 ** 32 - 1);
    expect(() => snappyDecode(bomb, 1 << 20)).toThrow("decompressed size 4294967295 bytes exceeds the limit of 1048576 bytes");
  });

  test("refuses corrupt blocks with a clear error", () => {
    const good = snappyEncode(new TextEncoder().encode("abcdabcdabcdabcdabcdabcdabcdabcd"));
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), "truncated length header"],
      [Uint8Array.of(0x80, 0x80), "truncated length header"],
      [Uint8Array.of(5, 0x10, 1, 2), "runs past the input"],
      [Uint8Array.of(4, 0x01 | (0 << 2), 0), "copy offset"], // copy before anything was written
      [Uint8Array.of(2, 0x08, 1, 2, 3), "overflows the declared length"],
      [good.subarray(0, good.length - 1), "snappy:"],
      [Uint8Array.of(10, 0x00, 1), "decoded 1 bytes but the header declares 10"],
    ];
    for (const [input, message] of cases) {
      expect(() => snappyDecode(input, 1 << 20)).toThrow(SnappyError);
      expect(() => snappyDecode(input, 1 << 20)).toThrow(message);
    }
  });

  test("never throws anything but SnappyError on mutated input", () => {
    const random = seededRandom(11);
    const base = snappyEncode(new TextEncoder().encode("up{job=\"a\"} 1\n".repeat(200)));
    for (let i = 0; i < 2000; i++) {
      const m = base.slice(0, Math.max(1, Math.floor(random() * base.length * 1.2)));
      for (let k = 0; k < 3; k++) m[Math.floor(random() * m.length)] = Math.floor(random() * 256);
      try {
        snappyDecode(m, 1 << 16);
      } catch (e) {
        expect(e).toBeInstanceOf(SnappyError);
      }
    }
  });
});
