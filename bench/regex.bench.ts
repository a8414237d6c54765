/**
 * Regex benchmark (issue 8): RE2 matcher throughput before/after, the
 * catastrophic patterns, and series selection side by side with Prometheus
 * 2.42 over the same stored label values.
 *
 *   npx bun build.ts && npx bun bench/regex.bench.ts [--values=10000] [--runs=15]
 *
 * 1. In-process: ns per match of each pattern over the same label values,
 *    "before" = the JS RegExp main compiled from the RE2 translation (what
 *    every matcher used), "after" = compileRE2 (fast path / JS RegExp where it
 *    cannot backtrack / re2js), and re2js alone.
 * 2. Catastrophic patterns on 10,000-character inputs (after), and the
 *    backtracking "before" on short inputs (it doubles with each character).
 * 3. Over HTTP: `count(regex_bench{v=~"…"})` on dist/promts and on
 *    prometheus 2.42, both reading the same backfilled values (median of
 *    --runs, alternating), and the issue's `rd_metric{v=~"(a+)+"}` over 40
 *    values of 26–65 `a`s then `!`.
 *
 * Prints markdown and writes bench/results/regex.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileRE2, translateRE2 } from "../src/model/index.ts";
import { createBlocksFromOpenMetrics } from "../src/tsdb/index.ts";
import { findPrometheus, promtoolBackfill, startPrometheus } from "../test/interop/fixtures/promql/prometheus.ts";
import { freePort, PROMTS_BINARY } from "../test/support/processes.ts";
import { machineInfo, median } from "./machine.ts";

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const VALUES = arg("values", 10_000);
const RUNS = arg("runs", 15);

/** Label values shaped like real ones: instances, services, ids, paths, plus the literals the patterns look for. */
function labelValues(n: number): string[] {
  const out = ["foo", "bar", "FOO", "Foo"];
  for (let i = 0; out.length < n; i++) {
    switch (i % 6) {
      case 0: out.push(`prefix-${i}`); break;
      case 1: out.push(`svc-${i}-foo-api`); break;
      case 2: out.push(String(i * 7919)); break;
      case 3: out.push(`host-${i}.example.com:9100`); break;
      case 4: out.push(`/api/v1/items/${i}/details`); break;
      case 5: out.push(`worker_${i}_bar`); break;
    }
  }
  return out;
}

const PATTERNS = ["foo|bar", ".*foo.*", "prefix.*", "(?i)foo", "[0-9]+", "host-[0-9]+\\.example\\.com:9100", "(.*):(.*)", "svc-.*-api|worker_.*"];

interface Throughput {
  pattern: string;
  matches: number;
  engine: string;
  beforeNs: number;
  afterNs: number;
  re2jsNs: number;
}

/**
 * Median ns per test() over `values` for each engine. The engines take turns
 * pass by pass (after a warm-up), so load from other processes on the
 * machine falls on all of them alike.
 */
function nsPerMatch(tests: ((s: string) => boolean)[], values: readonly string[], passes = 15): { ns: number[]; matches: number[] } {
  for (const test of tests) for (let w = 0; w < 3; w++) for (const v of values) test(v);
  const times: number[][] = tests.map(() => []);
  const matches = tests.map(() => 0);
  for (let p = 0; p < passes; p++) {
    tests.forEach((test, i) => {
      let n = 0;
      const t0 = Bun.nanoseconds();
      for (const v of values) if (test(v)) n++;
      times[i]!.push((Bun.nanoseconds() - t0) / values.length);
      matches[i] = n;
    });
  }
  return { ns: times.map(median), matches };
}

function throughput(values: readonly string[]): Throughput[] {
  return PATTERNS.map((pattern) => {
    const before = new RegExp(`^(?:${translateRE2(pattern)})$`, "u");
    const after = compileRE2(pattern);
    const linear = compileRE2(pattern, "re2");
    const { ns, matches } = nsPerMatch([(s) => before.test(s), (s) => after.test(s), (s) => linear.test(s)], values);
    if (new Set(matches).size !== 1) throw new Error(`${pattern}: engines disagree (${matches.join("/")})`);
    return { pattern, matches: matches[0]!, engine: after.engine, beforeNs: ns[0]!, afterNs: ns[1]!, re2jsNs: ns[2]! };
  });
}

interface Catastrophic {
  pattern: string;
  afterMs: number;
  afterAnswer: boolean;
  beforeLen: number;
  beforeMs: number;
  beforeAnswer: boolean;
}

function catastrophic(): Catastrophic[] {
  const rows: Catastrophic[] = [];
  for (const [pattern, beforeLen] of [["(a+)+", 24], ["(a|a?)+", 24], ["(.*a){12}", 40]] as const) {
    const input = "a".repeat(10_000) + "!";
    const re = compileRE2(pattern);
    const times: number[] = [];
    let answer = true;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      answer = re.test(input);
      times.push(performance.now() - t0);
    }
    const before = new RegExp(`^(?:${translateRE2(pattern)})$`, "u");
    const short = "a".repeat(beforeLen) + "!";
    const t0 = performance.now();
    const beforeAnswer = before.test(short);
    rows.push({ pattern, afterMs: median(times), afterAnswer: answer, beforeLen: short.length, beforeMs: performance.now() - t0, beforeAnswer });
  }
  return rows;
}

// --- side by side over HTTP ---------------------------------------------------

const SAMPLE_T = Math.floor(Date.now() / 1000) - 3 * 3600;

function openMetrics(values: readonly string[]): string {
  const lines = ["# TYPE regex_bench gauge"];
  for (const [i, v] of values.entries()) lines.push(`regex_bench{v="${v}"} ${i} ${SAMPLE_T}`);
  lines.push("# TYPE rd_metric gauge");
  for (let k = 26; k <= 65; k++) lines.push(`rd_metric{v="${"a".repeat(k)}!"} ${k} ${SAMPLE_T}`);
  lines.push("# EOF", "");
  return lines.join("\n");
}

async function instant(url: string, query: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${SAMPLE_T + 60}`, { signal: AbortSignal.timeout(120_000) });
  const body = (await res.json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`${url}: ${query}: ${body.error}`);
  return body.data.result[0]?.value[1] ?? "0";
}

async function startPromtsOn(dataDir: string, workDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = join(workDir, "promts.yml");
  writeFileSync(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
  const port = freePort();
  const proc = Bun.spawn([PROMTS_BINARY, `--config.file=${config}`, `--storage.tsdb.path=${dataDir}`, "--storage.tsdb.retention.time=100y", `--web.listen-address=127.0.0.1:${port}`], { stdout: "ignore", stderr: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill();
    await proc.exited;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return { url, stop };
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  await stop();
  throw new Error("dist/promts did not become ready");
}

interface SideBySide {
  query: string;
  count: string;
  promtsMs: number;
  prometheusMs: number | null;
}

async function sideBySide(values: readonly string[]): Promise<SideBySide[] | string> {
  const peers = findPrometheus();
  const dir = mkdtempSync(join(tmpdir(), "promts-bench-regex-"));
  const stops: (() => Promise<void>)[] = [];
  try {
    const file = join(dir, "data.om");
    writeFileSync(file, openMetrics(values));
    await createBlocksFromOpenMetrics(file, join(dir, "promts"));
    const promts = await startPromtsOn(join(dir, "promts"), dir);
    stops.push(promts.stop);
    let prometheusURL: string | null = null;
    if (peers) {
      mkdirSync(join(dir, "prometheus"));
      promtoolBackfill(peers.promtool, file, join(dir, "prometheus"));
      const p = await startPrometheus(peers.prometheus, join(dir, "prometheus"), dir);
      stops.push(p.stop);
      prometheusURL = p.url;
    }
    const queries = [
      'count(regex_bench{v="foo"})',
      ...PATTERNS.map((p) => `count(regex_bench{v=~${JSON.stringify(p)}})`),
      'count(rd_metric{v=~"(a+)+"})',
      'count(rd_metric{v=~"(a+)+|a+!"})',
    ];
    const rows: SideBySide[] = [];
    for (const query of queries) {
      const count = await instant(promts.url, query);
      if (prometheusURL !== null) {
        const theirs = await instant(prometheusURL, query);
        if (theirs !== count) throw new Error(`${query}: promts counts ${count}, Prometheus ${theirs}`);
      }
      const ours: number[] = [], theirs: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        let t0 = performance.now();
        await instant(promts.url, query);
        ours.push(performance.now() - t0);
        if (prometheusURL !== null) {
          t0 = performance.now();
          await instant(prometheusURL, query);
          theirs.push(performance.now() - t0);
        }
      }
      rows.push({ query, count, promtsMs: median(ours), prometheusMs: prometheusURL !== null ? median(theirs) : null });
    }
    return peers ? rows : "SKIPPED side by side: prometheus/promtool not installed";
  } finally {
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const values = labelValues(VALUES);
const tp = throughput(values);
const cat = catastrophic();
const sbs = await sideBySide(values);

const fmt = (ns: number) => ns.toFixed(0);
const out = [
  `### Matcher throughput: ns per match over ${values.length} label values (median of 15 passes, engines taking turns, in-process)`,
  "",
  machineInfo(),
  "",
  "| pattern | matches | after: engine | before (JS RegExp) ns | after ns | re2js alone ns | before/after |",
  "|---|---:|---|---:|---:|---:|---:|",
  ...tp.map((r) => `| \`${r.pattern}\` | ${r.matches} | ${r.engine} | ${fmt(r.beforeNs)} | ${fmt(r.afterNs)} | ${fmt(r.re2jsNs)} | ${(r.beforeNs / r.afterNs).toFixed(2)}× |`),
  "",
  "### Catastrophic patterns",
  "",
  "| pattern | after: 10,001 chars (`a`×10000 + `!`) | answer | before: input length | before ms | before answer |",
  "|---|---:|---|---:|---:|---|",
  ...cat.map((r) => `| \`${r.pattern}\` | ${r.afterMs.toFixed(2)} ms | ${r.afterAnswer} | ${r.beforeLen} | ${r.beforeMs.toFixed(1)} | ${r.beforeAnswer} |`),
  "",
  `### Series selection over HTTP, ${values.length} stored values (median of ${RUNS} runs, alternating)`,
  "",
  ...(typeof sbs === "string"
    ? [sbs]
    : [
      "| query | count | promts ms | Prometheus 2.42 ms | ratio |",
      "|---|---:|---:|---:|---:|",
      ...sbs.map((r) => `| \`${r.query}\` | ${r.count} | ${r.promtsMs.toFixed(2)} | ${r.prometheusMs?.toFixed(2) ?? "-"} | ${r.prometheusMs ? (r.promtsMs / r.prometheusMs).toFixed(2) + "×" : "-"} |`),
    ]),
].join("\n");
console.log(out);
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(join(import.meta.dir, "results", "regex.json"), JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), values: values.length, throughput: tp, catastrophic: cat, sideBySide: sbs }, null, 2) + "\n");
