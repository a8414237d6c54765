/**
 * XXH64 (seed 0) and Prometheus's `labels.Hash()` built on it. Both PromQL
 * (`limit_ratio`) and rule groups (evaluation offset) must place things
 * exactly where Prometheus does, so they share this one implementation.
 */
import type { Labels } from "./labels.ts";

const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M;
}

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & M, 31n) * P1) & M;
}

function mergeRound(h: bigint, v: bigint): bigint {
  return ((((h ^ round(0n, v)) * P1) & M) + P4) & M;
}

function u64(b: Uint8Array, i: number): bigint {
  let x = 0n;
  for (let k = 7; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k]!);
  return x;
}

function u32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
}

/**
 * XXH64 of `b` with seed 0, as an unsigned 64-bit bigint.
 *
 * @example xxh64(new TextEncoder().encode("abc")).toString(16) // "44bc2cf5ad770999"
 */
export function xxh64(b: Uint8Array): bigint {
  const n = b.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = (M + 1n - P1) & M;
    for (; i + 32 <= n; i += 32) {
      v1 = round(v1, u64(b, i));
      v2 = round(v2, u64(b, i + 8));
      v3 = round(v3, u64(b, i + 16));
      v4 = round(v4, u64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & M;
  for (; i + 8 <= n; i += 8) h = (rotl(h ^ round(0n, u64(b, i)), 27n) * P1 + P4) & M;
  if (i + 4 <= n) {
    h = (rotl(h ^ ((u32(b, i) * P1) & M), 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < n; i++) h = (rotl(h ^ ((BigInt(b[i]!) * P5) & M), 11n) * P1) & M;
  h = ((h ^ (h >> 33n)) * P2) & M;
  h = ((h ^ (h >> 29n)) * P3) & M;
  return h ^ (h >> 32n);
}

const encoder = new TextEncoder();

/**
 * Prometheus's `labels.Hash()`: XXH64 over name, 0xff, value, 0xff for each
 * label in order. `labels` must be sorted (the Labels invariant) for the
 * result to match Prometheus.
 *
 * @example prometheusLabelsHash([{ name: "file", value: "r.yml" }, { name: "name", value: "g" }])
 */
export function prometheusLabelsHash(labels: Labels): bigint {
  const parts: Uint8Array[] = [];
  let len = 0;
  for (const l of labels) {
    for (const s of [l.name, l.value]) {
      const e = encoder.encode(s);
      parts.push(e);
      len += e.length + 1;
    }
  }
  const buf = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
    buf[off++] = 0xff;
  }
  return xxh64(buf);
}
