/** Describes the machine a benchmark ran on, for the results table header. */
import { readFileSync } from "node:fs";
import { cpus, totalmem, platform, arch } from "node:os";

export function machineInfo(): string {
  const c = cpus();
  return [
    `- date: ${new Date().toISOString()}`,
    `- cpu: ${c[0]?.model ?? "unknown"} × ${c.length}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- platform: ${platform()}/${arch()}, bun ${Bun.version}`,
  ].join("\n");
}

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat, in `clockTicks` per second (100 on Linux). */
export function cpuSeconds(pid: number, clockTicks = 100): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ", field 3 (state) is index 0, so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
