/**
 * Reading and decoding a YAML config file, shared by `prometheus.yml`,
 * `alertmanager.yml` and rule files so all three report unreadable files
 * and YAML problems the same way (`FILE:LINE:COL: …`, or `FILE: …` when
 * there is no position).
 */
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "./error.ts";
import { Decoder, parseYAML, type ObjectType } from "./schema.ts";

/**
 * The text of the file at `path`. A missing file, a directory or any other
 * read failure is a {@link ConfigError} without a position, worded as Go's
 * `os.ReadFile` error.
 *
 * @example const text = readConfigText("prometheus.yml");
 */
export function readConfigText(path: string): string {
  try {
    if (statSync(path).isDirectory()) throw new Error(`read ${path}: is a directory`);
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? `open ${path}: no such file or directory` : (e as Error).message;
    throw new ConfigError(path, 0, 0, "", reason);
  }
}

/**
 * Parses YAML `text` (the first document, as Go's yaml.v2) and decodes it
 * as `type`. Relative paths in the config resolve against `baseDir` (the
 * file's directory by default). Throws a located {@link ConfigError} on the
 * first YAML or schema problem; the decoder's warnings are returned.
 *
 * @example
 * const { value, warnings } = decodeYAMLFile(text, "prometheus.yml", PrometheusConfigType);
 */
export function decodeYAMLFile(
  text: string,
  filename: string,
  type: ObjectType,
  baseDir: string = dirname(filename),
): { value: Record<string, any>; warnings: string[] } {
  const { doc, lineCounter } = parseYAML(text, filename);
  const decoder = new Decoder(doc, lineCounter, filename, baseDir);
  return { value: decoder.decodeRoot(type), warnings: decoder.warnings };
}
