/**
 * amtool's `check-config` (`promts tool alertmanager check-config` and the
 * amtool-like commands): each alertmanager.yml must load, and every
 * template file its `templates:` globs name must read and parse.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { expandGlob, loadAlertmanagerConfigFile, type AlertmanagerConfigFile } from "../config/index.ts";
import { alertmanagerFuncs, TemplateSet } from "../template/index.ts";

/** Every template file named by the globs must read and parse (as Alertmanager's template.FromGlobs). */
function checkTemplates(globs: string[]): void {
  const set = new TemplateSet(alertmanagerFuncs());
  for (const pattern of globs) {
    for (const file of expandGlob(pattern)) set.parse(basename(file), readFileSync(file, "utf8"));
  }
}

/**
 * amtool's `check-config`: for each file, `Checking 'FILE'  SUCCESS` (or
 * `  FAILED: <error>`), then what was found, then a blank line. Returns
 * the exit code: 0 when every file is valid, 1 otherwise.
 *
 * @example
 * process.exitCode = checkAlertmanagerConfigFiles(["alertmanager.yml"], console.log);
 */
export function checkAlertmanagerConfigFiles(paths: string[], out: (line: string) => void): number {
  let failed = 0;
  for (const path of paths) {
    let config: AlertmanagerConfigFile | undefined;
    try {
      config = loadAlertmanagerConfigFile(path).config;
      out(`Checking '${path}'  SUCCESS`);
    } catch (e) {
      out(`Checking '${path}'  FAILED: ${(e as Error).message}`);
      failed++;
    }
    if (config) {
      out("Found:");
      out(" - global config");
      out(" - route");
      out(` - ${config.inhibit_rules.length} inhibit rules`);
      out(` - ${config.receivers.length} receivers`);
      out(` - ${config.templates.length} templates`);
      if (config.templates.length > 0) {
        try {
          checkTemplates(config.templates);
          out("  SUCCESS");
        } catch (e) {
          out(`  FAILED: ${(e as Error).message}`);
          failed++;
        }
      }
    }
    out("");
  }
  return failed > 0 ? 1 : 0;
}
