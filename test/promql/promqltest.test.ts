/**
 * Prometheus's PromQL conformance scripts, run against the engine: one
 * test() per `*.test` file in ../shared/promqltest (or $PROMQLTEST_DIR).
 * Every float eval must pass; native-histogram evals are counted and listed
 * as skipped.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { runScript } from "./promqltest_runner.ts";
import { parseScript } from "./promqltest_script.ts";
import { newScriptBackend } from "./promqltest_backend.ts";

const repoRoot = path.resolve(import.meta.dir, "../..");
const scriptDir = process.env.PROMQLTEST_DIR ?? path.resolve(repoRoot, "../shared/promqltest");
const files = readdirSync(scriptDir)
  .filter((f) => f.endsWith(".test"))
  .sort();

test("conformance scripts are present", () => {
  expect(files.length).toBeGreaterThan(0);
});

for (const file of files) {
  test(`promqltest ${file}`, async () => {
    const cmds = parseScript(readFileSync(path.join(scriptDir, file), "utf8"), file);
    const backend = await newScriptBackend();
    try {
      const report = await runScript(cmds, file, backend);
      console.log(
        `promqltest ${file}: passed ${report.passed}, failed ${report.failed.length}, skipped (native histograms) ${report.nativeHistogramSkipped.length}`,
      );
      if (process.env.PROMQLTEST_VERBOSE) for (const s of report.nativeHistogramSkipped) console.log(`  skipped: ${s}`);
      for (const f of report.failed) console.log(`  FAIL ${f}`);
      expect(report.failed.length).toBe(0);
    } finally {
      await backend.close?.();
    }
  });
}
