/**
 * A role of the promts executable (the server, `alertmanager`, `tool`,
 * `webhook-logger`, later `pushgateway`): its command tree and how to run
 * one parsed invocation. Adding a role = declaring one of these and listing
 * it in src/cli/main.ts; a long-running role runs on the server room's
 * runtime (docs/architecture.md, "Adding a role").
 */
import type { Command, ParsedCommandLine } from "./flags.ts";

/** Where main writes; tests capture it. */
export interface MainIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A parsed command line that names something to run. */
export type RunRequest = Extract<ParsedCommandLine, { kind: "run" }>;

/** A subcommand of promts with its flags, arguments and runner. */
export interface Role {
  readonly command: Command;
  /** Runs the invocation and resolves with the process exit code. */
  run(request: RunRequest, io: MainIO): Promise<number>;
}
