/**
 * The hash that spreads rule groups over their interval: XXH64 (seed 0) of
 * the label set {file, name}, as Prometheus's `labels.Hash`, so a group is
 * evaluated at the same offset in promts and in Prometheus.
 */
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
  return (((h ^ round(0n, v)) * P1) & M) + P4 & M;
}

function u64(b: Uint8Array, i: number): bigint {
  let x = 0n;
  for (let k = 7; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k]!);
  return x;
}

function u32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
}

/** XXH64 of `b` with seed 0, as an unsigned 64-bit bigint. */
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

/** Prometheus's hash of the group identity labels {file="…", name="…"}. */
export function groupHash(file: string, name: string): bigint {
  const enc = new TextEncoder();
  const parts = [enc.encode("file"), enc.encode(file), enc.encode("name"), enc.encode(name)];
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
    buf[off++] = 0xff;
  }
  return xxh64(buf);
}

/**
 * The evaluation time slot of a group at or before `nowMs`: times are
 * aligned to multiples of the interval, shifted by the group's hash offset
 * (computed in nanoseconds like Prometheus's EvalTimestamp), in whole ms.
 */
export function groupEvalTimestamp(hash: bigint, intervalMs: number, nowMs: number): number {
  const intervalNs = BigInt(intervalMs) * 1_000_000n;
  const offset = hash % intervalNs;
  const adj = BigInt(Math.floor(nowMs)) * 1_000_000n - offset;
  const mod = ((adj % intervalNs) + intervalNs) % intervalNs;
  const ns = adj - mod + offset;
  return Number(ns / 1_000_000n);
}
