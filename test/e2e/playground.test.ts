/**
 * `promts playground`: starts clustered nodes on 127.0.0.1, every node
 * healthy, the demo alert reaches the webhook logger's output, a node
 * killed by PID can be started again, and SIGINT stops every node by PID
 * and removes the temporary directory.
 *
 * With a cluster in the build (the nodes' /api/v2/status reports a cluster
 * status other than `disabled`) the demo alert must be notified exactly
 * once; before that, each node's Alertmanager notifies on its own, so at
 * least once (and at most once per node).
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { requireBinary } from "./promts_process.ts";
import { PROMTS_BINARY, spawnChild, stopAll, waitUntil } from "../support/processes.ts";
import { pollUntil } from "../support/wait.ts";

const NODES = 2;
/** The playground's group_wait and peer timeout (src/cli/playground.ts). */
const GROUP_WAIT_MS = 2000;
const PEER_TIMEOUT_MS = 2000;

beforeAll(requireBinary);
afterEach(stopAll);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("playground: nodes healthy, the demo alert notifies, a killed node restarts, SIGINT stops every node", async () => {
  const pg = spawnChild("playground", [PROMTS_BINARY, "playground", `--nodes=${NODES}`]);
  const banner = await waitUntil("the playground's banner", () => pg.stdout().includes("Ctrl-C stops everything.") && pg.stdout(), 60_000, [pg]);

  const nodes = [...banner.matchAll(/^ {2}node (\d+): (http:\/\/127\.0\.0\.1:\d+) {2}\(pid (\d+),/gm)].map((m) => ({ url: m[2]!, pid: Number(m[3]) }));
  expect(nodes.length).toBe(NODES);
  const trigger = /curl -X POST (http:\/\/127\.0\.0\.1:\d+\/trigger)/.exec(banner)?.[1];
  const dir = /files and data in (\S+)/.exec(banner)?.[1];
  expect(trigger).toBeDefined();
  expect(dir && existsSync(dir)).toBe(true);

  for (const n of nodes) {
    expect(pidAlive(n.pid)).toBe(true);
    expect((await fetch(`${n.url}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${n.url}/-/ready`)).status).toBe(200);
  }
  const status = ((await (await fetch(`${nodes[0]!.url}/api/v2/status`)).json()) as { cluster: { status: string } }).cluster.status;
  const clustered = status !== "disabled";

  expect((await fetch(trigger!, { method: "POST" })).status).toBe(200);
  const firing = () => pg.stdout().split("\n").filter((l) => l.startsWith("[webhook] ") && l.includes("status=firing") && l.includes('alertname="PlaygroundDemo"'));
  await waitUntil("the demo alert's notification at the webhook logger", () => firing().length > 0, 30_000, [pg]);
  const first = performance.now();
  // Every other node has had its position × peer_timeout to send a duplicate (or, alone, its own notification).
  await pollUntil("the dedup window to pass", () => performance.now() - first >= GROUP_WAIT_MS + (NODES - 1) * PEER_TIMEOUT_MS + 1500, { deadlineMs: 15_000, intervalMs: 100 });
  if (clustered) expect(firing().length).toBe(1);
  else {
    expect(firing().length).toBeGreaterThanOrEqual(1);
    expect(firing().length).toBeLessThanOrEqual(NODES);
  }
  for (const line of firing()) expect(nodes.some((n) => line.endsWith(`from=${n.url}`))).toBe(true);

  // A node killed by PID is reported, the playground keeps running, and the node starts again on request.
  process.kill(nodes[1]!.pid, "SIGKILL");
  await waitUntil("the playground to report node 1's exit", () => pg.stdout().includes(`node 1 (pid ${nodes[1]!.pid}) exited`), 10_000, [pg]);
  const restart = await fetch(trigger!.replace("/trigger", "/nodes/1/start"), { method: "POST" });
  expect(restart.status).toBe(200);
  const restarted = Number(/pid (\d+)/.exec(await restart.text())?.[1]);
  expect(restarted).toBeGreaterThan(0);
  expect(restarted).not.toBe(nodes[1]!.pid);
  await waitUntil("node 1 to be ready again", async () => (await fetch(`${nodes[1]!.url}/-/ready`)).status === 200, 30_000, [pg]);
  expect((await fetch(trigger!.replace("/trigger", "/nodes/1/start"), { method: "POST" })).status).toBe(409); // already running

  pg.signal("SIGINT");
  await waitUntil("the playground to exit after SIGINT", () => pg.exited(), 30_000);
  expect(await pg.stop()).toBe(0);
  for (const pid of [...nodes.map((n) => n.pid), restarted]) expect(pidAlive(pid)).toBe(false);
  expect(existsSync(dir!)).toBe(false);
  expect(pg.stderr()).toContain(`stopped ${NODES} node(s)`);
}, 120_000);

test("playground: a bad --nodes is a usage error, nothing started", async () => {
  const pg = spawnChild("playground", [PROMTS_BINARY, "playground", "--nodes=0"]);
  await waitUntil("the playground to exit", () => pg.exited(), 20_000);
  expect(await pg.stop()).toBe(2);
  expect(pg.stderr()).toContain("--nodes must be 1–9, got 0");
});
