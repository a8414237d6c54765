/**
 * `promts tool …`: the promtool equivalents. Each leaf command reads its
 * parsed flags and arguments and returns the process exit code.
 *
 *   promts tool check config prometheus.yml [more.yml …]
 *   promts tool check rules rules.yml [more.yml …]
 *   promts tool tsdb create-blocks-from openmetrics data.om [data/]
 */
import { loadConfigFile } from "../config/index.ts";
import { checkConfigFiles } from "./check_config.ts";
import { checkRuleFiles, ruleFilePaths } from "../rules/index.ts";
import { createBlocksFromOpenMetrics } from "../tsdb/index.ts";
import { amtoolCommands, checkAlertmanagerConfigCommand, runAmtoolCommand } from "./amtool.ts";
import { command, type Command, type Role } from "../flags/index.ts";

/** Where a tool command writes lines: `out` for results, `err` for errors. */
export interface ToolOutput {
  out(line: string): void;
  err(line: string): void;
}

const checkConfig = command("config", "Check if the config files are valid or not.", {}, [
  { name: "config-files", help: "The config files to check.", required: true, variadic: true },
]);

const checkRules = command("rules", "Check if the rule files are valid or not.", {}, [
  { name: "rule-files", help: "The rule files to check.", required: true, variadic: true },
]);

const createBlocksFromOpenMetricsCommand = command("openmetrics", "Import samples from OpenMetrics input and produce TSDB blocks.", {}, [
  { name: "input file", help: "OpenMetrics file to read samples from.", required: true },
  { name: "output directory", help: "Output directory for generated blocks.", required: false },
]);

/** The `tool` command tree. */
export const toolCommand: Command = command("tool", "Tooling for the Prometheus monitoring system (promtool).", {}, [], [
  command("check", "Check the resources for validity.", {}, [], [checkConfig, checkRules, checkAlertmanagerConfigCommand]),
  command("tsdb", "Run tsdb commands.", {}, [], [
    command("create-blocks-from", "[Experimental] Import samples from input and produce TSDB blocks.", {}, [], [createBlocksFromOpenMetricsCommand]),
  ]),
  ...amtoolCommands,
]);

/** The default output directory of create-blocks-from, as in promtool. */
export const DEFAULT_BLOCKS_DIR = "data/";

/**
 * Runs the tool leaf command named by `path` (e.g. ["promts", "tool",
 * "check", "config"]) with its bound arguments.
 */
export async function runTool(path: readonly string[], args: Record<string, string | string[]>, io: ToolOutput): Promise<number> {
  const name = path.slice(2).join(" ");
  switch (name) {
    case "check config":
      return checkConfigsAndRules(args["config-files"] as string[], io.out);
    case "check rules":
      return checkRuleFiles(args["rule-files"] as string[], io.out);
    case "tsdb create-blocks-from openmetrics": {
      const input = args["input file"] as string;
      const outDir = (args["output directory"] as string | undefined) ?? DEFAULT_BLOCKS_DIR;
      try {
        const result = await createBlocksFromOpenMetrics(input, outDir);
        for (const block of result.blocks) io.out(`block ${block}`);
        io.out(`${result.blocks.length} blocks, ${result.series} series, ${result.samples} samples written to ${outDir}`);
        return 0;
      } catch (err) {
        io.err(`promts: error: create blocks from ${input}: ${err instanceof Error ? err.message : String(err)}`);
        return 1;
      }
    }
    default:
      io.err(`promts: error: no such tool command '${name}'`);
      return 2;
  }
}

/**
 * promtool's `check config`: each config file, then — when it is valid —
 * every rule file it references, each reported as `check rules` does.
 * Returns 1 when any config or rule file is invalid.
 */
function checkConfigsAndRules(paths: readonly string[], out: (line: string) => void): number {
  let code = 0;
  for (const path of paths) {
    if (checkConfigFiles([path], out) !== 0) {
      code = 1;
      continue;
    }
    if (checkRuleFiles(ruleFilePaths(loadConfigFile(path).config.rule_files), out) !== 0) code = 1;
  }
  return code;
}

/** `promts tool …` as a role of the executable. */
export const toolRole: Role = {
  command: toolCommand,
  run: (parsed, io) => {
    const output: ToolOutput = { out: (l) => io.stdout(`${l}\n`), err: (l) => io.stderr(`${l}\n`) };
    return runAmtoolCommand(parsed, output) ?? runTool(parsed.path, parsed.args, output);
  },
};
