/**
 * Dashboards replicated over the cluster contract: two stores joined by a
 * pair of channels (broadcast → the other's merge; full state by
 * marshal/merge, as a push/pull does). Saves and deletions travel, the
 * newest change wins, a node that was away catches up (deletions too), and
 * a bad message changes nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterState } from "../../src/cluster/index.ts";
import { DashboardStore, replicateDashboards } from "../../src/ui/index.ts";
import { linkedNodes, type LinkedNode } from "../support/linked_states.ts";

const root = mkdtempSync(join(tmpdir(), "promts-dash-repl-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Node extends LinkedNode {
  store: DashboardStore;
  state: ClusterState;
}

/** Two replicated stores; `a.connected = false` cuts a off (a partition). */
function pair(): [Node, Node] {
  return linkedNodes(2).map((l) => {
    const store = new DashboardStore(join(root, `n${n++}`));
    replicateDashboards(store, l.cluster);
    return Object.assign(l, { store, state: l.states.get("dashboards")! });
  }) as [Node, Node];
}

const panel = (expr: string) => ({ title: expr, expr, type: "graph", gridPos: { x: 0, y: 0, w: 12, h: 8 } });

describe("dashboard replication", () => {
  test("a save and a deletion on one node reach the other", () => {
    const [a, b] = pair();
    a.store.put("ops", { title: "Ops", panels: [panel("up")] });
    expect(b.store.get("ops")?.panels.map((p) => p.expr)).toEqual(["up"]);
    expect(b.store.get("ops")?.updated).toBe(a.store.get("ops")?.updated);
    a.store.delete("ops");
    expect(b.store.get("ops")).toBeUndefined();
    expect(b.store.list()).toEqual([]);
  });

  test("the newest save wins in both orders of arrival", () => {
    const [a, b] = pair();
    a.connected = false;
    b.connected = false;
    a.store.put("x", { panels: [panel("old")] }, new Date(1_000_000));
    b.store.put("x", { panels: [panel("new")] }, new Date(2_000_000));
    a.state.merge(b.state.marshal());
    b.state.merge(a.state.marshal());
    expect(a.store.get("x")?.panels[0]?.expr).toBe("new");
    expect(b.store.get("x")?.panels[0]?.expr).toBe("new");
  });

  test("a node that was away catches up on saves and deletions by the full exchange", () => {
    const [a, b] = pair();
    a.store.put("keep", { panels: [panel("up")] }, new Date(1_000_000));
    a.store.put("gone", { panels: [panel("down")] }, new Date(1_000_000));
    expect(b.store.list().map((d) => d.name)).toEqual(["gone", "keep"]);
    a.connected = false; // b misses what follows
    a.store.delete("gone", new Date(3_000_000));
    a.store.put("new", { panels: [panel("rate(x[5m])")] }, new Date(3_000_000));
    expect(b.store.list().map((d) => d.name)).toEqual(["gone", "keep"]);
    b.state.merge(a.state.marshal());
    expect(b.store.list().map((d) => d.name)).toEqual(["keep", "new"]);
    // b's old copy of "gone" does not come back to a either.
    a.state.merge(b.state.marshal());
    expect(a.store.get("gone")).toBeUndefined();
  });

  test("a save newer than a deletion brings the dashboard back", () => {
    const [a, b] = pair();
    a.store.put("d", { panels: [panel("a")] }, new Date(1_000_000));
    a.store.delete("d", new Date(2_000_000));
    expect(b.store.get("d")).toBeUndefined();
    b.store.put("d", { panels: [panel("b")] }, new Date(3_000_000));
    expect(a.store.get("d")?.panels[0]?.expr).toBe("b");
  });

  test("bad messages throw and change nothing", () => {
    const [a] = pair();
    a.store.put("ok", { panels: [panel("up")] }, new Date(1_000_000));
    const before = JSON.stringify(a.store.changes());
    const bad = [
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode("{\"not\":\"a list\"}"),
      new TextEncoder().encode(JSON.stringify([{ name: "../etc", updated: 5e6, dashboard: null }])),
      new TextEncoder().encode(JSON.stringify([{ name: "ok", updated: 5e6, dashboard: { panels: [{ expr: 1 }] } }])),
      new TextEncoder().encode(JSON.stringify([{ name: "ok", updated: "soon", dashboard: null }])),
    ];
    for (const m of bad) expect(() => a.state.merge(m)).toThrow(/dashboard|JSON|panels|name|decode|encoded/i);
    expect(JSON.stringify(a.store.changes())).toBe(before);
  });
});
