/** Describes the machine a benchmark ran on, for the results table header. */
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
