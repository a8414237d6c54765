/**
 * A small declarative command-line parser with the behaviour of kingpin, the
 * parser Prometheus, Alertmanager and promtool use: `--name=value` and
 * `--name value`, boolean `--name` / `--no-name`, the single-dash long
 * spelling of old releases (`-config.file=x`), repeatable flags, typed
 * values checked while parsing, and nested commands (`tool check config`).
 *
 * Parsing is pure: it returns values or throws {@link UsageError}; printing
 * and exit codes are the caller's job (src/cli/main.ts).
 *
 * @example
 * const serve = command("promts", "The monitoring server.", {
 *   "config.file": stringFlag("Configuration file path.", "prometheus.yml"),
 *   "web.enable-lifecycle": boolFlag("Enable shutdown and reload via HTTP."),
 * });
 * const parsed = parseCommandLine(serve, ["-config.file=x.yml", "--web.enable-lifecycle"]);
 * parsed.flags["config.file"]; // "x.yml"
 */

/** A bad command line: unknown flag, missing or invalid value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * One flag's declaration. `parse` turns one occurrence's text into a value
 * (throwing an Error whose message says why it is invalid); for repeatable
 * flags it receives the value accumulated so far.
 */
export interface Flag<T> {
  readonly help: string;
  /** The value when the flag is absent. */
  readonly defaultValue: T;
  /** The default as the user would type it ("" when there is none); /status/flags shows it. */
  readonly defaultText: string;
  /** Whether --help shows the default in quotes (strings, durations) or bare (numbers). */
  readonly quoteDefault: boolean;
  /** Boolean flags take no separate value and have a `--no-` form. */
  readonly isBool: boolean;
  readonly repeatable: boolean;
  /** Hidden flags work but are left out of --help. */
  readonly hidden: boolean;
  /** Placeholder for the value in --help, e.g. `<duration>`. */
  readonly placeholder: string;
  parse(text: string, accumulated: T | undefined): T;
}

/** Options shared by the flag constructors. */
export interface FlagOptions {
  hidden?: boolean;
  placeholder?: string;
}

function makeFlag<T>(
  help: string,
  defaultValue: T,
  defaultText: string,
  parse: (text: string, accumulated: T | undefined) => T,
  kind: { isBool?: boolean; repeatable?: boolean; quoteDefault?: boolean; placeholder: string },
  opts: FlagOptions,
): Flag<T> {
  return {
    help,
    defaultValue,
    defaultText,
    quoteDefault: kind.quoteDefault ?? true,
    isBool: kind.isBool ?? false,
    repeatable: kind.repeatable ?? false,
    hidden: opts.hidden ?? false,
    placeholder: opts.placeholder ?? kind.placeholder,
    parse,
  };
}

/** A string flag. `stringFlag("Config file.", "prometheus.yml")` */
export function stringFlag(help: string, defaultValue = "", opts: FlagOptions = {}): Flag<string> {
  return makeFlag(help, defaultValue, defaultValue, (t) => t, { placeholder: "<string>" }, opts);
}

/** A boolean flag: `--name`, `--no-name`, `--name=true|false`. */
export function boolFlag(help: string, defaultValue = false, opts: FlagOptions = {}): Flag<boolean> {
  return makeFlag(help, defaultValue, String(defaultValue), parseBool, { isBool: true, placeholder: "" }, opts);
}

/** A non-negative integer flag. */
export function intFlag(help: string, defaultValue: number, opts: FlagOptions = {}): Flag<number> {
  return makeFlag(help, defaultValue, String(defaultValue), parseInteger, { quoteDefault: false, placeholder: "<int>" }, opts);
}

/** A flag whose value must be one of `values`. */
export function enumFlag<const V extends string>(help: string, values: readonly V[], defaultValue: V, opts: FlagOptions = {}): Flag<V> {
  const parse = (text: string): V => {
    if (!(values as readonly string[]).includes(text)) throw new Error(`enum value must be one of ${values.join(",")}, got '${text}'`);
    return text as V;
  };
  return makeFlag(help, defaultValue, defaultValue, parse, { placeholder: `<${values.join("|")}>` }, opts);
}

/**
 * A flag that may be given many times; its value lists every occurrence in
 * order. With `commaSeparated`, each occurrence may also list several values
 * (`--enable-feature=a,b`); empty items are dropped.
 */
export function stringsFlag(help: string, opts: FlagOptions & { commaSeparated?: boolean } = {}): Flag<string[]> {
  const items = (t: string): string[] => (opts.commaSeparated ? t.split(",").map((x) => x.trim()).filter((x) => x !== "") : [t]);
  return makeFlag<string[]>(help, [], "", (t, acc) => [...(acc ?? []), ...items(t)], { repeatable: true, placeholder: "<string>" }, opts);
}

/**
 * A flag with its own value type, e.g. durations parsed by the config room.
 * The default is `parse(defaultText)`, so it is checked like user input.
 *
 * @example
 * customFlag("How long to keep data.", "15d", parseDuration, { placeholder: "<duration>" })
 */
export function customFlag<T>(help: string, defaultText: string, parse: (text: string) => T, opts: FlagOptions = {}): Flag<T> {
  return makeFlag(help, parse(defaultText), defaultText, (t) => parse(t), { placeholder: "<value>" }, opts);
}

function parseBool(text: string): boolean {
  switch (text.toLowerCase()) {
    case "true": case "1": case "t": case "yes": return true;
    case "false": case "0": case "f": case "no": return false;
    default: throw new Error(`expected a boolean (true or false), got '${text}'`);
  }
}

function parseInteger(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`expected a non-negative integer, got '${text}'`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`integer out of range: '${text}'`);
  return n;
}

/** A flag map: flag name (without dashes) → declaration. */
export type FlagSpecs = Record<string, Flag<any>>;

/** The parsed values of a flag map, typed from the declarations. */
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

/** A positional argument. `variadic` consumes every remaining positional. */
export interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly required: boolean;
  readonly variadic?: boolean;
}

/**
 * A command: its flags, positional arguments and subcommands. A command with
 * subcommands may also be runnable itself (the root runs the server when no
 * subcommand is named), in which case it takes no positional arguments.
 */
export interface Command<S extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  readonly help: string;
  readonly flags: S;
  readonly args: readonly ArgSpec[];
  readonly subcommands: readonly Command[];
}

/** Declares a command. `command("config", "Check config files.", {}, [{ name: "config-files", ... }])` */
export function command<S extends FlagSpecs>(
  name: string,
  help: string,
  flags: S,
  args: readonly ArgSpec[] = [],
  subcommands: readonly Command[] = [],
): Command<S> {
  for (const f of Object.keys(flags)) {
    if (f === "help" || f === "version" || f.startsWith("no-")) throw new Error(`command ${name}: flag name '${f}' is reserved`);
  }
  return { name, help, flags, args, subcommands };
}

/** What the user asked for: a command to run, or help / version output. */
export type ParsedCommandLine =
  | {
      readonly kind: "run";
      /** The command names from the root down, e.g. ["promts", "tool", "check", "config"]. */
      readonly path: readonly string[];
      readonly command: Command;
      readonly flags: Record<string, unknown>;
      /**
       * Every flag of the command as text: what was given (occurrences of a
       * repeatable flag joined by ","; booleans as "true"/"false") or the default.
       */
      readonly flagText: Record<string, string>;
      /** The flags given on the command line (not defaulted), in the order first given. */
      readonly given: readonly string[];
      /** Positional arguments by ArgSpec name; variadic ones are string[]. */
      readonly args: Record<string, string | string[]>;
    }
  | { readonly kind: "help"; readonly path: readonly string[]; readonly command: Command }
  | { readonly kind: "version" };

/**
 * Parses `argv` (without the program name) against the command tree rooted at
 * `root`. Leading positionals select subcommands; after that, flags and
 * positionals may be interleaved; `--` ends flag parsing.
 *
 * @throws UsageError with kingpin-like messages, e.g. "unknown long flag '--foo'".
 */
export function parseCommandLine(root: Command, argv: readonly string[]): ParsedCommandLine {
  let cmd: Command = root;
  const path = [root.name];
  const values: Record<string, unknown> = {};
  const texts: Record<string, string> = {};
  const seen = new Set<string>();
  const positionals: string[] = [];
  let flagsDone = false;
  let wantHelp = false;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (flagsDone || token === "-" || !token.startsWith("-")) {
      const sub = positionals.length === 0 ? cmd.subcommands.find((c) => c.name === token) : undefined;
      if (sub) {
        if (seen.size > 0) throw new UsageError(`command '${token}' must come before any flags`);
        cmd = sub;
        path.push(sub.name);
      } else if (positionals.length === 0 && cmd.subcommands.length > 0 && cmd.args.length === 0) {
        throw new UsageError(`unknown command '${token}'`);
      } else {
        positionals.push(token);
      }
      continue;
    }
    if (token === "--") {
      flagsDone = true;
      continue;
    }
    if (token === "-h") {
      wantHelp = true;
      continue;
    }
    // "-name" (single dash, long name) is the spelling of old releases.
    const body = token.startsWith("--") ? token.slice(2) : token.slice(1);
    if (!token.startsWith("--") && body.length === 1) throw new UsageError(`unknown short flag '${token}'`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === "help") { wantHelp = true; continue; }
    if (name === "version" && path.length === 1) return { kind: "version" };

    let flagName = name;
    let spec = lookupFlag(cmd, name);
    let negated = false;
    if (!spec && name.startsWith("no-")) {
      const positive = lookupFlag(cmd, name.slice(3));
      if (positive?.isBool) {
        spec = positive;
        flagName = name.slice(3);
        negated = true;
      }
    }
    if (!spec) throw new UsageError(`unknown long flag '--${name}'`);
    if (seen.has(flagName) && !spec.repeatable) throw new UsageError(`flag '--${flagName}' cannot be repeated`);
    seen.add(flagName);

    let text: string;
    if (spec.isBool) {
      if (negated && inline !== undefined) throw new UsageError(`flag '--${name}' takes no value`);
      text = negated ? "false" : inline ?? "true";
    } else if (inline !== undefined) {
      text = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`expected argument for flag '--${flagName}'`);
      text = next;
      i++;
    }
    try {
      values[flagName] = spec.parse(text, values[flagName]);
      texts[flagName] = spec.isBool ? String(values[flagName]) : spec.repeatable && flagName in texts ? `${texts[flagName]},${text}` : text;
    } catch (err) {
      throw new UsageError(`invalid value "${text}" for flag '--${flagName}': ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  if (wantHelp) return { kind: "help", path, command: cmd };
  if (cmd.subcommands.length > 0 && cmd !== root) {
    throw new UsageError(`expected command after '${path.slice(1).join(" ")}': one of ${cmd.subcommands.map((c) => c.name).join(", ")}`);
  }
  for (const [name, spec] of Object.entries(cmd.flags)) {
    if (name in values) continue;
    values[name] = spec.defaultValue;
    texts[name] = spec.defaultText;
  }
  return { kind: "run", path, command: cmd, flags: values, flagText: texts, given: [...seen], args: bindArgs(cmd, positionals) };
}

/** Own properties only: "--constructor" must not find Object.prototype.constructor. */
function lookupFlag(cmd: Command, name: string): Flag<unknown> | undefined {
  return Object.hasOwn(cmd.flags, name) ? cmd.flags[name] : undefined;
}

function bindArgs(cmd: Command, positionals: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  let p = 0;
  for (const spec of cmd.args) {
    if (spec.variadic) {
      out[spec.name] = positionals.slice(p);
      p = positionals.length;
      if (spec.required && out[spec.name]!.length === 0) throw new UsageError(`required argument '${spec.name}' not provided`);
    } else if (p < positionals.length) {
      out[spec.name] = positionals[p++]!;
    } else if (spec.required) {
      throw new UsageError(`required argument '${spec.name}' not provided`);
    }
  }
  if (p < positionals.length) throw new UsageError(`unexpected argument '${positionals[p]}'`);
  return out;
}

/**
 * The --help text of a command: usage line, flags with defaults, arguments
 * and subcommands, in kingpin's layout.
 */
export function renderUsage(path: readonly string[], cmd: Command): string {
  const lines: string[] = [];
  const argsUsage = cmd.args.map((a) => {
    const s = a.variadic ? `<${a.name}>...` : `<${a.name}>`;
    return a.required ? s : `[${s}]`;
  });
  const usage = [`usage: ${path.join(" ")}`, "[<flags>]"];
  if (cmd.subcommands.length > 0) usage.push("<command> [<args> ...]");
  usage.push(...argsUsage);
  lines.push(usage.join(" "), "", cmd.help, "", "Flags:");

  const rows: [string, string][] = [["-h, --help", "Show context-sensitive help."]];
  if (path.length === 1) rows.push(["    --version", "Show application version."]);
  for (const [name, f] of Object.entries(cmd.flags)) {
    if (f.hidden) continue;
    let left = `    --${f.isBool ? "[no-]" : ""}${name}`;
    if (!f.isBool) left += f.defaultText === "" ? `=${f.placeholder}` : `=${f.quoteDefault ? JSON.stringify(f.defaultText) : f.defaultText}`;
    const help = f.repeatable ? `${f.help} Can be given more than once.` : f.help;
    rows.push([left, help]);
  }
  pushTable(lines, rows);

  if (cmd.args.length > 0) {
    lines.push("", "Args:");
    pushTable(lines, cmd.args.map((a) => [`<${a.name}>`, a.help]));
  }
  if (cmd.subcommands.length > 0) {
    lines.push("", "Commands:");
    pushTable(lines, cmd.subcommands.map((c) => [c.name, c.help]));
  }
  return lines.join("\n") + "\n";
}

const HELP_COLUMN = 34;

function pushTable(lines: string[], rows: readonly (readonly [string, string])[]): void {
  for (const [left, help] of rows) {
    const indented = `  ${left}`;
    if (indented.length < HELP_COLUMN - 1) lines.push(indented.padEnd(HELP_COLUMN) + help);
    else lines.push(indented, " ".repeat(HELP_COLUMN) + help);
  }
}
