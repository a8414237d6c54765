/**
 * promts's own process and build metrics, with the names client_golang's
 * process collector and Prometheus use, so existing dashboards and alerts on
 * `process_*` and `prometheus_build_info` work unchanged.
 *
 * On Linux the values come from /proc/self (like client_golang); elsewhere
 * they fall back to what the runtime reports, and the fd metrics are absent.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Registry } from "../model/index.ts";

/** /proc reports CPU times and start time in USER_HZ ticks, 100 on every Linux ABI. */
const USER_HZ = 100;

/** Process times and sizes read from /proc/self/stat; undefined where /proc is missing. */
export interface ProcStat {
  cpuSeconds: number;
  virtualMemoryBytes: number;
  /** Start time in seconds since boot. */
  startSecondsSinceBoot: number;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from its last ')'.
 *
 * @throws Error naming the file when the text is not in that format.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  const fields = close < 0 ? [] : text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); utime is field 14, stime 15, starttime 22, vsize 23.
  if (fields.length < 21) throw new Error(`/proc/self/stat: expected at least 23 fields, got ${fields.length + (close < 0 ? 0 : 2)}`);
  const num = (i: number): number => {
    const n = Number(fields[i]);
    if (!Number.isFinite(n)) throw new Error(`/proc/self/stat: field ${i + 3} is not a number: '${fields[i]}'`);
    return n;
  };
  return {
    cpuSeconds: (num(11) + num(12)) / USER_HZ,
    virtualMemoryBytes: num(20),
    startSecondsSinceBoot: num(19) / USER_HZ,
  };
}

/** The soft "Max open files" limit from the text of /proc/<pid>/limits; Infinity for "unlimited". */
export function parseMaxOpenFiles(text: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  if (soft === "unlimited") return Infinity;
  const n = Number(soft);
  return Number.isFinite(n) ? n : undefined;
}

/** The "VmRSS:  1234 kB" value of /proc/<pid>/status, in bytes. */
export function parseResidentBytes(statusText: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function bootTimeSeconds(): number | undefined {
  const m = /^btime\s+(\d+)/m.exec(readText("/proc/stat") ?? "");
  return m ? Number(m[1]) : undefined;
}

/**
 * Registers process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds and, where
 * /proc/self/fd exists, process_open_fds and process_max_fds.
 */
export function registerProcessMetrics(registry: Registry): void {
  const hasProc = readText("/proc/self/stat") !== undefined;
  const stat = (): ProcStat | undefined => {
    const text = readText("/proc/self/stat");
    return text === undefined ? undefined : parseProcStat(text);
  };
  const bootTime = bootTimeSeconds();
  const procStart = stat()?.startSecondsSinceBoot;
  const startTime = bootTime !== undefined && procStart !== undefined
    ? bootTime + procStart
    : Date.now() / 1000 - process.uptime();

  registry.gaugeFunc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", () => {
    const s = stat();
    if (s) return s.cpuSeconds;
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }, "counter");
  registry.gaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.", () =>
    parseResidentBytes(readText("/proc/self/status") ?? "") ?? process.memoryUsage().rss);
  registry.gaugeFunc("process_virtual_memory_bytes", "Virtual memory size in bytes.", () =>
    stat()?.virtualMemoryBytes ?? process.memoryUsage().rss);
  registry.gaugeFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", () => startTime);
  if (!hasProc) return;
  registry.gaugeFunc("process_open_fds", "Number of open file descriptors.", () => {
    try {
      return readdirSync("/proc/self/fd").length;
    } catch {
      return NaN;
    }
  });
  registry.gaugeFunc("process_max_fds", "Maximum number of open file descriptors.", () =>
    parseMaxOpenFiles(readText("/proc/self/limits") ?? "") ?? NaN);
}

/** The label values of prometheus_build_info. */
export interface BuildLabels {
  version: string;
  revision: string;
  branch: string;
  /** Prometheus puts the Go version here; promts puts "bun<version>". */
  goversion: string;
  goos: string;
  goarch: string;
  tags: string;
}

/** Registers prometheus_build_info: constant 1, labelled by what built this binary. */
export function registerBuildInfo(registry: Registry, labels: BuildLabels): void {
  const names = ["branch", "goarch", "goos", "goversion", "revision", "tags", "version"] as const;
  registry
    .gaugeVec(
      "prometheus_build_info",
      "A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built, and the goos and goarch for the build.",
      names,
    )
    .get(names.map((n) => labels[n]))
    .set(1);
}
