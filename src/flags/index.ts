/**
 * The flags room's door: the kingpin-compatible command-line parser
 * (Prometheus's flag names, defaults, `--help` and usage errors) and the
 * {@link Role} shape every subcommand of the executable declares. A leaf:
 * roles in the server and cli rooms declare their flags with it; the cli
 * room parses the command line with it and picks the role.
 */
export {
  boolFlag,
  command,
  customFlag,
  enumFlag,
  intFlag,
  parseCommandLine,
  renderUsage,
  stringFlag,
  stringsFlag,
  UsageError,
  type ArgSpec,
  type Command,
  type Flag,
  type FlagOptions,
  type FlagSpecs,
  type FlagValues,
  type ParsedCommandLine,
} from "./flags.ts";
export type { MainIO, Role, RunRequest } from "./role.ts";
