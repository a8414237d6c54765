/**
 * Cluster benchmark, promts beside the real Alertmanager 0.25, both with
 * Alertmanager's default timings (gossip 200ms, probe 1s / 500ms timeout,
 * push/pull 1m):
 *
 * 1. Three `alertmanager` processes on 127.0.0.1 form a cluster: time from
 *    spawn until all three answer /metrics (process start-up), then until
 *    every node reports `alertmanager_cluster_members 3`.
 * 2. The last node is SIGKILLed: time until the first node reports 2
 *    members (failure detection: probe round + suspicion).
 *
 * Then, promts only (in process, three peers): 3. broadcast propagation
 * latency (one 100-byte delta until all three merged it), and 4. the
 * longest event-loop stall while two peers exchange a full state of 1 and
 * 8 MiB by push/pull (both ends in this process).
 *
 *   npx bun bench/cluster.bench.ts [--runs=3] [--sealed] [--only-in-process]
 *
 * promts runs as dist/promts when built, else from source (`bun
 * src/cli/main.ts alertmanager`). The real
 * Alertmanager is skipped with a note when not installed. Writes
 * bench/results/cluster.json.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterPeer, type Cluster, type ClusterChannel } from "../src/cluster/index.ts";
import { nopLogger } from "../src/log/index.ts";
import { Registry } from "../src/model/index.ts";
import { freePort } from "../test/support/processes.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const RUNS = arg("runs", 3);
const SEALED = process.argv.includes("--sealed");
const root = join(import.meta.dir, "..");
const AM_BINARY = "/usr/bin/prometheus-alertmanager";
/** The compiled binary when built (what ships; its start-up is what an operator sees), else the sources. */
const PROMTS = existsSync(join(root, "dist/promts")) ? [join(root, "dist/promts")] : [process.execPath, join(root, "src/cli/main.ts")];
const dir = mkdtempSync(join(tmpdir(), "promts-bench-cluster-"));
writeFileSync(join(dir, "am.yml"), "route:\n  receiver: r\nreceivers:\n- name: r\n");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function members(web: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
    const m = /^alertmanager_cluster_members (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < deadlineMs) {
    if (await check()) return performance.now() - start;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One run of scenarios 1 and 2 for one implementation; times in ms. */
async function clusterRun(kind: "promts" | "alertmanager", run: number): Promise<{ startMs: number; formMs: number; detectMs: number }> {
  const nodes = [0, 1, 2].map((i) => ({ i, web: freePort(), cluster: freePort() }));
  const procs = nodes.map((n) => {
    const peers = nodes.filter((p) => p !== n).map((p) => `--cluster.peer=127.0.0.1:${p.cluster}`);
    const args = [`--config.file=${join(dir, "am.yml")}`, `--storage.path=${join(dir, `${kind}-${run}-${n.i}`)}`,
      `--web.listen-address=127.0.0.1:${n.web}`, `--cluster.listen-address=127.0.0.1:${n.cluster}`, ...peers];
    const cmd = kind === "promts" ? [...PROMTS, "alertmanager", ...args] : [AM_BINARY, ...args];
    return Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  });
  try {
    const startMs = await until("every node to answer", async () => {
      for (const n of nodes) if ((await members(n.web)) === undefined) return false;
      return true;
    }, 60_000);
    const formMs = await until("three members", async () => {
      for (const n of nodes) if ((await members(n.web)) !== 3) return false;
      return true;
    }, 60_000);
    procs[2]!.kill("SIGKILL");
    const detectMs = await until("two members", async () => (await members(nodes[0]!.web)) === 2, 60_000);
    return { startMs, formMs, detectMs };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  }
}

async function inProcess(): Promise<{ propagationMedianMs: number; propagationP90Ms: number; pushPullStallMs: Record<string, number> }> {
  const peers: Cluster[] = [];
  const channels: ClusterChannel[] = [];
  const seen: Set<string>[] = [];
  const big: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  for (let i = 0; i < 3; i++) {
    const key = SEALED ? new Uint8Array(32).fill(5) : undefined;
    const p = await createClusterPeer({ listenAddress: "127.0.0.1:0", peerName: `n${i}`, peers: peers.map((x) => x.address), key }, nopLogger, new Registry());
    const set = new Set<string>();
    seen.push(set);
    channels.push(p.addState("b", { marshal: () => new Uint8Array(0), merge: (d) => { set.add(new TextDecoder().decode(d)); } }));
    const idx = i;
    p.addState("big", { marshal: () => big[idx]!, merge: () => {} });
    await p.join();
    peers.push(p);
  }
  await until("three members", async () => peers.every((p) => p.members().filter((m) => m.state === "alive").length === 3), 30_000);
  const lat: number[] = [];
  for (let k = 0; k < 30; k++) {
    const id = `m${k}-${"x".repeat(96)}`;
    const t = performance.now();
    channels[0]!.broadcast(new TextEncoder().encode(id));
    await until("propagation", async () => seen[1]!.has(id) && seen[2]!.has(id), 10_000);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const stalls: Record<string, number> = {};
  for (const mib of [1, 8]) {
    big[0] = new Uint8Array(mib << 20).fill(7);
    big[1] = new Uint8Array(mib << 20).fill(9);
    await Bun.sleep(50);
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    await peers[0]!.joinAddresses([peers[1]!.address]);
    await Bun.sleep(20);
    clearInterval(timer);
    stalls[`${mib}MiB`] = Math.round(maxGap * 10) / 10;
    big[0] = big[1] = new Uint8Array(0);
  }
  await Promise.all(peers.map((p) => p.stop()));
  return { propagationMedianMs: Math.round(median(lat)), propagationP90Ms: Math.round(lat[Math.floor(lat.length * 0.9)]!), pushPullStallMs: stalls };
}

const results: Record<string, unknown> = { runs: RUNS };
const lines: string[] = ["| implementation | all 3 processes answer /metrics (median) | then cluster of 3 formed (median) | killed node detected (median) | runs |", "|---|---|---|---|---|"];
for (const kind of process.argv.includes("--only-in-process") ? [] : ["promts", "alertmanager"] as const) {
  if (kind === "alertmanager" && !existsSync(AM_BINARY)) {
    lines.push(`| alertmanager | skipped: ${AM_BINARY} not installed | | | |`);
    continue;
  }
  const start: number[] = [];
  const form: number[] = [];
  const detect: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { startMs, formMs, detectMs } = await clusterRun(kind, r);
    start.push(startMs);
    form.push(formMs);
    detect.push(detectMs);
  }
  results[kind] = { command: kind === "promts" ? (PROMTS.length === 1 ? "dist/promts" : "bun src/cli/main.ts") : AM_BINARY, startMs: start.map(Math.round), formMs: form.map(Math.round), detectMs: detect.map(Math.round) };
  lines.push(`| ${kind} | ${(median(start) / 1000).toFixed(2)} s | ${(median(form) / 1000).toFixed(2)} s | ${(median(detect) / 1000).toFixed(2)} s | ${RUNS} |`);
}
const inproc = await inProcess();
results.inProcess = inproc;
rmSync(dir, { recursive: true, force: true });
lines.push("", `promts in process, 3 peers, gossip 200 ms: broadcast reaches both others in ${inproc.propagationMedianMs} ms median, ${inproc.propagationP90Ms} ms p90 (30 broadcasts).`);
lines.push(`Longest event-loop stall during one push/pull${SEALED ? " (AES-256-GCM sealed)" : ""} (both ends in one process): ${Object.entries(inproc.pushPullStallMs).map(([k, v]) => `${k} state ${v} ms`).join(", ")}.`);
writeFileSync(join(import.meta.dir, "results", "cluster.json"), JSON.stringify(results, null, 2) + "\n");
console.log(lines.join("\n"));
