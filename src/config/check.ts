/**
 * `promts tool check config`: promtool's `check config`, with the same
 * lines of output so scripts that grep for SUCCESS/FAILED keep working.
 */
import { existsSync } from "node:fs";
import { expandGlob, loadConfigFile } from "./load.ts";
import type { FileSDConfig, TLSConfig } from "./types.ts";

function checkFileExists(what: string, path: string | undefined): void {
  if (path && !existsSync(path)) {
    throw new Error(`error checking ${what} ${JSON.stringify(path)}: stat ${path}: no such file or directory`);
  }
}

function checkTLSFiles(tls: TLSConfig): void {
  if (tls.cert_file && !tls.key_file) throw new Error(`client cert file ${JSON.stringify(tls.cert_file)} specified without client key file`);
  if (tls.key_file && !tls.cert_file) throw new Error(`client key file ${JSON.stringify(tls.key_file)} specified without client cert file`);
  checkFileExists("client cert file", tls.cert_file);
  checkFileExists("client key file", tls.key_file);
}

function warnMissingSDFiles(sds: FileSDConfig[], where: string, out: (line: string) => void): void {
  for (const sd of sds) {
    for (const file of sd.files) {
      if (expandGlob(file).length === 0) out(`  WARNING: file ${JSON.stringify(file)} for file_sd in ${where} does not exist`);
    }
  }
}

/** Loads one file and runs promtool's extra checks; returns the rule files found. */
function checkOneConfig(path: string, out: (line: string) => void): string[] {
  const { config } = loadConfigFile(path);
  const ruleFiles: string[] = [];
  for (const pattern of config.rule_files) {
    const matches = expandGlob(pattern);
    if (!pattern.includes("*") && matches.length === 0) {
      throw new Error(`${JSON.stringify(pattern)} does not point to an existing file`);
    }
    ruleFiles.push(...matches);
  }
  for (const sc of config.scrape_configs) {
    checkFileExists("authorization credentials or bearer token file", sc.authorization?.credentials_file);
    checkTLSFiles(sc.tls_config);
    warnMissingSDFiles(sc.file_sd_configs, `scrape job ${JSON.stringify(sc.job_name)}`, out);
  }
  for (const am of config.alerting.alertmanagers) {
    warnMissingSDFiles(am.file_sd_configs, "alertmanager config", out);
  }
  return ruleFiles;
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
