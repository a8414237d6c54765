/**
 * The network-namespace lab itself (test/support/netns.ts): nodes reach
 * each other and the root namespace over their bridges, a partition cuts
 * exactly one node off one network and a heal restores it, processes run
 * inside a namespace under their own PID, and destroy() leaves no process,
 * namespace or link behind. Skips loudly without root and iproute2, and
 * fails instead under PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { ip, NetnsLab, netnsAvailable } from "../support/netns.ts";
import { pollUntil } from "../support/wait.ts";

const enabled = netnsAvailable("network namespace lab tests");

/** Whether `from` opens a TCP connection to host:port within 1 s (bash's /dev/tcp inside the namespace). */
function connects(lab: NetnsLab, from: number, host: string, port: number): boolean {
  return lab.exec(from, ["timeout", "1", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`], 3000).code === 0;
}

describe.if(enabled)("NetnsLab", () => {
  let lab: NetnsLab | undefined;
  afterAll(async () => {
    await lab?.destroy();
  });

  test("nodes reach each other and the host; a partition cuts one node off one network until healed", async () => {
    lab = NetnsLab.create({ nodes: 3, networks: ["cluster", "service"] });
    expect(lab.namespaces.every((ns) => ns.includes(String(process.pid)))).toBe(true);
    await lab.checkConnectivity();
    // A listener in node 1's namespace on both networks (Bun is the test runner itself).
    const server = lab.spawn(1, "listener", [process.execPath, "-e", `
      for (const h of ${JSON.stringify([lab.nodeAddress(1, "cluster"), lab.nodeAddress(1, "service")])})
        Bun.listen({ hostname: h, port: 7070, socket: { data() {}, open(s) { s.end(); } } });
      console.log("listening");
      setInterval(() => {}, 1000);
    `]);
    await pollUntil("the listener in node 1", () => server.stdout().includes("listening"), { deadlineMs: 10_000, abortIf: () => (server.exited() ? server.stderr() : undefined) });
    // ip netns exec execs: the child's PID is the listener's own, and it lives in node 1's namespace.
    expect(readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0")[0]).toBe(process.execPath);
    expect(readlinkSync(`/proc/${server.pid}/ns/net`)).toBe(lab.exec(1, ["readlink", "/proc/self/ns/net"]).stdout.trim());
    expect(readlinkSync(`/proc/${server.pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));

    expect(connects(lab, 0, lab.nodeAddress(1, "cluster"), 7070)).toBe(true);
    expect(connects(lab, 2, lab.nodeAddress(1, "service"), 7070)).toBe(true);

    lab.partition(1, "cluster");
    expect(lab.isPartitioned(1, "cluster")).toBe(true);
    expect(connects(lab, 0, lab.nodeAddress(1, "cluster"), 7070)).toBe(false);
    expect(connects(lab, 2, lab.nodeAddress(1, "cluster"), 7070)).toBe(false);
    expect(connects(lab, 0, lab.nodeAddress(1, "service"), 7070)).toBe(true); // the other network is untouched

    lab.heal(1, "cluster");
    await pollUntil("node 1 to be reachable on cluster again", () => connects(lab!, 0, lab!.nodeAddress(1, "cluster"), 7070), { deadlineMs: 10_000, intervalMs: 100 });

    const pid = server.pid;
    const namespaces = [...lab.namespaces];
    await lab.destroy();
    expect(server.exited()).toBe(true);
    expect(() => process.kill(pid, 0)).toThrow();
    const left = ip("netns", "list");
    for (const ns of namespaces) expect(left).not.toContain(ns);
    expect(ip("-o", "link", "show")).not.toContain(lab.id);
  }, 30_000);
});
