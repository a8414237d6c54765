/**
 * Interop: promts's RuleManager and Notifier send alerts to a real
 * Alertmanager (0.25, API v2), which must then list the alert with the
 * rule's labels, the external labels and the expanded annotations, and drop
 * it from its active alerts once promts sends it as resolved.
 *
 * Without prometheus-alertmanager on PATH the test passes with a loud
 * SKIPPED message, unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { Notifier } from "../../src/notifier/index.ts";
import { Engine } from "../../src/promql/index.ts";
import { RuleManager } from "../../src/rules/index.ts";
import { openDB, type DB } from "../../src/tsdb/index.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, waitUntil } from "../support/processes.ts";

const amBin = Bun.which("prometheus-alertmanager") ?? Bun.which("alertmanager");

function available(): boolean {
  return peerAvailable(amBin, "alertmanager", "prometheus-alertmanager not installed (notifier-to-alertmanager interop)");
}

interface AMAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

let dir = "";
let am: { proc: ReturnType<typeof Bun.spawn>; url: string } | undefined;
let db: DB | undefined;

beforeAll(async () => {
  if (!available()) return;
  dir = mkdtempSync(join(tmpdir(), "promts-am-interop-"));
  writeFileSync(join(dir, "alertmanager.yml"), "route:\n  receiver: blackhole\nreceivers:\n- name: blackhole\n");
  const port = freePort();
  const proc = Bun.spawn(
    [amBin!, `--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "am-data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
    { stdout: "ignore", stderr: "ignore" },
  );
  am = { proc, url: `http://127.0.0.1:${port}` };
  await waitUntil("alertmanager ready", async () => ((await fetch(`${am!.url}/-/ready`)).ok ? true : undefined));
  db = await openDB({ dir: join(dir, "data"), compactionIntervalMs: 0 });
}, 30_000);

afterAll(async () => {
  am?.proc.kill();
  await am?.proc.exited;
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("alerts from the rule manager reach Alertmanager with labels and annotations, then resolve", async () => {
  if (!am) return;
  const opened = db!;
  const now = Date.now();
  const t0 = now - 30_000;
  const app = opened.appender();
  const ref = app.ref(labelsFromRecord({ __name__: "disk_free_ratio", instance: "db-1:9100", job: "node" }));
  app.appendBatch(new Uint32Array([ref, ref]), new Float64Array([t0, t0 + 20_000]), new Float64Array([0.05, 0.5]), 2);

  const { config } = parseConfig(`
global: {external_labels: {cluster: interop}}
alerting:
  alertmanagers: [{static_configs: [{targets: ["${am.url.slice("http://".length)}"]}]}]
`, "prometheus.yml");
  const notifier = new Notifier({ drainTimeoutMs: 2000 });
  notifier.applyConfig(config.alerting, config.global.external_labels);
  const ruleFile = join(dir, "rules.yml");
  writeFileSync(ruleFile, `groups:
- name: disk
  rules:
  - alert: DiskAlmostFull
    expr: disk_free_ratio < 0.1
    labels: {severity: critical}
    annotations:
      summary: "{{ $labels.instance }} has {{ $value | humanizePercentage }} free"
`);
  let clock = t0;
  const manager = new RuleManager({
    engine: new Engine(),
    queryable: (a, b) => opened.querier(a, b),
    appendable: () => opened.appender(),
    notify: (alerts) => notifier.send(alerts),
    externalURL: "http://promts.example:9090",
    externalLabels: config.global.external_labels,
    now: () => clock,
    manual: true,
  });
  try {
    await manager.update([ruleFile], 10_000);
    clock = t0 + 10_000;
    await manager.evaluate(clock);

    const alerts = await waitUntil("alert in Alertmanager", async () => {
      const list = (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as AMAlert[];
      return list.length > 0 ? list : undefined;
    });
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(a.labels).toEqual({ alertname: "DiskAlmostFull", cluster: "interop", instance: "db-1:9100", job: "node", severity: "critical" });
    expect(a.annotations).toEqual({ summary: "db-1:9100 has 5% free" });
    expect(a.status.state).toBe("active");
    expect(Date.parse(a.startsAt)).toBe(t0 + 10_000);
    expect(Date.parse(a.endsAt)).toBe(t0 + 10_000 + 4 * 60_000);
    expect(a.generatorURL).toBe("http://promts.example:9090/graph?g0.expr=disk_free_ratio+%3C+0.1&g0.tab=1");

    // The condition stops at t0+20s: the alert is sent as resolved and leaves Alertmanager's active list.
    clock = t0 + 20_000;
    await manager.evaluate(clock);
    await waitUntil("alert resolved in Alertmanager", async () => {
      const list = (await (await fetch(`${am!.url}/api/v2/alerts?active=true`)).json()) as AMAlert[];
      return list.length === 0 ? true : undefined;
    });
  } finally {
    await manager.stop();
    await notifier.stop();
  }
}, 30_000);
