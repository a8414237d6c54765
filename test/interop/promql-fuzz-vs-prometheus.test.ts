/**
 * Generative differential testing of PromQL: the interop dataset
 * (fixtures/promql/dataset.ts) is backfilled into real Prometheus 2.42 with
 * promtool and into promts, then PROMQL_FUZZ_N (default 400) queries from the
 * seeded generator (fixtures/promql-fuzz/generator.ts, seed
 * PROMQL_FUZZ_SEED, default 1, nesting depth PROMQL_FUZZ_DEPTH, default 4)
 * run through both HTTP APIs as instant queries
 * at several times and as one range query. Answers must agree: status and
 * errorType, result type, series, timestamps and values (relative 1e-6, NaN
 * equals NaN; order only for a top-level sort/sort_desc instant query).
 * The generator leaves out the known 2.42-vs-3 differences (see its header).
 * Without prometheus/promtool the tests pass with a loud SKIPPED message,
 * unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { findPrometheus } from "./fixtures/promql/prometheus.ts";
import { startDatasetPair, type DatasetPair } from "./fixtures/promql/pair.ts";
import { CANCELLATION_NOISE, compareAnswers } from "./fixtures/promql/compare.ts";
import { generateQueries } from "./fixtures/promql-fuzz/generator.ts";
import { peerAvailable, peersRequired } from "../support/peers.ts";

const START = 1_700_000_000;
const DATA_SECONDS = 7200;
// Never multiples of the subquery steps (30s, 1m, 2m) in absolute time, so no subquery step lands on a window boundary.
const INSTANT_TIMES = [START + 1007, START + 3613, START + 7190];
// Starts 1207 s in, so the generator's counter windows (≤ 10m) never reach before the data (see the generator's header).
const RANGE = { start: START + 1207, end: START + 7200, step: 60 };

const count = Number(process.env.PROMQL_FUZZ_N ?? 400);
const seed = Number(process.env.PROMQL_FUZZ_SEED ?? 1);
const depth = Number(process.env.PROMQL_FUZZ_DEPTH ?? 4);
const queries = generateQueries(seed, count, depth);
const peers = findPrometheus();

function available(): boolean {
  return peerAvailable(peers, "prometheus/promtool");
}

if (!peers && !peersRequired()) console.warn("\n*** SKIPPED: prometheus not installed (promql-fuzz-vs-prometheus interop) ***\n");

let pair: DatasetPair | undefined;

beforeAll(async () => {
  if (!available()) return;
  pair = await startDatasetPair(peers!, "promts-promql-fuzz-", { start: START, seconds: DATA_SECONDS, interval: 15 });
}, 120_000);

afterAll(async () => {
  await pair?.stop();
});

function params(p: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(p).map(([k, v]) => [k, String(v)])).toString();
}

let answersWithData = 0;
let successfulAnswers = 0;

describe(`generated PromQL (seed ${seed}) agrees with Prometheus 2.42`, () => {
  test("the generator is deterministic and varied", () => {
    const first = generateQueries(seed, 50, depth);
    expect(generateQueries(seed, 50, depth)).toEqual(first);
    expect(generateQueries(seed + 1, 50, depth)).not.toEqual(first);
    expect(new Set(generateQueries(seed, 200, depth)).size).toBeGreaterThan(180);
  });

  for (const [index, query] of queries.entries()) {
    test(`#${index} ${query}`, async () => {
      if (!available()) return;
      const ordered = /^sort(_desc)?\(/.test(query);
      const problems: string[] = [];
      const paths = [
        ...INSTANT_TIMES.map((time) => ({ what: `instant @${time}`, path: `/query?${params({ query, time })}`, ordered })),
        { what: "range", path: `/query_range?${params({ query, ...RANGE })}`, ordered: false },
      ];
      for (const { what, path, ordered: inOrder } of paths) {
        const [ours, theirs] = await Promise.all([pair!.askPromts(path), pair!.askPrometheus(path)]);
        if (theirs.status === "success") successfulAnswers++;
        if (Array.isArray(theirs.data?.result) && theirs.data.result.length > 0) answersWithData++;
        for (const p of compareAnswers(ours, theirs, { order: inOrder ? "values" : "none", noiseFloor: CANCELLATION_NOISE })) problems.push(`${what}: ${p}`);
      }
      expect(problems.slice(0, 6)).toEqual([]);
    });
  }

  test("the comparison is not vacuous: most answers succeed and many carry data", () => {
    if (!available() || queries.length < 50) return;
    const answers = queries.length * (INSTANT_TIMES.length + 1);
    console.log(`promql fuzz: ${queries.length} queries, ${answers} answers compared, ${successfulAnswers} successful, ${answersWithData} with data`);
    expect(successfulAnswers).toBeGreaterThan(answers * 0.6);
    expect(answersWithData).toBeGreaterThan(answers * 0.3);
  });
});
