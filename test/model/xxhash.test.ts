import { expect, test } from "bun:test";
import { labelsFromRecord, prometheusLabelsHash, xxh64 } from "../../src/model/index.ts";

const enc = new TextEncoder();

test("xxh64 matches the reference vectors", () => {
  expect(xxh64(enc.encode("")).toString(16)).toBe("ef46db3751d8e999");
  expect(xxh64(enc.encode("a")).toString(16)).toBe("d24ec4f1a98c6e5b");
  expect(xxh64(enc.encode("abc")).toString(16)).toBe("44bc2cf5ad770999");
  expect(xxh64(enc.encode("Nobody inspects the spammish repetition")).toString(16)).toBe("fbcea83c8a378bf1");
});

test("xxh64 covers inputs of 32 bytes and more (the four-lane path)", () => {
  const long = enc.encode("0123456789abcdef0123456789abcdef0123456789");
  expect(xxh64(long)).not.toBe(xxh64(long.subarray(0, 41)));
  expect(xxh64(long) < 1n << 64n).toBe(true);
});

test("prometheusLabelsHash hashes name 0xff value 0xff for each label", () => {
  const labels = labelsFromRecord({ a: "1", b: "2" });
  const sep = [0xff];
  const raw = Uint8Array.from([...enc.encode("a"), ...sep, ...enc.encode("1"), ...sep, ...enc.encode("b"), ...sep, ...enc.encode("2"), ...sep]);
  expect(prometheusLabelsHash(labels)).toBe(xxh64(raw));
  expect(prometheusLabelsHash(labels)).not.toBe(prometheusLabelsHash(labelsFromRecord({ a: "1", b: "3" })));
});
