/**
 * Loading `prometheus.yml`: YAML parsing with positions, schema decoding,
 * `scrape_config_files` expansion, and printing the effective config back.
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stringify } from "yaml";
import {
  applyGlobalToScrapeConfig,
  PrometheusConfigType,
  ScrapeConfigsFileType,
} from "./prometheus_schema.ts";
import { encodeObject } from "./schema.ts";
import type { PrometheusConfig } from "./types.ts";
import { decodeYAMLFile, readConfigText } from "./yaml_file.ts";

/** A parsed config plus what the caller needs to report on it. */
export interface LoadedConfig {
  /** The config with defaults applied, paths resolved, scrape_config_files merged in. */
  config: PrometheusConfig;
  /** Deprecation notes (Prometheus 0.x spellings), each `FILE:LINE:COL: …`; the caller logs them. */
  warnings: string[];
  /** The file's text as read. */
  text: string;
  /** The file name as given. */
  filename: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Go's filepath.Match for one path element: `*`, `?`, `[...]` (`[^...]` negated), `\` escapes. */
function globElementToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]!);
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) return /$^/;
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith("^");
      if (negated) body = body.slice(1);
      re += `[${negated ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = end;
    } else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expands a file glob the way Prometheus does for rule_files and
 * scrape_config_files (Go's filepath.Glob with a pattern only in the last
 * element): sorted matches; a pattern without magic returns itself only if
 * the file exists.
 *
 * @example expandGlob("rules/*.yml") // ["rules/a.yml", "rules/b.yml"]
 */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return existsSync(pattern) ? [pattern] : [];
  const dir = dirname(pattern);
  const re = globElementToRegExp(basename(pattern));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n)).sort().map((n) => join(dir, n));
}

/** Reads and decodes the scrape configs of every `scrape_config_files` match. */
function loadScrapeConfigFiles(main: Record<string, any>, warnings: string[]): void {
  const origin = new Map<string, string>();
  for (const sc of main.scrape_configs) origin.set(sc.job_name, "main config file");
  for (const pattern of main.scrape_config_files as string[]) {
    for (const file of expandGlob(pattern)) {
      const { value, warnings: fileWarnings } = decodeYAMLFile(readConfigText(file), file, {
        ...ScrapeConfigsFileType,
        validate(o, v) {
          for (const sc of o.scrape_configs) {
            applyGlobalToScrapeConfig(sc, main.global, v);
            const first = origin.get(sc.job_name);
            if (first !== undefined) {
              v.failAt(sc, "job_name", `found multiple scrape configs with job name ${JSON.stringify(sc.job_name)}, first found in ${first}`);
            }
            origin.set(sc.job_name, JSON.stringify(file));
          }
        },
      });
      warnings.push(...fileWarnings);
      main.scrape_configs.push(...value.scrape_configs);
    }
  }
}

/**
 * Parses `prometheus.yml` text. `filename` is used in messages and to
 * resolve relative paths (rule files, SD files, credential and TLS files,
 * scrape_config_files), as Prometheus does with the file's directory.
 * Throws {@link ConfigError} on the first problem.
 *
 * @example
 * const { config, warnings } = parseConfig("scrape_configs: [{job_name: node}]", "prometheus.yml");
 * config.scrape_configs[0].scrape_interval // 60000, inherited from global
 */
export function parseConfig(text: string, filename: string): LoadedConfig {
  const { value, warnings } = decodeYAMLFile(text, filename, PrometheusConfigType);
  loadScrapeConfigFiles(value, warnings);
  return { config: value as PrometheusConfig, warnings, text, filename };
}

/**
 * Reads and parses a `prometheus.yml`. An unreadable file is a ConfigError
 * without a position. With `agent`, the sections an agent cannot use are
 * refused as Prometheus refuses them (see {@link checkAgentConfig}).
 */
export function loadConfigFile(path: string, opts: { agent?: boolean } = {}): LoadedConfig {
  const loaded = parseConfig(readConfigText(path), path);
  if (opts.agent) checkAgentConfig(loaded.config);
  return loaded;
}

/**
 * Refuses what agent mode cannot run, with Prometheus's messages: `alerting`
 * (Alertmanagers or alert relabeling), `rule_files` and `remote_read`.
 */
export function checkAgentConfig(config: PrometheusConfig): void {
  if (config.alerting.alertmanagers.length > 0 || config.alerting.alert_relabel_configs.length > 0) throw new Error("field alerting is not allowed in agent mode");
  if (config.rule_files.length > 0) throw new Error("field rule_files is not allowed in agent mode");
  if (config.remote_read.length > 0) throw new Error("field remote_read is not allowed in agent mode");
}

/**
 * The effective config as YAML, as `/api/v1/status/config` shows it:
 * defaults applied, secrets as `<secret>`, durations like `1m`, jobs from
 * scrape_config_files listed inline (so the output parses back to the same
 * config on its own).
 */
export function configToYAML(cfg: PrometheusConfig): string {
  const encoded = encodeObject({ ...cfg, scrape_config_files: [] } as Record<string, any>, PrometheusConfigType);
  return stringify(encoded, { lineWidth: 0, aliasDuplicateObjects: false });
}
