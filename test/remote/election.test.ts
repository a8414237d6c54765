/**
 * The remote-writer election on in-process fake peers: the lowest-named
 * live member announcing an endpoint writes; the others stand by with a
 * floor following the writer's gossiped progress; a takeover waits the
 * grace and freezes the floor at the last gossiped max(acked, claimed);
 * bad gossip is refused.
 */
import { expect, test } from "bun:test";
import type { ClusterChannel, ClusterMember, ClusterPeer, ClusterState, MemberState } from "../../src/cluster/index.ts";
import { Registry } from "../../src/model/index.ts";
import { pollUntil } from "../support/wait.ts";
import { decodeProgress, endpointKey, HANDOFF_MS, TAKEOVER_GRACE_MS, WriterElection } from "../../src/remote/index.ts";

interface Fake extends ClusterPeer {
  state: MemberState;
  meta: Record<string, string>;
  changed(): void;
}

/** Nodes that see each other's state and metadata directly; broadcasts reach every live node. */
function fakeCluster(names: string[]): Fake[] {
  const nodes: Fake[] = [];
  const states = new Map<string, Map<string, ClusterState>>();
  for (const name of names) {
    const listeners: (() => void)[] = [];
    const own = new Map<string, ClusterState>();
    states.set(name, own);
    const node: Fake = {
      name,
      state: "alive",
      meta: {},
      addState(key: string, st: ClusterState): ClusterChannel {
        own.set(key, st);
        return { broadcast: (d) => { for (const o of nodes) if (o !== node && o.state === "alive") states.get(o.name)!.get(key)?.merge(d); } };
      },
      position: () => 0,
      members: (): ClusterMember[] => nodes.map((n) => ({ name: n.name, address: "127.0.0.1:1", state: n.state, meta: { ...n.meta } })),
      setMeta(k, v) {
        node.meta[k] = v;
        for (const o of nodes) o.changed();
      },
      settle: async () => {},
      status: () => "ready",
      inMinority: () => false,
      onChange(fn) {
        listeners.push(fn);
        return () => {};
      },
      leave: async () => {},
      changed: () => { for (const l of listeners) l(); },
    };
    nodes.push(node);
  }
  return nodes;
}

const URL_A = "http://receiver:9090/api/v1/write";

test("the lowest-named live member announcing the endpoint writes; the other follows its progress and takes over from it", async () => {
  let now = 1_000_000;
  const [pa, pb] = fakeCluster(["a", "b"]) as [Fake, Fake];
  const reg = new Registry();
  const ea = new WriterElection({ now: () => now, registry: new Registry() });
  const eb = new WriterElection({ now: () => now, registry: reg });
  ea.attach(pa);
  eb.attach(pb);
  ea.setEndpoints([URL_A]);
  eb.setEndpoints([URL_A]);
  const ga = ea.gate(URL_A, "out");
  const gb = eb.gate(URL_A, "out");
  expect(ea.writerOf(endpointKey(URL_A))).toBe("a");
  expect(eb.writerOf(endpointKey(URL_A))).toBe("a");
  // The writer waits for the grace before its first send.
  expect(ga.canSend()).toBe(false);
  now += TAKEOVER_GRACE_MS;
  expect(ga.canSend()).toBe(true);
  expect(gb.canSend()).toBe(false);
  expect(reg.render()).toContain('promts_remote_write_elected{remote_name="out",url="http://receiver:9090/api/v1/write"} 0');

  // Progress gossips to the standby, whose floor follows max(acked, claimed).
  ga.claim(5000);
  expect(gb.floor()).toBe(5000);
  ga.acked(5000);
  ga.claim(6000);
  now += 200;
  ga.acked(6000); // throttled: goes out on the gossip timer
  await pollUntil("the throttled gossip to reach b", () => gb.floor() >= 6000, { deadlineMs: 5000, intervalMs: 10 });
  expect(ga.floor()).toBe(-Infinity); // the writer's own floor is what it took over from

  // a dies: b is elected, waits the grace, and starts after the last gossiped timestamp.
  pa.state = "dead";
  pb.changed();
  expect(eb.writerOf(endpointKey(URL_A))).toBe("b");
  expect(gb.canSend()).toBe(false);
  now += TAKEOVER_GRACE_MS;
  expect(gb.canSend()).toBe(true);
  expect(gb.floor()).toBe(6000);
  expect(reg.render()).toContain('promts_remote_write_elected{remote_name="out",url="http://receiver:9090/api/v1/write"} 1');
});

test("a member that does not announce the endpoint is not elected for it", () => {
  const [pa, pb] = fakeCluster(["a", "b"]) as [Fake, Fake];
  const ea = new WriterElection();
  const eb = new WriterElection();
  ea.attach(pa);
  eb.attach(pb);
  ea.setEndpoints(["http://other/api/v1/write"]);
  eb.setEndpoints([URL_A]);
  ea.gate("http://other/api/v1/write", "other");
  eb.gate(URL_A, "out");
  expect(eb.writerOf(endpointKey(URL_A))).toBe("b");
  expect(ea.writerOf(endpointKey("http://other/api/v1/write"))).toBe("a");
});

test("without a cluster peer a gate always sends and skips nothing", () => {
  const g = new WriterElection().gate(URL_A, "out");
  expect(g.canSend()).toBe(true);
  expect(g.floor()).toBe(-Infinity);
});

test("gossiped progress is validated: wrong shapes are refused, nulls are 'none'", () => {
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  expect(decodeProgress(enc({ "0123abcd": { a: 5, c: null } })).get("0123abcd")).toEqual({ acked: 5, claimed: -Infinity });
  for (const bad of [[], null, { "0123abcd": { a: "5", c: 1 } }, { "zz": { a: 1, c: 1 } }, { "0123abcd": 3 }]) {
    expect(() => decodeProgress(enc(bad))).toThrow(/remote write progress/);
  }
  expect(() => decodeProgress(new Uint8Array([0xff, 0x00]))).toThrow();
  const e = new WriterElection();
  // merge keeps maxima and is idempotent
  e.state.merge(enc({ "0123abcd": { a: 5, c: 7 } }));
  e.state.merge(enc({ "0123abcd": { a: 3, c: 9 } }));
  e.state.merge(enc({ "0123abcd": { a: 3, c: 9 } }));
  expect(JSON.parse(new TextDecoder().decode(e.state.marshal()))).toEqual({ "0123abcd": { a: 5, c: 9 } });
});

test("a node that comes back is a candidate only after its announce delay; the writer it replaces flushes, then stands by", async () => {
  let now = 0;
  const [pa, pb] = fakeCluster(["a", "b"]) as [Fake, Fake];
  const ea = new WriterElection({ now: () => now, announceDelayMs: 50 });
  const eb = new WriterElection({ now: () => now });
  ea.attach(pa);
  eb.attach(pb);
  eb.setEndpoints([URL_A]);
  const gb = eb.gate(URL_A, "out");
  now += TAKEOVER_GRACE_MS;
  expect(gb.canSend()).toBe(true);
  expect(gb.flushing()).toBe(false);
  // a starts its queue: not yet a candidate, so b keeps writing.
  ea.setEndpoints([URL_A]);
  const ga = ea.gate(URL_A, "out");
  expect(ea.writerOf(endpointKey(URL_A))).toBe("b");
  expect(ga.canSend()).toBe(false);
  await pollUntil("a to announce its endpoint", () => eb.writerOf(endpointKey(URL_A)) === "a", { deadlineMs: 5000, intervalMs: 10 });
  // b hands off: it still sends (everything it holds) for a moment, and its claims reach a.
  expect(gb.flushing()).toBe(true);
  expect(gb.canSend()).toBe(true);
  gb.claim(9000);
  now += HANDOFF_MS;
  expect(gb.flushing()).toBe(false);
  expect(gb.canSend()).toBe(false);
  expect(ga.canSend()).toBe(false); // a's grace
  now += TAKEOVER_GRACE_MS;
  expect(ga.canSend()).toBe(true);
  expect(ga.floor()).toBe(9000);
});

test("a writer that hears a lower-named node's claims (views differ) holds back until they stop, then goes on after them", () => {
  let now = 0;
  const [pa, pb] = fakeCluster(["a", "b"]) as [Fake, Fake];
  const ea = new WriterElection({ now: () => now });
  const eb = new WriterElection({ now: () => now });
  ea.attach(pa);
  eb.attach(pb);
  ea.setEndpoints([URL_A]);
  eb.setEndpoints([URL_A]);
  const ga = ea.gate(URL_A, "out");
  const gb = eb.gate(URL_A, "out", { yieldMs: 3000 });
  // b wrongly declares a dead and becomes the writer.
  pa.state = "dead";
  pb.changed();
  now += TAKEOVER_GRACE_MS;
  expect(gb.canSend()).toBe(true);
  // a is in fact alive and still sending: its claim reaches b, which stands by.
  ga.claim(7000);
  expect(gb.canSend()).toBe(false);
  now += 2000;
  expect(gb.canSend()).toBe(false);
  // a's claims stopped: after the yield time b sends again, after a's last claim.
  now += 1001;
  expect(gb.canSend()).toBe(true);
  expect(gb.floor()).toBe(7000);
  // A higher-named node's claims do not make a lower-named writer stand by.
  pa.state = "alive";
  pa.changed();
  now += TAKEOVER_GRACE_MS;
  expect(ga.canSend()).toBe(true);
  gb.claim(8000);
  expect(ga.canSend()).toBe(true);
});

test("the floor reaches half a scrape interval past the last claim (same scrape interval on the other node)", () => {
  const [pa, pb] = fakeCluster(["a", "b"]) as [Fake, Fake];
  const ea = new WriterElection();
  const eb = new WriterElection();
  ea.attach(pa);
  eb.attach(pb);
  const ga = ea.gate(URL_A, "out");
  const gb = eb.gate(URL_A, "out", { marginMs: 500 });
  ea.setEndpoints([URL_A]);
  eb.setEndpoints([URL_A]);
  ga.claim(10_000);
  expect(gb.floor()).toBe(10_500);
});
