/**
 * The hash that spreads rule groups over their interval: XXH64 (seed 0) of
 * the label set {file, name}, as Prometheus's `labels.Hash`, so a group is
 * evaluated at the same offset in promts and in Prometheus.
 */
import { prometheusLabelsHash } from "../model/index.ts";

/** Prometheus's hash of the group identity labels {file="…", name="…"}. */
export function groupHash(file: string, name: string): bigint {
  return prometheusLabelsHash([
    { name: "file", value: file },
    { name: "name", value: name },
  ]);
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
