/**
 * `promts playground --nodes 3`: an HA cluster on localhost in one command.
 * It starts, on free ports of 127.0.0.1:
 *
 *   - N promts servers (this same executable, server role) with the
 *     built-in Alertmanager, clustered with each other (--cluster.peer to
 *     every other node), each scraping the same demo target and evaluating
 *     the same rule, and sending its alerts to every node's Alertmanager;
 *   - a webhook logger (in this process) that prints every notification as
 *     one `[webhook] …` line on stdout, naming the node that sent it;
 *   - a control server (in this process), also the demo target: it exports
 *     `playground_demo_trigger`, 1 while the demo alert is triggered
 *     (`POST /trigger`, `POST /resolve`, or create / remove the file
 *     `trigger` in the playground's directory), and restarts a node that
 *     was killed (`POST /nodes/<i>/start`, on the same storage).
 *
 * The rule `PlaygroundDemo` fires while `playground_demo_trigger > 0`. It
 * prints the ports, PIDs and commands, then runs until SIGINT (Ctrl-C) or
 * SIGTERM, when it stops every node by PID (SIGTERM, SIGKILL after 10 s),
 * its servers, and removes its temporary directory. A node that exits
 * (killed to watch the others take over) is reported and can be started
 * again; the playground keeps running. Exit code 0 after a requested stop,
 * 1 when the nodes did not start.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, intFlag, stringFlag, type Command, type MainIO, type Role } from "../flags/index.ts";
import { startWebhookLogger, summarizeNotification } from "./webhook_logger.ts";

/** Timings of the playground's cluster: quick enough to watch. */
const SCRAPE_INTERVAL = "1s";
const PEER_TIMEOUT = "2s";
const GROUP_WAIT = "2s";
const READY_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 10_000;
const MAX_NODES = 9;

/** The role's flags. */
export const playgroundFlags = {
  nodes: intFlag(`Number of clustered promts nodes to start (1–${MAX_NODES}).`, 3),
  "data-dir": stringFlag("Directory for the nodes' configuration and data; kept on exit. Default: a temporary directory, removed on exit.", "", { placeholder: "<path>" }),
};

/** The `playground` command. */
export const playgroundCommand: Command = command(
  "playground",
  "Start a local HA cluster: N clustered promts nodes with the built-in Alertmanager, a demo alert to trigger and a webhook logger printing every notification. Ctrl-C stops everything.",
  playgroundFlags,
);

/** The command that runs this executable again: the compiled binary itself, or bun with the entry script. */
export function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

/** A port that was free on 127.0.0.1 a moment ago. */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** One node's addresses. */
export interface PlaygroundNode {
  web: number;
  cluster: number;
}

/** The files of the playground, as text by path relative to its directory. */
export function playgroundFiles(nodes: readonly PlaygroundNode[], demoPort: number, webhookPort: number): Record<string, string> {
  const files: Record<string, string> = {
    "rules.yml": `groups:
  - name: playground
    rules:
      - alert: PlaygroundDemo
        expr: playground_demo_trigger > 0
        labels:
          severity: page
        annotations:
          summary: The playground's demo alert was triggered
`,
    "alertmanager.yml": `route:
  receiver: webhook-logger
  group_by: [alertname]
  group_wait: ${GROUP_WAIT}
  group_interval: 10s
  repeat_interval: 1h
receivers:
  - name: webhook-logger
    webhook_configs:
      - url: http://127.0.0.1:${webhookPort}/hook
        send_resolved: true
`,
  };
  nodes.forEach((node, i) => {
    const others = nodes.filter((_, j) => j !== i).map((n) => `"127.0.0.1:${n.web}"`);
    // The node's own built-in Alertmanager is added by the server itself.
    const alerting = others.length > 0 ? `alerting:
  alertmanagers:
    - static_configs:
        - targets: [${others.join(", ")}]
` : "";
    files[`node${i}/prometheus.yml`] = `# promts playground, node ${i}
global:
  scrape_interval: ${SCRAPE_INTERVAL}
  evaluation_interval: ${SCRAPE_INTERVAL}
rule_files:
  - ../rules.yml
scrape_configs:
  - job_name: playground-demo
    static_configs:
      - targets: ["127.0.0.1:${demoPort}"]
  - job_name: promts
    static_configs:
      - targets: [${nodes.map((n) => `"127.0.0.1:${n.web}"`).join(", ")}]
${alerting}`;
  });
  return files;
}

/** The command line of node `i`. */
export function nodeArgs(dir: string, nodes: readonly PlaygroundNode[], i: number): string[] {
  const node = nodes[i]!;
  return [
    `--config.file=${join(dir, `node${i}`, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, `node${i}`, "data")}`,
    `--web.listen-address=127.0.0.1:${node.web}`,
    `--web.external-url=http://127.0.0.1:${node.web}`,
    `--alertmanager.config.file=${join(dir, "alertmanager.yml")}`,
    `--cluster.listen-address=127.0.0.1:${node.cluster}`,
    ...nodes.filter((_, j) => j !== i).map((n) => `--cluster.peer=127.0.0.1:${n.cluster}`),
    `--cluster.peer-timeout=${PEER_TIMEOUT}`,
    "--log.level=warn",
  ];
}

/** Copies a child's output stream to `write`, one prefixed line at a time. */
async function forwardLines(stream: ReadableStream<Uint8Array>, prefix: string, write: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line !== "") write(`${prefix}${line}\n`);
  }
  if (pending !== "") write(`${prefix}${pending}\n`);
}

/**
 * The control server and demo target: `playground_demo_trigger` is 1 while
 * triggered by POST /trigger or by the file; POST /nodes/<i>/start starts
 * a stopped node through `startNode`.
 */
function startControl(port: number, triggerFile: string, startNode: (i: number) => string, io: MainIO): { stop(): void } {
  let triggered = false;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "POST" && (path === "/trigger" || path === "/resolve")) {
        triggered = path === "/trigger";
        io.stdout(`[playground] demo alert ${triggered ? "triggered" : "resolved"} (playground_demo_trigger ${triggered ? 1 : 0})\n`);
        return new Response(`playground_demo_trigger ${triggered ? 1 : 0}\n`);
      }
      const node = /^\/nodes\/(\d+)\/start$/.exec(path);
      if (req.method === "POST" && node) {
        try {
          return new Response(`${startNode(Number(node[1]))}\n`);
        } catch (e) {
          return new Response(`${(e as Error).message}\n`, { status: 409 });
        }
      }
      if (req.method === "GET" && path === "/metrics") {
        const value = triggered || existsSync(triggerFile) ? 1 : 0;
        return new Response(`# HELP playground_demo_trigger 1 while the playground's demo alert is triggered.\n# TYPE playground_demo_trigger gauge\nplayground_demo_trigger ${value}\n`, {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
      }
      return new Response("GET /metrics, POST /trigger, POST /resolve, POST /nodes/<i>/start\n", { status: 404 });
    },
  });
  return { stop: () => server.stop(true) };
}

/** `cluster.status` of a node's Alertmanager, or the error. */
async function clusterStatus(web: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${web}/api/v2/status`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { cluster?: { status?: string; peers?: unknown[] } };
    return `${body.cluster?.status} (${body.cluster?.peers?.length ?? 0} peers)`;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

/** A node process the playground started. */
interface NodeProcess {
  i: number;
  pid: number;
  proc: ReturnType<typeof Bun.spawn>;
}

function running(p: NodeProcess | undefined): p is NodeProcess {
  return p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null;
}

/** SIGTERM by PID, SIGKILL after {@link STOP_DEADLINE_MS}; resolves once it has exited. */
async function stopNode(p: NodeProcess, io: MainIO): Promise<void> {
  if (running(p)) p.proc.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      io.stderr(`playground: node ${p.i} (pid ${p.pid}) did not stop in ${STOP_DEADLINE_MS / 1000} s; SIGKILL\n`);
      p.proc.kill("SIGKILL");
      resolve();
    }, STOP_DEADLINE_MS);
  });
  await Promise.race([p.proc.exited, late]);
  await p.proc.exited;
  clearTimeout(timer);
}

/**
 * Runs the playground until SIGINT/SIGTERM (or `stop` aborts); resolves
 * with the exit code: 0 after a requested stop, 1 when the nodes did not
 * start, 2 for a bad --nodes.
 */
export async function runPlayground(opts: { nodes: number; dataDir: string; stop?: AbortSignal }, io: MainIO): Promise<number> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    io.stderr(`promts: error: playground --nodes must be 1–${MAX_NODES}, got ${opts.nodes}\n`);
    return 2;
  }
  const temporary = opts.dataDir === "";
  const dir = temporary ? mkdtempSync(join(tmpdir(), "promts-playground-")) : opts.dataDir;
  const nodes: PlaygroundNode[] = Array.from({ length: opts.nodes }, () => ({ web: freePort(), cluster: freePort() }));
  const controlPort = freePort();
  const control = `http://127.0.0.1:${controlPort}`;
  const triggerFile = join(dir, "trigger");

  /** The current process of each node, and every one ever started (all are stopped at the end). */
  const current: (NodeProcess | undefined)[] = nodes.map(() => undefined);
  const started: NodeProcess[] = [];
  let webhook: { url: string; stop(): Promise<void> } | undefined;
  let controlServer: { stop(): void } | undefined;
  let stopping = false;
  let failure = "";
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { wake = resolve; });
  const requestStop = (why: string, failed = false) => {
    if (stopping) return;
    stopping = true;
    if (failed) failure = why;
    io.stderr(`playground: ${why}; stopping\n`);
    wake();
  };
  const onInt = () => requestStop("received SIGINT");
  const onTerm = () => requestStop("received SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  opts.stop?.addEventListener("abort", () => requestStop("stop requested"));

  const startNode = (i: number): string => {
    if (!Number.isInteger(i) || i < 0 || i >= nodes.length) throw new Error(`no node ${i} (nodes 0–${nodes.length - 1})`);
    if (stopping) throw new Error("the playground is stopping");
    const now = current[i];
    if (running(now)) throw new Error(`node ${i} is running (pid ${now.pid})`);
    const proc = Bun.spawn([...selfCommand(), ...nodeArgs(dir, nodes, i)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const p: NodeProcess = { i, pid: proc.pid, proc };
    current[i] = p;
    started.push(p);
    void forwardLines(proc.stdout, `[node ${i}] `, io.stdout);
    void forwardLines(proc.stderr, `[node ${i}] `, io.stderr);
    void proc.exited.then((code) => {
      if (!stopping) io.stdout(`[playground] node ${i} (pid ${p.pid}) exited (${proc.signalCode ?? code}); start it again: curl -X POST ${control}/nodes/${i}/start\n`);
    });
    return `started node ${i} (pid ${p.pid})`;
  };

  try {
    webhook = startWebhookLogger("127.0.0.1:0", {
      out: (line) => {
        let payload: Record<string, unknown> = {};
        try {
          payload = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // startWebhookLogger writes the payload as received, which is JSON.
        }
        io.stdout(`[webhook] ${new Date().toISOString()} ${summarizeNotification(payload)} from=${String(payload.externalURL ?? "")}\n`);
      },
      log: () => {},
    });
    const webhookPort = Number(new URL(webhook.url).port);
    for (const [path, text] of Object.entries(playgroundFiles(nodes, controlPort, webhookPort))) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    controlServer = startControl(controlPort, triggerFile, (i) => {
      const text = startNode(i);
      io.stdout(`[playground] ${text}\n`);
      return text;
    }, io);
    for (let i = 0; i < nodes.length; i++) startNode(i);

    // Wait for every node to be ready (bounded), then print where everything is.
    const deadline = performance.now() + READY_DEADLINE_MS;
    for (const [i, node] of nodes.entries()) {
      while (!stopping) {
        const p = current[i];
        if (!running(p)) {
          requestStop(`node ${i} (pid ${started.find((s) => s.i === i)?.pid}) exited during startup`, true);
          break;
        }
        const ok = await fetch(`http://127.0.0.1:${node.web}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
        if (ok) break;
        if (performance.now() > deadline) {
          requestStop(`node ${i} was not ready after ${READY_DEADLINE_MS / 1000} s`, true);
          break;
        }
        await Bun.sleep(100);
      }
    }
    if (!stopping) {
      const lines = [`promts playground: ${nodes.length} clustered node(s); files and data in ${dir}`];
      for (const [i, node] of nodes.entries()) {
        lines.push(`  node ${i}: http://127.0.0.1:${node.web}  (pid ${current[i]!.pid}, cluster 127.0.0.1:${node.cluster}, cluster status ${await clusterStatus(node.web)})`);
      }
      lines.push(
        `  webhook logger: ${webhook.url}/hook  (every notification is printed below as a [webhook] line)`,
        `  demo target: ${control}/metrics  (rule PlaygroundDemo fires while playground_demo_trigger > 0)`,
        `Trigger the demo alert:  curl -X POST ${control}/trigger   (or: touch ${triggerFile})`,
        `Resolve it:              curl -X POST ${control}/resolve   (or: rm ${triggerFile})`,
        `Kill a node with kill <pid>; start it again: curl -X POST ${control}/nodes/<i>/start`,
        "Ctrl-C stops everything.",
      );
      io.stdout(`${lines.join("\n")}\n`);
    }
    await stopped;
  } catch (e) {
    requestStop(`failed: ${e instanceof Error ? e.message : String(e)}`, true);
  } finally {
    controlServer?.stop();
    await Promise.all(started.map((p) => stopNode(p, io)));
    await webhook?.stop();
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    if (temporary) rmSync(dir, { recursive: true, force: true });
  }
  io.stderr(`playground: stopped ${nodes.length} node(s)\n`);
  return failure === "" ? 0 : 1;
}

/** `promts playground` as a role of the executable. */
export const playgroundRole: Role = {
  command: playgroundCommand,
  run: (parsed, io) => runPlayground({ nodes: parsed.flags.nodes as number, dataDir: parsed.flags["data-dir"] as string }, io),
};
