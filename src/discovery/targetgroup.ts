/**
 * Decoding of the target-group list that file_sd files and http_sd
 * endpoints serve: `[{"targets": ["host:port", …], "labels": {"name": "value"}}, …]`.
 * Pure: turns parsed JSON/YAML into `TargetGroup`s or an error naming where.
 */
import { labelsFromRecord } from "../model/index.ts";
import type { TargetGroup } from "./types.ts";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Converts a parsed target-group list into groups whose sources are
 * `${sourcePrefix}:${index}`, as Prometheus names them, with `extraLabels`
 * (e.g. `__meta_filepath`) added to each group's labels. Throws an Error
 * naming `where` and the offending index on malformed input.
 *
 * @example
 * decodeTargetGroups([{ targets: ["a:9100"], labels: { env: "prod" } }], "sd.json", "sd.json", { __meta_filepath: "sd.json" });
 * // [{ source: "sd.json:0", targets: [{__address__:"a:9100"}], labels: {__meta_filepath, env} }]
 */
export function decodeTargetGroups(
  data: unknown,
  where: string,
  sourcePrefix: string,
  extraLabels: Readonly<Record<string, string>>,
): TargetGroup[] {
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data)) throw new Error(`${where}: expected a list of target groups, got ${typeName(data)}`);
  return data.map((item, i) => {
    if (item === null || item === undefined) throw new Error(`${where}: nil target group item found (index ${i})`);
    if (!isRecord(item)) throw new Error(`${where}: target group ${i}: expected an object, got ${typeName(item)}`);
    const targets = item.targets ?? [];
    if (!Array.isArray(targets)) throw new Error(`${where}: target group ${i}: "targets" must be a list of strings`);
    const labels: Record<string, string> = {};
    const rawLabels = item.labels ?? {};
    if (!isRecord(rawLabels)) throw new Error(`${where}: target group ${i}: "labels" must be a map of strings`);
    for (const [name, value] of Object.entries(rawLabels)) {
      if (name === "") throw new Error(`${where}: target group ${i}: empty label name`);
      if (typeof value !== "string") throw new Error(`${where}: target group ${i}: label ${JSON.stringify(name)}: value must be a string, got ${typeName(value)}`);
      labels[name] = value;
    }
    Object.assign(labels, extraLabels);
    return {
      source: `${sourcePrefix}:${i}`,
      targets: targets.map((t, j) => {
        if (typeof t !== "string") throw new Error(`${where}: target group ${i}: target ${j} must be a string, got ${typeName(t)}`);
        return labelsFromRecord({ __address__: t });
      }),
      labels: labelsFromRecord(labels),
    };
  });
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a map" : `${typeof v} ${JSON.stringify(v)}`;
}
