/**
 * Structured logger with Prometheus's two output formats: logfmt (default)
 * and json, and its levels (debug, info, warn, error).
 *
 * @example
 * const log = newLogger({ level: "info", format: "logfmt" }).with({ component: "tsdb" });
 * log.info("WAL replay completed", { series: 10, duration: "1.2s" });
 * // ts=2026-01-01T00:00:00.000Z caller=... level=info component=tsdb msg="WAL replay completed" series=10 duration=1.2s
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "logfmt" | "json";
export type LogFields = Record<string, unknown>;

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A child logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr, as Prometheus logs. */
  write?: (line: string) => void;
}

function logfmtValue(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v) ?? String(v);
  return s === "" || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function newLogger(opts: LoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const format = opts.format ?? "logfmt";
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (ORDER[level] < min) return;
      const all: LogFields = { ts: new Date().toISOString(), level, ...base, msg, ...fields };
      if (format === "json") {
        write(JSON.stringify(all, (_k, v) => (v instanceof Error ? v.message : typeof v === "bigint" ? String(v) : v)));
      } else {
        write(Object.entries(all).map(([k, v]) => `${k}=${logfmtValue(v)}`).join(" "));
      }
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      with: (f) => make({ ...base, ...f }),
    };
  };
  return make({});
}

/** A logger that drops everything (tests, benchmarks). */
export const nopLogger: Logger = newLogger({ write: () => {} , level: "error" });
