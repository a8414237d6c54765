/**
 * The cluster's metrics against the real Alertmanager 0.25's: two real
 * Alertmanagers clustered on 127.0.0.1 and two promts cluster peers, and
 * the families under alertmanager_cluster_*, alertmanager_peer_* and
 * alertmanager_oversize* must have the same names, types, help texts and
 * label names. `alertmanager_cluster_enabled` is the Alertmanager role's
 * (it exists without a cluster), not the cluster room's.
 *
 * Without the Alertmanager binary the test passes with a loud SKIPPED
 * message, unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pollUntil } from "../support/wait.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, stopAll, waitForOK, waitUntil } from "../support/processes.ts";
import { aliveNames, startNode, stopAll as stopNodes } from "../cluster/helpers.ts";

const ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager";
const dir = mkdtempSync(join(tmpdir(), "promts-cluster-metrics-"));

afterAll(async () => {
  await stopAll();
  await stopNodes();
  rmSync(dir, { recursive: true, force: true });
});

interface Family {
  type: string;
  help: string;
  labels: string[];
}

function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const relevant = (n: string) => /^alertmanager_(cluster_|peer_|oversize)/.test(n) && n !== "alertmanager_cluster_enabled";
  for (const line of text.split("\n")) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m && relevant(m[1]!)) out.set(m[1]!, { ...(out.get(m[1]!) ?? { type: "", labels: [] }), help: m[2]! });
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m && relevant(m[1]!)) out.set(m[1]!, { ...(out.get(m[1]!) ?? { help: "", labels: [] }), type: m[2]! });
  }
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}/.exec(line);
    if (!m) continue;
    const name = m[1]!.replace(/_(bucket|sum|count)$/, "");
    const f = out.get(name) ?? out.get(m[1]!);
    if (!f) continue;
    for (const l of m[2]!.matchAll(/(\w+)="/g)) if (l[1] !== "le" && !f.labels.includes(l[1]!)) f.labels.push(l[1]!);
  }
  for (const f of out.values()) f.labels.sort();
  return out;
}

describe("cluster metrics vs Alertmanager 0.25", () => {
  test("same families, types, help texts and label names", async () => {
    if (!peerAvailable(existsSync(ALERTMANAGER_BINARY), ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} not installed (apt-get install prometheus-alertmanager)`)) return;
    const cfg = join(dir, "am.yml");
    writeFileSync(cfg, "route:\n  receiver: r\nreceivers:\n- name: r\n");
    const [web1, web2, c1, c2] = [freePort(), freePort(), freePort(), freePort()];
    const am = (i: number, web: number, cl: number, peer: number) => spawnChild(`alertmanager-${i}`, [
      ALERTMANAGER_BINARY, `--config.file=${cfg}`, `--storage.path=${join(dir, `data${i}`)}`, `--web.listen-address=127.0.0.1:${web}`,
      `--cluster.listen-address=127.0.0.1:${cl}`, `--cluster.peer=127.0.0.1:${peer}`, "--cluster.gossip-interval=50ms", "--cluster.probe-interval=200ms",
    ]);
    const a1 = am(1, web1, c1, c2);
    const a2 = am(2, web2, c2, c1);
    await waitForOK(`http://127.0.0.1:${web1}/-/ready`, a1);
    await waitForOK(`http://127.0.0.1:${web2}/-/ready`, a2);
    const realText = await waitUntil("the real cluster to have pinged", async () => {
      const t = await (await fetch(`http://127.0.0.1:${web1}/metrics`)).text();
      return /alertmanager_cluster_members 2/.test(t) && /alertmanager_cluster_pings_seconds_count/.test(t) && t;
    }, 30_000, [a1, a2]);

    const p = await startNode({ peerName: "p" });
    const q = await startNode({ peerName: "q", peers: [p.peer.address] });
    await pollUntil("a promts pair", () => aliveNames(p).length === 2 && aliveNames(q).length === 2);
    q.add("x".repeat(3000)); // an oversized message, so those families have a series
    const ours = await pollUntil("promts to have pinged", () => {
      const t = q.registry.render();
      return /alertmanager_cluster_pings_seconds_count/.test(t) && /alertmanager_oversize_gossip_message_duration_seconds_count/.test(t) && t;
    });
    const real = families(realText);
    const mine = families(ours);
    expect(real.size).toBeGreaterThan(15);
    expect([...mine.keys()].sort()).toEqual([...real.keys()].sort());
    for (const [name, f] of real) expect({ name, ...mine.get(name) }).toEqual({ name, ...f });
  }, 60_000);
});
