/**
 * Interop: the same alerting rule file evaluated by real Prometheus and by
 * promts's RuleManager over the same data must go through the same states at
 * the same evaluations.
 *
 * Both scrape one in-process exporter every 250ms (Prometheus with its own
 * scraper, promts with a small loop in this test). Both evaluate the group
 * every 1s at the same slots: promts computes Prometheus's group offset
 * (XXH64 of the group's file and name), and both load the rule file by the
 * same absolute path. The exporter's value flips halfway between two slots,
 * so both see every change at the same evaluation. Compared: the timestamps
 * of the ALERTS{alertstate="pending"|"firing"} samples (one per evaluation in
 * each state), the alert's activeAt, and the /api/v1/alerts entry while firing.
 *
 * `for` is 30s, as an operator's rule would have; the test takes about 40s.
 *
 * Without prometheus on PATH the test passes with a loud SKIPPED message,
 * unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher } from "../../src/model/index.ts";
import { Engine } from "../../src/promql/index.ts";
import { alertsAPIData, RuleManager, type APIAlert } from "../../src/rules/index.ts";
import { groupEvalTimestamp, groupHash } from "../../src/rules/hash.ts";
import { openDB, type DB } from "../../src/tsdb/index.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, waitUntil } from "../support/processes.ts";

const prometheusBin = Bun.which("prometheus");
const INTERVAL = 1000;
const FOR_SECONDS = 30;
const GROUP = "interop";

function available(): boolean {
  return peerAvailable(prometheusBin, "prometheus", "prometheus not installed (rules-vs-prometheus interop)");
}

let dir = "";
let exporter: ReturnType<typeof Bun.serve> | undefined;
let prom: { proc: ReturnType<typeof Bun.spawn>; url: string } | undefined;
let db: DB | undefined;
let manager: RuleManager | undefined;
let scraping = false;
let stopScraping: (() => Promise<void>) | undefined;
let value = 0;
let ruleFile = "";

beforeAll(async () => {
  if (!available()) return;
  dir = mkdtempSync(join(tmpdir(), "promts-rules-interop-"));
  exporter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(`# TYPE interop_value gauge\ninterop_value{service="api"} ${value}\n`, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  ruleFile = join(dir, "rules.yml");
  writeFileSync(ruleFile, `groups:
- name: ${GROUP}
  rules:
  - alert: InteropHigh
    expr: interop_value > 0
    for: ${FOR_SECONDS}s
    labels:
      severity: "{{ if gt $value 0.5 }}page{{ else }}info{{ end }}"
    annotations:
      summary: "{{ $labels.service }} is at {{ $value }}"
`);
  const port = freePort();
  writeFileSync(join(dir, "prometheus.yml"), `global:
  scrape_interval: 250ms
  scrape_timeout: 200ms
  evaluation_interval: 1s
rule_files: ["${ruleFile}"]
scrape_configs:
- job_name: interop
  static_configs: [{targets: ["127.0.0.1:${exporter.port}"]}]
`);
  mkdirSync(join(dir, "prom-data"));
  const proc = Bun.spawn(
    [prometheusBin!, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdout: "ignore", stderr: "ignore" },
  );
  prom = { proc, url: `http://127.0.0.1:${port}` };
  await waitUntil("prometheus ready", async () => ((await fetch(`${prom!.url}/-/ready`)).ok ? true : undefined));

  db = await openDB({ dir: join(dir, "promts-data"), compactionIntervalMs: 0 });
  const opened = db;
  scraping = true;
  // A scrape every 250 ms, as a scrape loop would; one at a time.
  let inFlight: Promise<void> = Promise.resolve();
  const scrapeOnce = async () => {
    const text = await (await fetch(`http://127.0.0.1:${exporter!.port}/metrics`)).text();
    const v = Number(/interop_value\{service="api"\} (\S+)/.exec(text)![1]);
    const app = opened.appender();
    const ref = app.ref(labelsFromRecord({ __name__: "interop_value", instance: `127.0.0.1:${exporter!.port}`, job: "interop", service: "api" }));
    app.appendBatch(new Uint32Array([ref]), new Float64Array([Date.now()]), new Float64Array([v]), 1);
  };
  const timer = setInterval(() => { if (scraping) inFlight = inFlight.then(scrapeOnce); }, 250);
  stopScraping = async () => {
    clearInterval(timer);
    await inFlight;
  };
  manager = new RuleManager({ engine: new Engine(), queryable: (a, b) => opened.querier(a, b), appendable: () => opened.appender() });
  await manager.update([ruleFile], INTERVAL);
}, 60_000);

/** Waits until promts's group has evaluated `n` more times. */
async function moreEvaluations(n: number): Promise<void> {
  const base = manager!.groups()[0]!.lastEvaluation;
  await waitUntil(`${n} more evaluations`, () => (manager!.groups()[0]!.lastEvaluation >= base + n * INTERVAL ? true : undefined));
}

afterAll(async () => {
  scraping = false;
  await stopScraping?.();
  await manager?.stop();
  prom?.proc.kill();
  await prom?.proc.exited;
  exporter?.stop(true);
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Waits until wall time is halfway between two evaluation slots of the group and returns the next slot. */
async function flipBetweenSlots(to: number): Promise<number> {
  const hash = groupHash(ruleFile, GROUP);
  const slot = groupEvalTimestamp(hash, INTERVAL, Date.now());
  const mid = slot + INTERVAL + INTERVAL / 2;
  await Bun.sleep(mid - Date.now());
  value = to;
  return slot + 2 * INTERVAL;
}

async function prometheusSamples(state: string, at: number): Promise<number[]> {
  const q = encodeURIComponent(`ALERTS{alertstate="${state}"}[60s]`);
  const res = (await (await fetch(`${prom!.url}/api/v1/query?query=${q}&time=${at / 1000}`)).json()) as { data: { result: { values: [number, string][] }[] } };
  return res.data.result.flatMap((s) => s.values.map(([t]) => Math.round(t * 1000)));
}

async function promtsSamples(state: string, at: number): Promise<number[]> {
  const q = db!.querier(at - 60_000, at);
  const series = await q.select([newMatcher("=", "__name__", "ALERTS"), newMatcher("=", "alertstate", state)], at - 60_000, at);
  q.close();
  return series.flatMap((s) => {
    const b = s.samples();
    return Array.from(b.t.subarray(0, b.length)).filter((_, i) => b.v[i] === 1);
  });
}

async function prometheusAlerts(): Promise<APIAlert[]> {
  const res = (await (await fetch(`${prom!.url}/api/v1/alerts`)).json()) as { data: { alerts: APIAlert[] } };
  return res.data.alerts;
}

test("pending, firing and resolution happen at the same evaluations as in Prometheus", async () => {
  if (!prom) return;
  // Both must have evaluated a few times (ALERTS series are written only after the for-state restore).
  await waitUntil("prometheus evaluations", async () => {
    const res = (await (await fetch(`${prom!.url}/api/v1/rules`)).json()) as { data: { groups: { lastEvaluation: string }[] } };
    return res.data.groups[0] && !res.data.groups[0].lastEvaluation.startsWith("0001") ? true : undefined;
  });
  await waitUntil("promts evaluations", () => (manager!.groups()[0]!.lastEvaluation > 0 ? true : undefined));
  await moreEvaluations(3);

  const onSlot = await flipBetweenSlots(1);
  const firingSlot = onSlot + FOR_SECONDS * 1000;
  await waitUntil("firing in both", async () => {
    const theirs = await prometheusAlerts();
    const ours = alertsAPIData(manager!.groups()).alerts;
    return theirs[0]?.state === "firing" && ours[0]?.state === "firing" ? true : undefined;
  }, FOR_SECONDS * 1000 + 20_000);
  const theirs = (await prometheusAlerts())[0]!;
  const ours = alertsAPIData(manager!.groups()).alerts[0]!;
  expect(ours.labels).toEqual(theirs.labels as Record<string, string>);
  expect(ours.annotations).toEqual(theirs.annotations as Record<string, string>);
  expect(ours.value).toBe(theirs.value);
  // Prometheus prints nanoseconds; promts evaluates at whole milliseconds.
  expect(Date.parse(ours.activeAt)).toBe(Math.floor(Date.parse(theirs.activeAt)));
  expect(Date.parse(ours.activeAt)).toBe(onSlot);

  await moreEvaluations(2);
  const offSlot = await flipBetweenSlots(0);
  await waitUntil("resolved in both", async () => {
    const theirs = await prometheusAlerts();
    const ours = alertsAPIData(manager!.groups()).alerts;
    return theirs.length === 0 && ours.length === 0 ? true : undefined;
  });

  const at = Date.now();
  const [promPending, promFiring] = [await prometheusSamples("pending", at), await prometheusSamples("firing", at)];
  const [ourPending, ourFiring] = [await promtsSamples("pending", at), await promtsSamples("firing", at)];
  const expectedPending = Array.from({ length: FOR_SECONDS }, (_, i) => onSlot + i * INTERVAL);
  expect(promPending).toEqual(expectedPending);
  expect(ourPending).toEqual(expectedPending);
  expect(promFiring[0]).toBe(firingSlot);
  expect(ourFiring).toEqual(promFiring);
  expect(ourFiring[ourFiring.length - 1]).toBe(offSlot - INTERVAL);
}, FOR_SECONDS * 1000 + 60_000);
