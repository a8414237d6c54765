/**
 * RE2 interop: the same label values (newlines, Unicode, case variants, the
 * issue's `a…a!` values) are backfilled into real Prometheus 2.42 (promtool)
 * and into dist/promts (createBlocksFromOpenMetrics); then `=~`/`!~`
 * selectors and label_replace with many RE2 patterns — Go's `.` without
 * `(?s)`, case folding, Unicode classes, the catastrophic ones — must select
 * the same values on both, and refused patterns must fail with the same
 * message. Without prometheus/promtool the test passes with a loud SKIPPED
 * message, unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBlocksFromOpenMetrics } from "../../src/tsdb/index.ts";
import { PROMTS_BINARY, freePort, spawnChild, waitForOK, type Child } from "../support/processes.ts";
import { peerAvailable } from "../support/peers.ts";
import { findPrometheus, promtoolBackfill, startPrometheus, type PrometheusProcess } from "./fixtures/promql/prometheus.ts";

const T = 1_700_000_000;
const VALUES = [
  "foo", "bar", "FOO", "Foo", "foobar", "xfoox", "a\nb", "\n", "foo\n", "x\nfoo", "prefix-1", "prefix", "1-suffix", "123", "12a", "é", "αβγ",
  "\u212a", "K", "k", "ſ", "S", "😀", "a😀b", "A_1", "host-1.example.com:9100", "a b", "tab\there", "a.b", "a*b",
  ...Array.from({ length: 12 }, (_, i) => "a".repeat(26 + 3 * i) + "!"), "a".repeat(40),
];
const PATTERNS = [
  ".*", ".+", "a.b", "(?s)a.b", "(?s).*", "foo|bar", ".*foo.*", "(?s).*foo.*", "prefix.*", ".*suffix", "(?i)foo", "(?i)k", "(?i)s", "\\pL+", "\\p{Greek}+",
  "\\PL+", "[[:alpha:]]+", "[[:^digit:]]+", "\\d+", "\\w+", "\\s", "[^a]", "(.*):(.*)", "x*", "a{2,3}", "\\bfoo\\b", "(?U)a+", "^foo$", "(?m)^foo$",
  "foo$|bar", "\\Qa.b", "a\\.b", "a\\*b", "\\x{212A}", "😀", ".", "..", "(a+)+", "(a|a?)+", "(a+)+|a+!", "(.*a){12}", "a+!", "(?i)FOO|bar",
  "[a\\n]+", "\\Aa\\z", "[[:space:]]", "(?i)\\w+", "f)|(o", "\\Qa.b\\E", "(?i)\\Qfoo",
];
const REFUSED = ["((a{1000}){1000}){1000}", "(a{2}){501}", "a{1001}", "a(?=b)", "\\C", "(a", "a**", "\\8", "[z-a]", "\\p{Foo}", "\\", "\\Qa.b", "[a", "a)", "(?z)"];

function escapeOM(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

let dir = "";
let prometheus: PrometheusProcess | undefined;
let promts: { child: Child; url: string } | undefined;
const ready = findPrometheus();

beforeAll(async () => {
  if (!peerAvailable(ready, "prometheus", "prometheus/promtool not installed: RE2 interop not compared")) return;
  dir = mkdtempSync(join(tmpdir(), "promts-regex-interop-"));
  const file = join(dir, "data.om");
  const lines = ["# TYPE rx gauge", ...VALUES.map((v, i) => `rx{v="${escapeOM(v)}"} ${i} ${T}`), "# EOF", ""];
  writeFileSync(file, lines.join("\n"));
  mkdirSync(join(dir, "prometheus"));
  promtoolBackfill(ready.promtool, file, join(dir, "prometheus"));
  prometheus = await startPrometheus(ready.prometheus, join(dir, "prometheus"), dir);
  await createBlocksFromOpenMetrics(file, join(dir, "promts"));
  const config = join(dir, "promts.yml");
  writeFileSync(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
  const port = freePort();
  const child = spawnChild("promts", [PROMTS_BINARY, `--config.file=${config}`, `--storage.tsdb.path=${join(dir, "promts")}`, "--storage.tsdb.retention.time=100y", `--web.listen-address=127.0.0.1:${port}`]);
  promts = { child, url: `http://127.0.0.1:${port}` };
  await waitForOK(`${promts.url}/-/ready`, child, 60_000);
}, 120_000);

afterAll(async () => {
  await promts?.child.stop();
  await prometheus?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: string;
  error?: string;
  values?: string[];
}

async function ask(url: string, query: string): Promise<Answer> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${T + 10}`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string> }[] } };
  if (body.status !== "success") return { status: body.status, error: body.error };
  return { status: body.status, values: body.data!.result.map((s) => `${s.metric.v}=>${s.metric.out ?? ""}`).sort() };
}

/** A PromQL string literal for `s` (Go-style double-quoted). */
function lit(s: string): string {
  return JSON.stringify(s);
}

describe("RE2 answers equal Prometheus 2.42's", () => {
  for (const p of PATTERNS) {
    test(`=~ and !~ ${p}`, async () => {
      if (!promts || !prometheus) return;
      for (const q of [`rx{v=~${lit(p)}}`, `rx{v!~${lit(p)}}`, `label_replace(rx, "out", "[$1]", "v", ${lit(`(${p})`)})`]) {
        const [ours, theirs] = await Promise.all([ask(promts.url, q), ask(prometheus.url, q)]);
        expect({ q, ...ours }).toEqual({ q, ...theirs });
      }
    });
  }
  test("refused patterns give Go's messages", async () => {
    if (!promts || !prometheus) return;
    for (const p of REFUSED) {
      const q = `rx{v=~${lit(p)}}`;
      const [ours, theirs] = await Promise.all([ask(promts.url, q), ask(prometheus.url, q)]);
      expect({ q, status: ours.status, error: ours.error }).toEqual({ q, status: "error", error: theirs.error });
    }
  });
});
