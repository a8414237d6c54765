/**
 * `promts tool check config`: promtool's `check config`, with the same
 * lines of output so scripts that grep for SUCCESS/FAILED keep working.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { getLabel, labelsFromRecord, relabel } from "../model/index.ts";
import { formatDuration } from "../base/index.ts";
import { ConfigError, expandGlob, loadConfigFile, type FileSDConfig, type ScrapeConfig, type TLSConfig } from "../config/index.ts";

/**
 * A problem found after decoding, when YAML positions are gone: `field` is
 * the config path and `near` a value written in the file, used to find the
 * line again.
 */
class CheckProblem extends Error {
  constructor(readonly field: string, readonly near: string | RegExp, message: string) {
    super(message);
  }
}

/** The 1-based line:col of the first spot in `text` matching `near` (or a path's file name), else 0:0. */
function locate(text: string, near: string | RegExp): { line: number; col: number } {
  const needles = typeof near === "string" ? [near, basename(near)] : [near];
  for (const needle of needles) {
    const at = typeof needle === "string" ? (needle === "" ? -1 : text.indexOf(needle)) : text.search(needle);
    if (at < 0) continue;
    const before = text.slice(0, at);
    return { line: before.split("\n").length, col: at - before.lastIndexOf("\n") };
  }
  return { line: 0, col: 0 };
}

function checkFileExists(field: string, what: string, path: string | undefined): void {
  if (path && !existsSync(path)) {
    throw new CheckProblem(field, path, `error checking ${what} ${JSON.stringify(path)}: stat ${path}: no such file or directory`);
  }
}

function checkTLSFiles(field: string, tls: TLSConfig): void {
  if (tls.cert_file && !tls.key_file) throw new CheckProblem(`${field}.cert_file`, tls.cert_file, `client cert file ${JSON.stringify(tls.cert_file)} specified without client key file`);
  if (tls.key_file && !tls.cert_file) throw new CheckProblem(`${field}.key_file`, tls.key_file, `client key file ${JSON.stringify(tls.key_file)} specified without client cert file`);
  checkFileExists(`${field}.cert_file`, "client cert file", tls.cert_file);
  checkFileExists(`${field}.key_file`, "client key file", tls.key_file);
}

function warnMissingSDFiles(sds: FileSDConfig[], where: string, out: (line: string) => void): void {
  for (const sd of sds) {
    for (const file of sd.files) {
      if (expandGlob(file).length === 0) out(`  WARNING: file ${JSON.stringify(file)} for file_sd in ${where} does not exist`);
    }
  }
}

/**
 * promtool builds the targets of every static config (target relabeling
 * included) and refuses targets left without an address, as Prometheus
 * would when it starts scraping them.
 */
function checkStaticTargets(sc: ScrapeConfig, field: string): void {
  sc.static_configs.forEach((group, g) => {
    group.targets.forEach((target, t) => {
      const record: Record<string, string> = {
        ...group.labels,
        __address__: target,
        job: sc.job_name,
        __scheme__: sc.scheme,
        __metrics_path__: sc.metrics_path,
        __scrape_interval__: formatDuration(sc.scrape_interval),
        __scrape_timeout__: formatDuration(sc.scrape_timeout),
      };
      for (const [name, values] of Object.entries(sc.params ?? {})) if (values.length > 0) record[`__param_${name}`] = values[0]!;
      const labels = relabel(labelsFromRecord(record), sc.relabel_configs);
      if (labels !== null && getLabel(labels, "__address__") === "") {
        const jobLine = new RegExp(`["']?job_name["']?:\\s*["']?${sc.job_name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*$`, "m");
        throw new CheckProblem(`${field}.static_configs[${g}].targets[${t}]`, jobLine, `instance ${t} in group ${g}: no address`);
      }
    });
  });
}

/** Loads one file and runs promtool's extra checks; returns the rule files found. */
function checkOneConfig(path: string, out: (line: string) => void): string[] {
  const { config, text } = loadConfigFile(path);
  try {
    const ruleFiles: string[] = [];
    config.rule_files.forEach((pattern, i) => {
      const matches = expandGlob(pattern);
      if (!pattern.includes("*") && matches.length === 0) {
        throw new CheckProblem(`rule_files[${i}]`, pattern, `${JSON.stringify(pattern)} does not point to an existing file`);
      }
      ruleFiles.push(...matches);
    });
    config.scrape_configs.forEach((sc, i) => {
      const field = `scrape_configs[${i}]`;
      const credentials = sc.authorization?.credentials_file;
      checkFileExists(`${field}.authorization.credentials_file`, "authorization credentials or bearer token file", credentials);
      checkTLSFiles(`${field}.tls_config`, sc.tls_config);
      checkStaticTargets(sc, field);
      warnMissingSDFiles(sc.file_sd_configs, `scrape job ${JSON.stringify(sc.job_name)}`, out);
    });
    for (const am of config.alerting.alertmanagers) {
      warnMissingSDFiles(am.file_sd_configs, "alertmanager config", out);
    }
    return ruleFiles;
  } catch (e) {
    if (!(e instanceof CheckProblem)) throw e;
    const { line, col } = locate(text, e.near);
    throw new ConfigError(path, line, col, e.field, e.message);
  }
}

/**
 * Checks each config file like `promtool check config` and writes its report
 * line by line to `out`: `Checking FILE`, then `  SUCCESS: N rule files
 * found` (when there are any) and `  SUCCESS: FILE is valid prometheus config
 * file syntax`, or `  FAILED: <error>`; a blank line after each file.
 * Returns the exit code: 0 when every file is valid, 1 otherwise. Rule files
 * are only located (globs expanded, explicit paths must exist), not parsed.
 *
 * @example
 * process.exitCode = checkConfigFiles(["prometheus.yml"], console.log);
 */
export function checkConfigFiles(paths: string[], out: (line: string) => void): number {
  let failed = false;
  for (const path of paths) {
    out(`Checking ${path}`);
    try {
      const ruleFiles = checkOneConfig(path, out);
      if (ruleFiles.length > 0) out(`  SUCCESS: ${ruleFiles.length} rule files found`);
      out(`  SUCCESS: ${path} is valid prometheus config file syntax`);
    } catch (e) {
      out(`  FAILED: ${(e as Error).message}`);
      failed = true;
    }
    out("");
  }
  return failed ? 1 : 0;
}
