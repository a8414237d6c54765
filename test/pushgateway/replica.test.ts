/**
 * The Pushgateway replicated over the cluster contract (three in-process
 * nodes joined by test/support/linked_states.ts): pushes, pushadds, failed
 * pushes, deletes and wipes reach every node; every node then renders the
 * same /metrics; concurrent pushes resolve to the same winner everywhere;
 * a node that was away (or restarted from its persistence file) catches up
 * in a full exchange, deletions included; bad messages change nothing.
 */
import { describe, expect, test } from "bun:test";
import {
  decodeGroups, encodeGroups, InconsistentPushError, parseGroupingKey, parseTextFamilies, PushStore, replicatePushStore, writeTextFamilies,
} from "../../src/pushgateway/index.ts";
import { exchange, linkedNodes, type LinkedNode } from "../support/linked_states.ts";

type Node = LinkedNode & { store: PushStore };
/** The replicas' clock: deletions stay remembered (pushes in these tests happen at 500–5000 ms). */
const NOW = 10_000;

function cluster(n: number): Node[] {
  return linkedNodes(n).map((l) => {
    const store = new PushStore();
    replicatePushStore(store, l.cluster, () => NOW);
    return Object.assign(l, { store });
  });
}

const render = (store: PushStore): string => {
  const out: string[] = [];
  writeTextFamilies(store.gather(10_000_000), out);
  return out.join("");
};

const key = (job: string, rest = "") => parseGroupingKey(job, rest);
const body = (text: string) => parseTextFamilies(text);

describe("Pushgateway replication", () => {
  test("push, pushadd, delete and wipe reach every node, which then serve the same metrics", () => {
    const [a, b, c] = cluster(3);
    a!.store.push(key("backup", "instance/db1"), body("# TYPE backup_ok gauge\nbackup_ok 1\n"), "PUT", 1000);
    expect(render(b!.store)).toBe(render(a!.store));
    expect(render(c!.store)).toContain('backup_ok{instance="db1",job="backup"} 1');
    // A pushadd on another node merges into the replicated group.
    b!.store.push(key("backup", "instance/db1"), body("backup_bytes 5\n"), "POST", 2000);
    for (const n of [a!, c!]) {
      expect(render(n.store)).toContain('backup_ok{instance="db1",job="backup"} 1');
      expect(render(n.store)).toContain('backup_bytes{instance="db1",job="backup"} 5');
      expect(render(n.store)).toBe(render(b!.store));
    }
    c!.store.push(key("other"), body("x 1\n"), "PUT", 3000);
    expect(a!.store.size).toBe(2);
    a!.store.delete(key("backup", "instance/db1"), 4000);
    expect(b!.store.size).toBe(1);
    expect(render(c!.store)).not.toContain("backup_ok");
    b!.store.wipe(5000);
    expect([a!.store.size, b!.store.size, c!.store.size]).toEqual([0, 0, 0]);
  });

  test("a push the consistency check refuses replicates as a failure time on the group", () => {
    const [a, b] = cluster(2);
    a!.store.push(key("j"), body("# TYPE m counter\nm 1\n"), "PUT", 1000);
    expect(() => a!.store.push(key("j2"), body("# TYPE m gauge\nm 1\n"), "PUT", 2000)).toThrow(InconsistentPushError);
    const g = b!.store.get(key("j2"))!;
    expect({ failure: g.failureTime, ok: g.lastPushSuccessful, push: g.pushTime, families: g.families.size }).toEqual({ failure: 2000, ok: false, push: 0, families: 0 });
  });

  test("concurrent pushes to one group: the later push wins, and equal times pick the same winner on every node", () => {
    const [a, b] = cluster(2);
    a!.connected = false;
    a!.store.push(key("j"), body("v 1\n"), "PUT", 1000);
    b!.store.push(key("j"), body("v 2\n"), "PUT", 2000);
    a!.connected = true;
    exchange(a!, b!);
    expect(render(a!.store)).toContain('v{instance="",job="j"} 2');
    expect(render(a!.store)).toBe(render(b!.store));

    a!.connected = false;
    a!.store.push(key("k"), body("w 1\n"), "PUT", 5000);
    b!.store.push(key("k"), body("w 2\n"), "PUT", 5000);
    a!.connected = true;
    exchange(a!, b!);
    expect(render(a!.store)).toBe(render(b!.store));
    expect(render(a!.store)).toMatch(/w\{instance="",job="k"\} [12]\n/);
  });

  test("a node that was away catches up, and a deletion it missed is not undone by its old copy", () => {
    const [a, b, c] = cluster(3);
    a!.store.push(key("old"), body("o 1\n"), "PUT", 1000);
    a!.store.push(key("kept"), body("k 1\n"), "PUT", 1000);
    c!.connected = false; // c is down from here
    const persisted = encodeGroups(c!.store.list(1000));
    b!.store.delete(key("old"), 2000);
    a!.store.push(key("new"), body("n 1\n"), "PUT", 3000);

    // c restarts from its persistence file, then joins and exchanges with one peer.
    const [fresh] = linkedNodes(1) as [Node];
    fresh.store = new PushStore();
    replicatePushStore(fresh.store, fresh.cluster, () => NOW);
    fresh.store.restore(decodeGroups(persisted));
    expect(fresh.store.list(3000).map((g) => g.key[0]![1])).toEqual(["kept", "old"]);
    exchange(fresh, a!);
    expect(fresh.store.list(3000).map((g) => g.key[0]![1]).sort()).toEqual(["kept", "new"]);
    expect(a!.store.list(3000).map((g) => g.key[0]![1]).sort()).toEqual(["kept", "new"]);
    expect(render(fresh.store)).toBe(render(a!.store));
  });

  test("a push older than a deletion, arriving late, does not bring the group back", () => {
    const [a, b] = cluster(2);
    a!.connected = false;
    a!.store.push(key("late"), body("l 1\n"), "PUT", 1000);
    b!.store.push(key("late"), body("l 2\n"), "PUT", 500);
    b!.store.delete(key("late"), 2000);
    a!.connected = true;
    exchange(a!, b!);
    expect(a!.store.size).toBe(0);
    expect(b!.store.size).toBe(0);
  });

  test("bad messages throw, naming what is wrong, and change nothing", () => {
    const [a] = cluster(1);
    a!.store.push(key("j"), body("v 1\n"), "PUT", 1000);
    const before = render(a!.store);
    const state = a!.states.get("pushgateway")!;
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const bad: [Uint8Array, RegExp][] = [
      [new Uint8Array([0xff, 0x00, 0xfe]), /encoded|decode|invalid/i],
      [enc({ format: "other" }), /not a "promts-pushgateway-replica\/1" message/],
      [enc({ format: "promts-pushgateway-replica/1", groups: [{ key: [["instance", "x"]], families: [], pushTime: 1, failureTime: 0 }], deleted: [] }), /no job label/],
      [enc({ format: "promts-pushgateway-replica/1", groups: [], deleted: [{ key: [["job", "j"], ["bad-name", "x"]], at: 9e9 }] }), /invalid label name "bad-name"/],
      [enc({ format: "promts-pushgateway-replica/1", groups: [], deleted: [{ key: [["job", "j"]], at: "now" }] }), /not \{key, at\}/],
      [enc({ format: "promts-pushgateway-replica/1", groups: [{ key: [["job", "j"]], families: [{ name: "v", type: "nonsense", metrics: [] }], pushTime: 9e9, failureTime: 0 }], deleted: [] }), /type: not a metric type/],
    ];
    for (const [m, re] of bad) expect(() => state.merge(m)).toThrow(re);
    expect(render(a!.store)).toBe(before);
  });
});
