/**
 * A POST of 100k alerts (13 MB) to the Alertmanager API, promts beside the
 * real Alertmanager 0.25 on the same body: how long the POST takes and how
 * long /-/healthy waits meanwhile (polled every 20 ms from its own process,
 * bench/healthy_probe.ts). Each run starts a fresh process; medians over
 * the runs.
 *
 *   npx bun bench/alert_post.bench.ts [--runs=3] [--alerts=100000]
 *
 * promts runs as dist/promts when built, else from source. The real
 * Alertmanager is skipped with a note when not installed. Writes
 * bench/results/alert_post.json.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/processes.ts";
import { pollUntil } from "../test/support/wait.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const RUNS = arg("runs", 3);
const ALERTS = arg("alerts", 100_000);
const root = join(import.meta.dir, "..");
const AM_BINARY = "/usr/bin/prometheus-alertmanager";
const PROMTS = existsSync(join(root, "dist/promts")) ? [join(root, "dist/promts")] : [process.execPath, join(root, "src/cli/main.ts")];
const dir = mkdtempSync(join(tmpdir(), "promts-bench-alert-post-"));
writeFileSync(join(dir, "am.yml"), 'route:\n  receiver: "null"\n  group_by: [alertname]\nreceivers:\n  - name: "null"\n');

const body = JSON.stringify(Array.from({ length: ALERTS }, (_, i) => ({
  labels: { alertname: "Big", instance: `host-${i}`, job: "node", severity: i % 3 ? "warning" : "critical" },
  annotations: { summary: `alert ${i}` },
})));

interface Run {
  postMs: number;
  maxHealthyMs: number;
  probes: number;
}

async function once(cmd: string[], run: number): Promise<Run> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn([...cmd, "--config.file=" + join(dir, "am.yml"), `--storage.path=${join(dir, `data-${run}-${port}`)}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="], { stdout: "ignore", stderr: "ignore" });
  try {
    await pollUntil("the Alertmanager to be ready", async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok, { deadlineMs: 30_000, intervalMs: 50 });
    const probe = Bun.spawn([process.execPath, join(import.meta.dir, "healthy_probe.ts"), url], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    await Bun.sleep(200); // the probe's first requests before the POST
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v2/alerts`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    await res.arrayBuffer();
    const postMs = performance.now() - t0;
    if (res.status !== 200) throw new Error(`POST answered ${res.status}`);
    probe.stdin.end();
    const latencies = JSON.parse(await new Response(probe.stdout).text()) as (number | null)[];
    const ms = latencies.map((l) => l ?? Infinity);
    return { postMs, maxHealthyMs: Math.max(...ms), probes: ms.length };
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const results: Record<string, { runs: Run[]; medianPostMs: number; medianMaxHealthyMs: number }> = {};
const sides: [string, string[]][] = [["promts", [...PROMTS, "alertmanager"]]];
if (existsSync(AM_BINARY)) sides.push(["alertmanager-0.25", [AM_BINARY]]);
else console.log(`note: ${AM_BINARY} not installed; promts only`);
try {
  for (const [name, cmd] of sides) {
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await once(cmd, r));
    results[name] = { runs, medianPostMs: median(runs.map((r) => r.postMs)), medianMaxHealthyMs: median(runs.map((r) => r.maxHealthyMs)) };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`POST of ${ALERTS} alerts (${(body.length / 1e6).toFixed(1)} MB), ${RUNS} runs, medians:\n`);
console.log("| | POST | slowest /-/healthy meanwhile | per run (POST ms / slowest healthy ms) |");
console.log("|---|---|---|---|");
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${r.medianPostMs.toFixed(0)} ms | ${r.medianMaxHealthyMs.toFixed(1)} ms | ${r.runs.map((x) => `${x.postMs.toFixed(0)}/${x.maxHealthyMs.toFixed(0)}`).join(", ")} |`);
}
const am = results["alertmanager-0.25"];
if (am) {
  const p = results.promts!;
  console.log(`\npromts / Alertmanager: POST ${(p.medianPostMs / am.medianPostMs).toFixed(2)}x, slowest /-/healthy ${(p.medianMaxHealthyMs / am.medianMaxHealthyMs).toFixed(2)}x`);
}
writeFileSync(join(import.meta.dir, "results", "alert_post.json"), JSON.stringify({ alerts: ALERTS, bytes: body.length, runs: RUNS, results }, null, 2) + "\n");
