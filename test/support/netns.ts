/**
 * Network namespaces for fault tests: a "lab" of N nodes, each in its own
 * network namespace, joined by one Linux bridge per named network (for
 * example `cluster` for gossip and `service` for HTTP), with private
 * addresses 10.77.X.0/24 (X picked free per network). Processes run inside
 * a node with `ip netns exec` (which execs the command, so the child's PID
 * is the command's own PID); a node is partitioned from one network by
 * setting its veth's root-side end down, and healed by setting it up again.
 *
 * Needs root and iproute2 (`ip`). {@link netnsAvailable} decides, as
 * peers.ts does for real peer binaries: skip loudly without them, fail
 * under PROMTS_REQUIRE_PEERS=1.
 *
 * Every name carries the test process's PID (`pt<pid><lab letter>`), so
 * parallel runs never collide, and a lab left behind by a killed run is
 * swept by the next one (its owner PID is gone). `destroy()` kills the
 * lab's processes by PID and deletes namespaces and links, collecting
 * errors instead of stopping at the first; a process `exit` hook does the
 * same synchronously if a test run ends without calling it.
 *
 * The addresses are private, on bridges that exist only for the test and
 * have no route out: the fault tests' one exception to "127.0.0.1 only".
 *
 * @example
 * const lab = NetnsLab.create({ nodes: 3, networks: ["cluster", "service"] });
 * const am = lab.spawn(0, "am-0", ["/usr/bin/prometheus-alertmanager", `--cluster.listen-address=${lab.nodeAddress(0, "cluster")}:9094`]);
 * lab.partition(0, "cluster"); … lab.heal(0, "cluster");
 * await lab.destroy();
 */
import { existsSync, readFileSync } from "node:fs";
import { peerAvailable } from "./peers.ts";
import { spawnChild, type Child } from "./processes.ts";
import { pollUntil } from "./wait.ts";

/** The `ip` binary, when installed. */
export const IP_BINARY = Bun.which("ip") ?? (existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : existsSync("/sbin/ip") ? "/sbin/ip" : null);

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces need root (uid ${process.getuid?.()})`;
  if (IP_BINARY === null) return "iproute2's `ip` is not installed (apt-get install iproute2)";
  const probe = `pt${process.pid}probe`;
  const add = Bun.spawnSync([IP_BINARY, "netns", "add", probe], { stdout: "pipe", stderr: "pipe" });
  if (add.exitCode !== 0) return `\`ip netns add\` fails here: ${add.stderr.toString().trim()}`;
  Bun.spawnSync([IP_BINARY, "netns", "del", probe], { stdout: "pipe", stderr: "pipe" });
  return undefined;
}

/**
 * True when the lab can run; otherwise warns `*** SKIPPED: … ***` (or
 * throws under PROMTS_REQUIRE_PEERS=1, as a missing peer does).
 */
export function netnsAvailable(what: string): boolean {
  const reason = netnsUnavailableReason();
  return peerAvailable(reason === undefined ? true : null, `network namespaces (${reason})`, `${what}: ${reason}`);
}

/** Runs `ip …`; throws naming the command and ip's error when it fails. */
export function ip(...args: string[]): string {
  if (IP_BINARY === null) throw new Error("iproute2's `ip` is not installed");
  const r = Bun.spawnSync([IP_BINARY, ...args], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** `ip …` that ignores failure (teardown of what may already be gone); returns the error text. */
function ipQuiet(...args: string[]): string | undefined {
  try {
    ip(...args);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Whether `pid` runs (a zombie, dead but not yet reaped, does not). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The owner PID in a lab name (`pt<pid><letter>…`), or undefined for other names. */
function ownerPid(name: string): number | undefined {
  const m = /^pt(\d+)[a-z]/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Deletes namespaces and links of labs whose test process has died (a run
 * killed before its afterAll). Links go with their namespace; bridges are
 * deleted by name.
 */
export function sweepStaleLabs(): void {
  const namespaces = ip("netns", "list").split("\n").map((l) => l.split(" ")[0]!).filter((n) => n !== "");
  for (const ns of namespaces) {
    const pid = ownerPid(ns);
    if (pid !== undefined && pid !== process.pid && !pidAlive(pid)) ipQuiet("netns", "del", ns);
  }
  const links = ip("-o", "link", "show").split("\n").map((l) => /^\d+: ([^:@ ]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
  for (const link of links) {
    const pid = ownerPid(link);
    if (pid !== undefined && pid !== process.pid && !pidAlive(pid)) ipQuiet("link", "del", link);
  }
}

/** Third octets of 10.77.X.0/24 already used by an address on this host. */
function usedOctets(): Set<number> {
  const used = new Set<number>();
  for (const m of ip("-o", "-4", "addr", "show").matchAll(/inet 10\.77\.(\d+)\./g)) used.add(Number(m[1]));
  for (const m of ip("-4", "route", "show").matchAll(/^10\.77\.(\d+)\./gm)) used.add(Number(m[1]));
  return used;
}

export interface NetnsLabOptions {
  /** Number of nodes (1–50). */
  nodes: number;
  /**
   * Networks, one bridge each; every node gets one interface per network,
   * named after it inside the namespace (so ≤ 15 characters, [a-z0-9]).
   */
  networks: readonly string[];
}

/** Labs made by this process, for the exit hook and the lab letter. */
const labs = new Set<NetnsLab>();
let labsMade = 0;
let exitHookInstalled = false;

/** A set of namespaces, bridges and the processes started in them. */
export class NetnsLab {
  /** `pt<pid><letter>`: the prefix of every name this lab creates. */
  readonly id: string;
  readonly nodes: number;
  readonly networks: readonly string[];
  /** Namespace names, by node. */
  readonly namespaces: readonly string[];
  private readonly octets = new Map<string, number>();
  private readonly procs = new Set<Child>();
  private readonly down = new Set<string>();
  private destroyed = false;

  private constructor(opts: NetnsLabOptions, id: string) {
    this.id = id;
    this.nodes = opts.nodes;
    this.networks = opts.networks;
    this.namespaces = Array.from({ length: opts.nodes }, (_, i) => `${id}-n${i}`);
  }

  /**
   * Creates the namespaces, one bridge per network (address .1 in the root
   * namespace) and one veth pair per node and network (node i at .(10+i)).
   * Sweeps stale labs first. On any failure, deletes what it made and throws.
   */
  static create(opts: NetnsLabOptions): NetnsLab {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 50) throw new Error(`nodes must be 1–50, got ${opts.nodes}`);
    for (const n of opts.networks) if (!/^[a-z][a-z0-9]{0,14}$/.test(n)) throw new Error(`network name ${JSON.stringify(n)}: use 1–15 of [a-z0-9], starting with a letter`);
    if (new Set(opts.networks).size !== opts.networks.length) throw new Error("network names must be distinct");
    if (labsMade >= 26) throw new Error("at most 26 labs per test process");
    sweepStaleLabs();
    const lab = new NetnsLab(opts, `pt${process.pid}${String.fromCharCode(97 + labsMade++)}`);
    labs.add(lab);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("exit", () => {
        for (const l of labs) l.destroySync();
      });
    }
    try {
      lab.build();
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  private bridge(netIndex: number): string {
    return `${this.id}b${netIndex}`;
  }

  private veth(node: number, network: string): string {
    return `${this.id}${this.networks.indexOf(network)}v${node}`;
  }

  private build(): void {
    const used = usedOctets();
    let octet = 20 + (process.pid % 200);
    this.networks.forEach((network, n) => {
      for (let tries = 0; used.has(octet) && tries < 256; tries++) octet = octet >= 250 ? 20 : octet + 1;
      if (used.has(octet)) throw new Error("no free 10.77.X.0/24 subnet");
      used.add(octet);
      this.octets.set(network, octet);
      const br = this.bridge(n);
      ip("link", "add", br, "type", "bridge");
      ip("addr", "add", `10.77.${octet}.1/24`, "dev", br);
      ip("link", "set", "dev", br, "up");
    });
    this.namespaces.forEach((ns, i) => {
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "dev", "lo", "up");
      this.networks.forEach((network, n) => {
        const host = this.veth(i, network);
        ip("link", "add", host, "type", "veth", "peer", "name", network, "netns", ns);
        ip("link", "set", "dev", host, "master", this.bridge(n));
        ip("link", "set", "dev", host, "up");
        ip("-n", ns, "addr", "add", `${this.nodeAddress(i, network)}/24`, "dev", network);
        ip("-n", ns, "link", "set", "dev", network, "up");
      });
    });
  }

  private octet(network: string): number {
    const o = this.octets.get(network);
    if (o === undefined) throw new Error(`no network ${JSON.stringify(network)} in lab ${this.id} (has ${this.networks.join(", ")})`);
    return o;
  }

  private checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= this.nodes) throw new Error(`node ${node} out of range 0–${this.nodes - 1}`);
  }

  /** Node `node`'s address on `network` (10.77.X.(10+node)). */
  nodeAddress(node: number, network: string): string {
    this.checkNode(node);
    return `10.77.${this.octet(network)}.${10 + node}`;
  }

  /** The root namespace's address on `network` (the bridge's, 10.77.X.1): listen here to be reachable from every node. */
  hostAddress(network: string): string {
    return `10.77.${this.octet(network)}.1`;
  }

  /**
   * Starts `cmd` inside node `node`'s namespace; the Child's PID is the
   * command's own (ip netns exec execs it). Stopped by destroy() if still running.
   */
  spawn(node: number, name: string, cmd: readonly string[]): Child {
    this.checkNode(node);
    if (this.destroyed) throw new Error(`lab ${this.id} is destroyed`);
    if (IP_BINARY === null) throw new Error("iproute2's `ip` is not installed");
    const child = spawnChild(name, [IP_BINARY, "netns", "exec", this.namespaces[node]!, ...cmd]);
    this.procs.add(child);
    return child;
  }

  /** Runs `cmd` inside node `node`'s namespace to completion (bounded by `timeoutMs`). */
  exec(node: number, cmd: readonly string[], timeoutMs = 10_000): { code: number; stdout: string; stderr: string } {
    this.checkNode(node);
    const r = Bun.spawnSync([IP_BINARY ?? "ip", "netns", "exec", this.namespaces[node]!, ...cmd], { stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** Cuts node `node` off `network` (its bridge port goes down: nothing in or out there). */
  partition(node: number, network: string): void {
    this.checkNode(node);
    ip("link", "set", "dev", this.veth(node, network), "down");
    this.down.add(`${node}/${network}`);
  }

  /** Undoes {@link partition}. */
  heal(node: number, network: string): void {
    this.checkNode(node);
    ip("link", "set", "dev", this.veth(node, network), "up");
    this.down.delete(`${node}/${network}`);
  }

  /** Whether node `node` is cut off `network`. */
  isPartitioned(node: number, network: string): boolean {
    return this.down.has(`${node}/${network}`);
  }

  /**
   * Checks that every node reaches the root namespace on every network
   * (TCP to a listener on the bridge address), so a host firewall that
   * drops bridged traffic fails here with a clear message rather than as
   * a cluster that never forms.
   */
  async checkConnectivity(deadlineMs = 10_000): Promise<void> {
    for (const network of this.networks) {
      const listener = Bun.listen({ hostname: this.hostAddress(network), port: 0, socket: { data() {}, open(s) { s.end(); } } });
      try {
        for (let i = 0; i < this.nodes; i++) {
          const script = `exec 3<>/dev/tcp/${this.hostAddress(network)}/${listener.port}`;
          await pollUntil(`node ${i} to reach ${this.hostAddress(network)}:${listener.port} on ${network}`, () => this.exec(i, ["bash", "-c", script], 3000).code === 0, {
            deadlineMs,
            intervalMs: 100,
            details: () => `(is bridged traffic filtered? see net.bridge.bridge-nf-call-iptables and the FORWARD chain)\n${ip("-n", this.namespaces[i]!, "addr")}`,
          });
        }
      } finally {
        listener.stop(true);
      }
    }
  }

  /** The lab's processes still running. */
  running(): Child[] {
    return [...this.procs].filter((c) => !c.exited());
  }

  /**
   * Stops every process started here (SIGKILL by PID, waiting for each
   * exit), then deletes the namespaces and bridges. Tries everything and
   * throws one error listing what could not be removed.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const errors: string[] = [];
    for (const c of this.procs) {
      if (c.exited()) continue;
      c.signal("SIGKILL");
      const code = await c.stop(5000);
      if (!c.exited()) errors.push(`${c.name} (pid ${c.pid}) did not exit (${code})`);
    }
    errors.push(...this.removeLinks());
    if (errors.length > 0) throw new Error(`lab ${this.id} teardown: ${errors.join("; ")}`);
  }

  /** destroy() without waiting: for the process exit hook and failed builds. */
  destroySync(): void {
    if (this.destroyed) return;
    for (const c of this.procs) if (!c.exited()) c.signal("SIGKILL");
    this.removeLinks();
  }

  private removeLinks(): string[] {
    this.destroyed = true;
    labs.delete(this);
    const errors: string[] = [];
    const existing = new Set(ip("netns", "list").split("\n").map((l) => l.split(" ")[0]));
    for (const ns of this.namespaces) {
      if (!existing.has(ns)) continue;
      const err = ipQuiet("netns", "del", ns);
      if (err) errors.push(err);
    }
    this.networks.forEach((_, n) => {
      const br = this.bridge(n);
      if (ipQuiet("link", "show", br) !== undefined) return;
      const err = ipQuiet("link", "del", br);
      if (err) errors.push(err);
    });
    return errors;
  }
}
