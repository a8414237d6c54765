/**
 * The promts executable: parses the command line and runs the chosen role.
 * The long-running roles (the server, `alertmanager`) are the server room's;
 * this room only parses and picks.
 *
 *   promts [server flags]                 the Prometheus server (default)
 *   promts tool check config FILE…        promtool and amtool equivalents
 *   promts alertmanager [flags]            the Alertmanager
 *   promts pushgateway [flags]             the Pushgateway
 *   promts webhook-logger                  a webhook receiver that logs notifications
 *   promts playground --nodes 3            a local HA cluster with a demo alert and a webhook logger
 *
 * Exit codes follow Prometheus: 0 success, 1 runtime failure (bad config,
 * storage error), 2 bad command line.
 */
import { command, parseCommandLine, renderUsage, UsageError, type MainIO, type Role } from "../flags/index.ts";
import { alertmanagerRole, pushgatewayRole, runServer, serverFlags, versionText, type ServerFlags } from "../server/index.ts";
import { toolRole } from "./tool.ts";
import { playgroundRole } from "./playground.ts";
import { webhookLoggerRole } from "./webhook_logger.ts";

/** The program name in messages, as kingpin prints it. */
export const PROGRAM = "promts";

/** The roles named by a first positional argument; the server runs when none is named. */
export const ROLES: readonly Role[] = [toolRole, alertmanagerRole, pushgatewayRole, webhookLoggerRole, playgroundRole];

/** The whole command tree: the root runs the server; subcommands are the other roles. */
export const rootCommand = command(PROGRAM, "The Prometheus monitoring server", serverFlags, [], ROLES.map((r) => r.command));

const processIO: MainIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Runs promts with `argv` (without the program path) and resolves with the
 * exit code. Never throws for bad input: usage errors print
 * `promts: error: …, try --help` and give 2.
 */
export async function main(argv: readonly string[], io: MainIO = processIO): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(rootCommand, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${PROGRAM}: error: ${err.message}, try --help\n`);
    return 2;
  }
  switch (parsed.kind) {
    case "version":
      io.stdout(versionText(PROGRAM));
      return 0;
    case "help":
      io.stdout(renderUsage(parsed.path, parsed.command));
      return 0;
    case "run": {
      const role = ROLES.find((r) => r.command.name === parsed.path[1]);
      return role ? role.run(parsed, io) : runServer(parsed.flags as ServerFlags, { flagText: parsed.flagText, givenFlags: parsed.given });
    }
  }
}

if (import.meta.main) process.exit(await main(Bun.argv.slice(2)));
