/**
 * A configuration file that cannot be used, with where the problem is.
 *
 * `message` is the full text an operator sees,
 * `FILE:LINE:COL: field PATH: REASON` (or `FILE:LINE:COL: REASON` when the
 * problem is not tied to one field, like a YAML syntax error). The parts are
 * kept separately so callers can point at the spot themselves. `line` and
 * `col` are 1-based (0 when the file itself could not be read); `path` is like `scrape_configs[0].scrape_interval`.
 *
 * @example
 * try { parseConfig(text, "prometheus.yml") }
 * catch (e) { if (e instanceof ConfigError) log.error(e.message) }
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The file name as given by the caller. */
  readonly file: string;
  /** 1-based line of the offending node; 0 when there is no position. */
  readonly line: number;
  /** 1-based column of the offending node. */
  readonly col: number;
  /** Dotted field path with list indexes; empty for file-level problems. */
  readonly path: string;
  /** The reason alone, without file, position or path. */
  readonly reason: string;

  constructor(file: string, line: number, col: number, path: string, reason: string) {
    super(formatConfigError(file, line, col, path, reason));
    this.file = file;
    this.line = line;
    this.col = col;
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Formats the operator-facing text. A reason starting with "not found"
 * reads as one sentence with the path, keeping Prometheus's wording
 * `field X not found in type Y`.
 */
function formatConfigError(file: string, line: number, col: number, path: string, reason: string): string {
  const where = line > 0 ? `${file}:${line}:${col}` : file;
  if (path === "") return `${where}: ${reason}`;
  if (reason.startsWith("not found in type ")) return `${where}: field ${path} ${reason}`;
  return `${where}: field ${path}: ${reason}`;
}
