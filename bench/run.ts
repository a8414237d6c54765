/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process (so one
 * benchmark's heap does not skew the next), one after another, and writes a
 * combined report to bench/results/README.md with the machine it ran on.
 */
import { readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { machineInfo } from "./machine.ts";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

mkdirSync(join(dir, "results"), { recursive: true });
const sections: string[] = [`# Benchmark results\n\n${machineInfo()}\n`];
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}\n`);
  const proc = Bun.spawnSync([process.execPath, join(dir, f)], { stdout: "pipe", stderr: "inherit", cwd: join(dir, "..") });
  const out = proc.stdout.toString();
  process.stdout.write(out);
  if (proc.exitCode !== 0) {
    failed++;
    sections.push(`## ${f}\n\nFAILED (exit ${proc.exitCode})\n`);
  } else {
    sections.push(`## ${f}\n\n${out.trim()}\n`);
  }
}
writeFileSync(join(dir, "results", "README.md"), sections.join("\n"));
console.log(`\nwrote bench/results/README.md (${files.length} benchmarks, ${failed} failed)`);
process.exit(failed ? 1 : 0);
