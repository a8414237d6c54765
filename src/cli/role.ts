/**
 * A role of the promts executable besides the server (`tool`, and later
 * `alertmanager`, `pushgateway`, `webhook-logger`): its command tree and how
 * to run one parsed invocation. Adding a role = declaring one of these and
 * listing it in ROLES in main.ts.
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
