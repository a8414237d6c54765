/**
 * file_sd: target groups read from JSON or YAML files, as Prometheus's
 * discovery/file. Patterns may glob in their last path element. The
 * directories of the patterns are watched and every change re-reads all
 * files; they are also re-read every `refresh_interval` in case an event was
 * missed. Groups are sourced `<path>:<index>` and labeled `__meta_filepath`.
 * A file that cannot be read or parsed keeps its last good targets (the
 * error is logged and counted); a file that is gone, or lists fewer groups,
 * has its missing groups reported empty.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { parse as parseYAML } from "yaml";
import { expandGlob, type FileSDConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { fileSDMetrics, type FileSDMetrics } from "./metrics.ts";
import { decodeTargetGroups } from "./targetgroup.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** Prometheus's file_sd default refresh interval (5m). */
export const DEFAULT_FILE_SD_REFRESH_MS = 5 * 60_000;

/** What file_sd reads from its config (the config room's `FileSDConfig` fits). */
export type FileSDOptions = Pick<FileSDConfig, "files"> & Partial<Pick<FileSDConfig, "refresh_interval">>;

/**
 * Parses one file_sd file's text into groups sourced `<path>:<index>`. The
 * format follows the extension: .json, or .yml/.yaml. Throws an Error naming
 * the file on malformed content.
 *
 * @example
 * parseTargetGroupFile("sd/a.yml", "- targets: ['a:9100']\n  labels: {env: prod}\n");
 */
export function parseTargetGroupFile(path: string, text: string): TargetGroup[] {
  let data: unknown;
  const ext = extname(path).toLowerCase();
  try {
    if (ext === ".json") data = JSON.parse(text);
    else if (ext === ".yml" || ext === ".yaml") data = parseYAML(text);
    else throw new Error("invalid file extension");
  } catch (e) {
    throw new Error(`retrieval target groups from ${path}: ${(e as Error).message}`);
  }
  return decodeTargetGroups(data, path, path, { __meta_filepath: path });
}

/**
 * One file_sd_configs entry.
 *
 * @example
 * const d = new FileDiscoverer({ files: ["/etc/promts/sd/*.json"], refresh_interval: 300_000 }, { logger });
 * void d.run((groups) => console.log(groups), controller.signal);
 */
export class FileDiscoverer implements Discoverer {
  private readonly patterns: readonly string[];
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly metrics: FileSDMetrics;
  /** Group count last reported per file, to report vanished groups empty. */
  private lastCounts = new Map<string, number>();

  /** Throws when the config has no files or a bad interval. */
  constructor(cfg: FileSDOptions, opts: DiscovererOptions) {
    if (!Array.isArray(cfg.files) || cfg.files.length === 0) throw new Error("file_sd: file service discovery config must contain at least one path name");
    this.patterns = cfg.files;
    this.intervalMs = cfg.refresh_interval ?? DEFAULT_FILE_SD_REFRESH_MS;
    if (!(this.intervalMs > 0)) throw new Error(`file_sd: refresh_interval must be positive, got ${this.intervalMs}ms`);
    this.logger = opts.logger.with({ discovery: "file" });
    this.metrics = fileSDMetrics(opts.registry);
  }

  /** See {@link Discoverer.run}. */
  async run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    let changed = false;
    let wake: (() => void) | undefined;
    const onChange = () => {
      changed = true;
      wake?.();
    };
    const watchers = this.watchDirectories(onChange);
    try {
      while (!signal.aborted) {
        changed = false;
        const groups = await this.refresh();
        if (signal.aborted) break;
        if (groups.length > 0) update(groups);
        if (changed) continue;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, this.intervalMs);
          signal.addEventListener("abort", done, { once: true });
          wake = done;
        });
      }
    } finally {
      for (const w of watchers) w.close();
    }
  }

  private watchDirectories(onChange: () => void): FSWatcher[] {
    const dirs = new Set(this.patterns.map((p) => dirname(p)));
    const watchers: FSWatcher[] = [];
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => onChange());
        w.on("error", (err) => {
          this.metrics.watcherErrors.inc();
          this.logger.error("Error watching directory", { dir, err });
        });
        watchers.push(w);
      } catch (err) {
        this.metrics.watcherErrors.inc();
        this.logger.error("Error adding file watch", { path: dir, err });
      }
    }
    return watchers;
  }

  /** Reads every matching file once; returns the groups to report. */
  async refresh(): Promise<TargetGroup[]> {
    const start = performance.now();
    const counts = new Map<string, number>();
    const groups: TargetGroup[] = [];
    for (const pattern of this.patterns) {
      for (const path of expandGlob(pattern)) {
        if (counts.has(path)) continue;
        try {
          const { mtimeMs } = await stat(path);
          const fileGroups = parseTargetGroupFile(path, await readFile(path, "utf8"));
          counts.set(path, fileGroups.length);
          this.metrics.mtime.get([path]).set(mtimeMs / 1000);
          groups.push(...fileGroups);
        } catch (err) {
          if ((err as { code?: string }).code === "ENOENT") continue; // removed since the glob: its groups go
          this.metrics.readErrors.inc();
          this.logger.error("Error reading file", { path, err });
          const previous = this.lastCounts.get(path);
          if (previous !== undefined) counts.set(path, previous);
        }
      }
    }
    for (const [path, previous] of this.lastCounts) {
      if (!counts.has(path)) this.metrics.mtime.remove([path]);
      for (let i = counts.get(path) ?? 0; i < previous; i++) groups.push({ source: `${path}:${i}`, targets: [], labels: [] });
    }
    this.lastCounts = counts;
    this.metrics.scanDuration.observe((performance.now() - start) / 1000);
    return groups;
  }
}
