/**
 * The Alertmanager's replicated alert state: how big a full state is, how
 * long encoding it (marshal, one synchronous call) and taking it in (merge:
 * decode + validate + the first slice, synchronous; the rest applied in
 * slices of 250 on later event-loop turns) hold the event loop, for 1,000
 * and 10,000 firing alerts.
 *
 *   npx bun bench/alertmanager_gossip.bench.ts [--reps=N]
 *
 * Prints a markdown table and writes bench/results/alertmanager_gossip.json.
 * Real Alertmanager does not replicate alerts, so there is no peer figure to
 * set beside these; the posted-alert API path (`putAlerts`, the same routing
 * and grouping work) is measured alongside as the reference.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "./machine.ts";
import { Alertmanager, encodeAlerts, ManualClock, type Alert } from "../src/alertmanager/index.ts";
import { parseAlertmanagerConfig } from "../src/config/index.ts";
import { labelsFromRecord, Registry } from "../src/model/index.ts";
import { ClusterBus } from "../test/support/cluster_bus.ts";

const reps = Number(process.argv.find((a) => a.startsWith("--reps="))?.slice(7) ?? "5");
const config = parseAlertmanagerConfig("route:\n  receiver: a\n  group_by: [alertname]\nreceivers:\n  - name: a\n", "bench.yml").config;

function alerts(n: number, now: number): Alert[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: labelsFromRecord({ alertname: `Alert${i % 50}`, instance: `host-${i}:9100`, job: "node", severity: "warning" }),
    annotations: labelsFromRecord({ summary: `host-${i} is degraded`, runbook: "https://runbooks.example/node" }),
    startsAt: now, endsAt: now + 300_000, generatorURL: "http://prometheus:9090/graph?g0.expr=up", updatedAt: now, timeout: false,
  }));
}

interface Row {
  alerts: number;
  bytes: number;
  encodeMs: number;
  mergeSyncMs: number;
  mergeTotalMs: number;
  apiPutMs: number;
}

async function measure(n: number): Promise<Row> {
  const enc: number[] = [];
  const sync: number[] = [];
  const total: number[] = [];
  const api: number[] = [];
  let bytes = 0;
  for (let r = 0; r < reps; r++) {
    const clock = new ManualClock(Date.now());
    const list = alerts(n, clock.now());
    let t = performance.now();
    const data = encodeAlerts(list);
    enc.push(performance.now() - t);
    bytes = data.length;
    const bus = new ClusterBus();
    const peer = bus.peer("b");
    const am = new Alertmanager({ config, clock, registry: new Registry(), cluster: peer });
    await peer.join();
    t = performance.now();
    peer.deliver("alerts", data);
    sync.push(performance.now() - t);
    while (am.alerts.size < n) await new Promise((resolve) => setTimeout(resolve, 0));
    total.push(performance.now() - t);
    if (peer.dropped > 0) throw new Error(peer.dropErrors.join("; "));
    await am.stop();
    const plain = new Alertmanager({ config, clock, registry: new Registry() });
    t = performance.now();
    plain.putAlerts(list.map((a) => ({ labels: a.labels, annotations: a.annotations })));
    api.push(performance.now() - t);
    await plain.stop();
  }
  return { alerts: n, bytes, encodeMs: median(enc), mergeSyncMs: median(sync), mergeTotalMs: median(total), apiPutMs: median(api) };
}

const rows: Row[] = [];
for (const n of [1000, 10000]) rows.push(await measure(n));
console.log(`| alerts | full state | marshal (sync) | merge, synchronous part | merge, all slices applied | putAlerts of the same alerts (API path, sync) |`);
console.log(`|---|---|---|---|---|---|`);
for (const r of rows) {
  console.log(`| ${r.alerts} | ${(r.bytes / 1024).toFixed(0)} KiB | ${r.encodeMs.toFixed(1)} ms | ${r.mergeSyncMs.toFixed(1)} ms | ${r.mergeTotalMs.toFixed(1)} ms | ${r.apiPutMs.toFixed(1)} ms |`);
}
console.log(`\nmedians of ${reps} runs`);
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(join(import.meta.dir, "results", "alertmanager_gossip.json"), JSON.stringify({ reps, rows }, null, 2) + "\n");
