import { describe, expect, test } from "bun:test";
import {
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
  type ParsedCommandLine,
} from "../../src/flags/index.ts";

function parseMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a valid duration string: "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as "ms" | "s" | "m" | "h"];
}

const check = command("config", "Check config files.", { "lint": boolFlag("Lint too.") }, [
  { name: "config-files", help: "Files.", required: true, variadic: true },
]);
const backfill = command("openmetrics", "Backfill.", {}, [
  { name: "input", help: "Input.", required: true },
  { name: "output", help: "Output dir.", required: false },
]);
const root = command("prog", "A test program.", {
  "config.file": stringFlag("Config file.", "prometheus.yml"),
  "web.enable-lifecycle": boolFlag("Lifecycle."),
  "web.enable-ui": boolFlag("UI.", true),
  "query.max-concurrency": intFlag("Max queries.", 20),
  "query.timeout": customFlag("Query timeout.", "2m", parseMs, { placeholder: "<duration>" }),
  "log.level": enumFlag("Level.", ["debug", "info", "warn", "error"], "info"),
  "cluster.peer": stringsFlag("Peers."),
  "secret.knob": stringFlag("Hidden.", "x", { hidden: true }),
}, [], [
  command("tool", "Tools.", {}, [], [command("check", "Checks.", {}, [], [check]), backfill]),
]);

function run(argv: string[]): Extract<ParsedCommandLine, { kind: "run" }> {
  const parsed = parseCommandLine(root, argv);
  if (parsed.kind !== "run") throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed;
}

function usageError(argv: string[]): string {
  try {
    parseCommandLine(root, argv);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(argv)}`);
}

describe("flag values", () => {
  test("defaults apply when flags are absent", () => {
    const { flags, path } = run([]);
    expect(path).toEqual(["prog"]);
    expect(flags).toEqual({
      "config.file": "prometheus.yml",
      "web.enable-lifecycle": false,
      "web.enable-ui": true,
      "query.max-concurrency": 20,
      "query.timeout": 120000,
      "log.level": "info",
      "cluster.peer": [],
      "secret.knob": "x",
    });
  });

  test.each([
    [["--config.file=a.yml"], "a.yml"],
    [["--config.file", "b.yml"], "b.yml"],
    [["-config.file=c.yml"], "c.yml"],
    [["-config.file", "d.yml"], "d.yml"],
    [["--config.file="], ""],
    [["--config.file", "-weird.yml"], "-weird.yml"],
  ])("string flag %j", (argv, want) => {
    expect(run(argv).flags["config.file"]).toBe(want);
  });

  test.each([
    [["--web.enable-lifecycle"], true, true],
    [["-web.enable-lifecycle"], true, true],
    [["--web.enable-lifecycle=false"], false, true],
    [["--web.enable-lifecycle=true", "--no-web.enable-ui"], true, false],
    [["--no-web.enable-lifecycle"], false, true],
    [["--web.enable-ui=0"], false, false],
  ])("boolean flags %j", (argv, lifecycle, ui) => {
    const { flags } = run(argv);
    expect(flags["web.enable-lifecycle"]).toBe(lifecycle);
    expect(flags["web.enable-ui"]).toBe(ui);
  });

  test("typed values are parsed", () => {
    const { flags } = run(["--query.timeout", "30s", "--query.max-concurrency=4", "--log.level=debug"]);
    expect(flags["query.timeout"]).toBe(30000);
    expect(flags["query.max-concurrency"]).toBe(4);
    expect(flags["log.level"]).toBe("debug");
  });

  test("flagText gives every flag as text, given or default", () => {
    const { flagText } = run(["--query.timeout", "30s", "--no-web.enable-ui", "--cluster.peer=a", "--cluster.peer=b"]);
    expect(flagText).toEqual({
      "config.file": "prometheus.yml",
      "web.enable-lifecycle": "false",
      "web.enable-ui": "false",
      "query.max-concurrency": "20",
      "query.timeout": "30s",
      "log.level": "info",
      "cluster.peer": "a,b",
      "secret.knob": "x",
    });
  });

  test("repeatable flags collect every occurrence in order", () => {
    const { flags } = run(["--cluster.peer=a:9094", "--cluster.peer", "b:9094", "-cluster.peer=c:9094"]);
    expect(flags["cluster.peer"]).toEqual(["a:9094", "b:9094", "c:9094"]);
  });
});

describe("usage errors", () => {
  test.each([
    [["--foo"], "unknown long flag '--foo'"],
    [["-foo=1"], "unknown long flag '--foo'"],
    [["-x"], "unknown short flag '-x'"],
    [["--constructor"], "unknown long flag '--constructor'"],
    [["--no-toString"], "unknown long flag '--no-toString'"],
    [["--no-config.file"], "unknown long flag '--no-config.file'"],
    [["--config.file"], "expected argument for flag '--config.file'"],
    [["--config.file=a", "--config.file=b"], "flag '--config.file' cannot be repeated"],
    [["--query.timeout=abc"], `invalid value "abc" for flag '--query.timeout': not a valid duration string: "abc"`],
    [["--query.max-concurrency=-1"], `invalid value "-1" for flag '--query.max-concurrency': expected a non-negative integer, got '-1'`],
    [["--log.level=loud"], `invalid value "loud" for flag '--log.level': enum value must be one of debug,info,warn,error, got 'loud'`],
    [["--web.enable-lifecycle=maybe"], `invalid value "maybe" for flag '--web.enable-lifecycle': expected a boolean (true or false), got 'maybe'`],
    [["--no-web.enable-ui=true"], "flag '--no-web.enable-ui' takes no value"],
    [["serve"], "unknown command 'serve'"],
    [["tool"], "expected command after 'tool': one of check, openmetrics"],
    [["tool", "check", "config"], "required argument 'config-files' not provided"],
    [["tool", "openmetrics", "in", "out", "extra"], "unexpected argument 'extra'"],
    [["--log.level=debug", "tool"], "command 'tool' must come before any flags"],
  ])("%j → %s", (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});

describe("subcommands", () => {
  test("leading positionals select the command; flags and args interleave after it", () => {
    const parsed = run(["tool", "check", "config", "a.yml", "--lint", "b.yml"]);
    expect(parsed.path).toEqual(["prog", "tool", "check", "config"]);
    expect(parsed.args).toEqual({ "config-files": ["a.yml", "b.yml"] });
    expect(parsed.flags).toEqual({ lint: true });
  });

  test("optional arguments may be left out; -- ends flag parsing", () => {
    expect(run(["tool", "openmetrics", "in.om"]).args).toEqual({ input: "in.om" });
    expect(run(["tool", "openmetrics", "--", "-in.om", "out"]).args).toEqual({ input: "-in.om", output: "out" });
  });

  test("the root's flags do not apply to subcommands", () => {
    expect(usageError(["tool", "check", "config", "--config.file=x", "a.yml"])).toBe("unknown long flag '--config.file'");
  });
});

describe("help and version", () => {
  test("--help and -h ask for the current command's usage", () => {
    for (const argv of [["--help"], ["-h"], ["--config.file=x", "--help"]]) {
      const parsed = parseCommandLine(root, argv);
      expect(parsed.kind).toBe("help");
    }
    const sub = parseCommandLine(root, ["tool", "check", "config", "--help"]);
    expect(sub.kind === "help" && sub.path).toEqual(["prog", "tool", "check", "config"]);
  });

  test("--version is a root flag only", () => {
    expect(parseCommandLine(root, ["--version"]).kind).toBe("version");
    expect(usageError(["tool", "check", "config", "--version"])).toBe("unknown long flag '--version'");
  });

  test("usage lists every visible flag with its default", () => {
    const text = renderUsage(["prog"], root);
    expect(text.startsWith("usage: prog [<flags>] <command> [<args> ...]\n\nA test program.\n")).toBe(true);
    expect(text).toContain('--config.file="prometheus.yml"');
    expect(text).toContain("--[no-]web.enable-lifecycle");
    expect(text).toContain('--query.timeout="2m"');
    expect(text).toContain("--query.max-concurrency=20");
    expect(text).toContain('--log.level="info"');
    expect(text).toContain("--cluster.peer=<string>");
    expect(text).toContain("Peers. Can be given more than once.");
    expect(text).toContain("--version");
    expect(text).not.toContain("secret.knob");
    expect(text).toMatch(/Commands:\n  tool +Tools\.\n/);
    const sub = renderUsage(["prog", "tool", "check", "config"], check);
    expect(sub).toContain("usage: prog tool check config [<flags>] <config-files>...");
    expect(sub).not.toContain("--version");
  });
});

describe("robustness", () => {
  test("any command line either parses or throws UsageError", () => {
    const pieces = ["--", "-", "-h", "--help", "--version", "tool", "check", "config", "openmetrics", "x.yml", "--config.file",
      "--config.file=", "-config.file=a", "--no-web.enable-ui", "--web.enable-lifecycle=", "--query.timeout=1x", "--cluster.peer",
      "--log.level", "debug", "--=", "---", "--no-", "-=", "--__proto__", "--hasOwnProperty=1", "=", ""];
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const argv = Array.from({ length: next(6) }, () => pieces[next(pieces.length)]!);
      try {
        parseCommandLine(root, argv);
      } catch (err) {
        if (!(err instanceof UsageError)) throw new Error(`${JSON.stringify(argv)} threw ${String(err)}`);
      }
    }
  });
});
