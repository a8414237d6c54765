/**
 * A three-node Alertmanager cluster in a {@link NetnsLab}, for the fault
 * scenarios: one namespace per node with two networks, `cluster` (gossip,
 * the one partitions cut) and `service` (HTTP: the test posts alerts and
 * reads the API there, and the nodes reach the webhook there, as
 * Prometheus and receivers still reach every Alertmanager when only the
 * Alertmanagers lose each other).
 *
 * The same flags run the real Alertmanager 0.25 and `dist/promts
 * alertmanager`, so one harness measures both.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Child } from "../support/processes.ts";
import type { NetnsLab } from "../support/netns.ts";
import { pollUntil } from "../support/wait.ts";

/** The fault settings of issue 11: peer timeout 2 s, gossip 200 ms, a short group_wait. */
export const PEER_TIMEOUT_MS = 2000;
export const GOSSIP_INTERVAL = "200ms";
export const GROUP_WAIT_MS = 2000;
/** Resolved notifications go out at the group's next group_interval tick. */
export const GROUP_INTERVAL_MS = 5000;
/** How often a node retries peers it lost (Alertmanager's default is 10 s; short so a healed partition rejoins quickly). */
export const RECONNECT_INTERVAL = "2s";
/**
 * Bounds the wait for the peer count to settle before the first
 * notification (default 1 m; Alertmanager's settle otherwise takes 10 s,
 * three stable polls 10 × gossip interval apart). The join's push/pull,
 * which brings a restarted node the others' notification log, comes before
 * it either way; the bound only keeps the suite within its time budget.
 */
export const SETTLE_TIMEOUT = "3s";
export const WEB_PORT = 9093;
export const CLUSTER_PORT = 9094;

/** What runs on each node: a name for the tables and the command line for a set of flags. */
export interface Implementation {
  /** e.g. "alertmanager-0.25" or "promts". */
  name: string;
  /** The command for Alertmanager's flags (`--config.file=…`, `--cluster.*`…). */
  command(flags: readonly string[]): string[];
}

/** One notification as the webhook received it. */
export interface Notification {
  /** performance.now() at arrival. */
  at: number;
  status: string;
  alertname: string;
  /** The sender's --web.external-url (tells which node sent it). */
  sender: string;
  alerts: number;
}

/**
 * An HTTP receiver for Alertmanager's webhook payloads, listening on an
 * address every node reaches; counts notifications by group (alertname,
 * the route groups by it) and status.
 */
export class WebhookRecorder {
  readonly notifications: Notification[] = [];
  /** Requests that were not a webhook payload (should stay empty). */
  readonly rejected: string[] = [];
  private readonly server: ReturnType<typeof Bun.serve>;

  constructor(hostname: string) {
    this.server = Bun.serve({
      hostname,
      port: 0,
      fetch: async (req) => {
        const at = performance.now();
        try {
          const body = (await req.json()) as { status?: string; groupLabels?: Record<string, string>; externalURL?: string; alerts?: unknown[] };
          this.notifications.push({
            at,
            status: String(body.status),
            alertname: body.groupLabels?.alertname ?? "",
            sender: String(body.externalURL),
            alerts: Array.isArray(body.alerts) ? body.alerts.length : 0,
          });
          return new Response(null, { status: 200 });
        } catch (e) {
          this.rejected.push((e as Error).message);
          return new Response("bad payload\n", { status: 400 });
        }
      },
    });
  }

  get url(): string {
    return `http://${this.server.hostname}:${this.server.port}`;
  }

  /** The notifications of group `alertname` (with `status` when given), in arrival order. */
  of(alertname: string, status?: string): Notification[] {
    return this.notifications.filter((n) => n.alertname === alertname && (status === undefined || n.status === status));
  }

  stop(): void {
    this.server.stop(true);
  }
}

/** An alert as POST /api/v2/alerts takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/** A firing alert of group `alertname`, ending in an hour unless resolved. */
export function firingAlert(alertname: string): PostableAlert {
  const now = Date.now();
  return {
    labels: { alertname, severity: "page" },
    annotations: { summary: `fault scenario ${alertname}` },
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
    generatorURL: "http://prometheus.invalid/graph",
  };
}

/** The Alertmanager configuration every node runs. */
export function alertmanagerConfig(webhookURL: string): string {
  return `route:
  receiver: hook
  group_by: [alertname]
  group_wait: ${GROUP_WAIT_MS / 1000}s
  group_interval: ${GROUP_INTERVAL_MS / 1000}s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${webhookURL}/hook
        send_resolved: true
`;
}

/** `GET /api/v2/status`'s cluster part. */
export interface ClusterView {
  status: string;
  peers: string[];
}

/** The cluster under test: one node per lab namespace, each restartable with its storage. */
export class FaultCluster {
  /** Every process each node has run, the current one last (for logs). */
  private readonly history: Child[][];
  private readonly current: (Child | undefined)[];

  constructor(
    readonly impl: Implementation,
    readonly lab: NetnsLab,
    readonly dir: string,
  ) {
    this.history = Array.from({ length: lab.nodes }, () => []);
    this.current = Array.from({ length: lab.nodes }, () => undefined);
  }

  get size(): number {
    return this.lab.nodes;
  }

  /** Node i's HTTP base URL (on the service network). */
  webURL(i: number): string {
    return `http://${this.lab.nodeAddress(i, "service")}:${WEB_PORT}`;
  }

  /** The node whose --web.external-url is `url` (a webhook payload's externalURL), or -1. */
  nodeOf(url: string): number {
    return Array.from({ length: this.size }, (_, i) => i).find((i) => this.webURL(i) === url) ?? -1;
  }

  private flags(i: number): string[] {
    const peers = Array.from({ length: this.size }, (_, j) => j)
      .filter((j) => j !== i)
      .map((j) => `--cluster.peer=${this.lab.nodeAddress(j, "cluster")}:${CLUSTER_PORT}`);
    const storage = join(this.dir, `node${i}`);
    mkdirSync(storage, { recursive: true });
    return [
      `--config.file=${join(this.dir, "alertmanager.yml")}`,
      `--storage.path=${storage}`,
      `--web.listen-address=${this.lab.nodeAddress(i, "service")}:${WEB_PORT}`,
      `--web.external-url=${this.webURL(i)}`,
      `--cluster.listen-address=${this.lab.nodeAddress(i, "cluster")}:${CLUSTER_PORT}`,
      `--cluster.advertise-address=${this.lab.nodeAddress(i, "cluster")}:${CLUSTER_PORT}`,
      ...peers,
      `--cluster.peer-timeout=${PEER_TIMEOUT_MS / 1000}s`,
      `--cluster.gossip-interval=${GOSSIP_INTERVAL}`,
      `--cluster.reconnect-interval=${RECONNECT_INTERVAL}`,
      `--cluster.settle-timeout=${SETTLE_TIMEOUT}`,
    ];
  }

  /** Writes the config (webhook at `webhookURL`) and starts every node. */
  startAll(webhookURL: string): void {
    writeFileSync(join(this.dir, "alertmanager.yml"), alertmanagerConfig(webhookURL));
    for (let i = 0; i < this.size; i++) this.start(i);
  }

  /** Starts node i (again), on its storage directory. */
  start(i: number): Child {
    if (this.current[i] && !this.current[i]!.exited()) throw new Error(`node ${i} is already running (pid ${this.current[i]!.pid})`);
    const child = this.lab.spawn(i, `${this.impl.name}-${i}`, this.impl.command(this.flags(i)));
    this.history[i]!.push(child);
    this.current[i] = child;
    return child;
  }

  /** Whether node i runs. */
  alive(i: number): boolean {
    const c = this.current[i];
    return c !== undefined && !c.exited();
  }

  /** Nodes that run. */
  aliveNodes(): number[] {
    return Array.from({ length: this.size }, (_, i) => i).filter((i) => this.alive(i));
  }

  /** SIGKILL by PID (a crash: nothing is flushed); resolves once it has exited. */
  async kill(i: number): Promise<void> {
    const c = this.current[i];
    if (!c) throw new Error(`node ${i} was never started`);
    c.signal("SIGKILL");
    await c.stop(5000);
    await pollUntil(`node ${i} (pid ${c.pid}) to exit`, () => c.exited(), { deadlineMs: 5000, intervalMs: 20 });
  }

  /** Every node's logs, for failure messages. */
  logs(): string {
    return this.history.map((runs, i) => runs.map((c, k) => `--- node ${i} run ${k} (pid ${c.pid}) stderr ---\n${c.stderr().slice(-4000)}`).join("\n")).join("\n");
  }

  private async get(i: number, path: string): Promise<Response> {
    return fetch(`${this.webURL(i)}${path}`, { signal: AbortSignal.timeout(2000) });
  }

  /** `cluster` of node i's /api/v2/status. */
  async view(i: number): Promise<ClusterView> {
    const res = await this.get(i, "/api/v2/status");
    if (!res.ok) throw new Error(`node ${i} /api/v2/status answered ${res.status}`);
    const body = (await res.json()) as { cluster?: { status?: string; peers?: { name: string }[] } };
    return { status: String(body.cluster?.status), peers: (body.cluster?.peers ?? []).map((p) => p.name) };
  }

  /**
   * Waits until each node in `expected` is ready (settled) and sees that
   * many members (itself included).
   */
  async waitMembers(expected: ReadonlyMap<number, number>, what: string, deadlineMs = 30_000): Promise<void> {
    const last = new Map<number, string>();
    await pollUntil(what, async () => {
      for (const [i, n] of expected) {
        const v = await this.view(i);
        last.set(i, `${v.status} ${v.peers.length} peers`);
        if (v.status !== "ready" || v.peers.length !== n) return false;
      }
      return true;
    }, {
      deadlineMs,
      intervalMs: 100,
      abortIf: () => {
        const dead = [...expected.keys()].find((i) => !this.alive(i));
        return dead === undefined ? undefined : `node ${dead} exited:\n${this.logs()}`;
      },
      details: () => `views: ${[...last].map(([i, v]) => `node ${i}: ${v}`).join(", ")}\n${this.logs()}`,
    });
  }

  /** Every alive node settled and seeing all alive nodes. */
  waitFormed(deadlineMs = 30_000): Promise<void> {
    const alive = this.aliveNodes();
    return this.waitMembers(new Map(alive.map((i) => [i, alive.length])), `the ${alive.length} alive nodes to form a cluster`, deadlineMs);
  }

  /** `alertmanager_peer_position` of node i. */
  async position(i: number): Promise<number> {
    const text = await (await this.get(i, "/metrics")).text();
    const m = /^alertmanager_peer_position(?:\{\})? (\d+)/m.exec(text);
    if (!m) throw new Error(`node ${i} exports no alertmanager_peer_position`);
    return Number(m[1]);
  }

  /** The alive node whose position is `position`. */
  async nodeAt(position: number): Promise<number> {
    for (const i of this.aliveNodes()) if ((await this.position(i)) === position) return i;
    throw new Error(`no alive node at position ${position}`);
  }

  /** Posts `alerts` to each of `nodes` (as Prometheus sends to every Alertmanager); throws naming a node that refuses. */
  async postAlerts(nodes: readonly number[], alerts: readonly PostableAlert[]): Promise<void> {
    await Promise.all(nodes.map(async (i) => {
      const res = await fetch(`${this.webURL(i)}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`node ${i} refused alerts: ${res.status} ${await res.text()}`);
    }));
  }

  /** Creates a one-hour silence of group `alertname` on node i; returns its ID. */
  async silence(i: number, alertname: string): Promise<string> {
    const now = Date.now();
    const res = await fetch(`${this.webURL(i)}/api/v2/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        matchers: [{ name: "alertname", value: alertname, isRegex: false, isEqual: true }],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
        createdBy: "fault test",
        comment: "silence on one node",
      }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`node ${i} refused the silence: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { silenceID: string }).silenceID;
  }

  /** Whether node i lists silence `id` as active. */
  async listsSilence(i: number, id: string): Promise<boolean> {
    const list = (await (await this.get(i, "/api/v2/silences")).json()) as { id: string; status: { state: string } }[];
    return list.some((s) => s.id === id && s.status.state === "active");
  }

  /** SIGKILLs every node by PID and waits for the exits. */
  async stopAll(): Promise<void> {
    for (let i = 0; i < this.size; i++) if (this.alive(i)) await this.kill(i);
  }
}
