/**
 * `promts webhook-logger`: a tiny webhook receiver for testing routing.
 * Every POST (any path) is answered 200 and written to stdout as one JSON
 * line (the payload as received), and summarized on stderr as one human
 * line:
 *
 *   receiver=team-db status=firing alerts=2 groupKey={}/{team="db"}:{alertname="DiskFull"}
 *
 * A body that is not JSON is answered 400 and logged on stderr.
 *
 *   promts webhook-logger --listen-address=127.0.0.1:5001
 */
import { readBodyText } from "../alertmanager/api/index.ts";
import { command, enumFlag, stringFlag, type Command, type MainIO, type Role } from "../flags/index.ts";
import { newLogger, nopLogger } from "../log/index.ts";
import { listen, parseListenAddress, runRole } from "../server/index.ts";

/** Largest notification accepted (Alertmanager's payloads are far smaller). */
const MAX_BODY_BYTES = 16 << 20;

/** The role's flags. */
export const webhookLoggerFlags = {
  "listen-address": stringFlag("Address to listen on for webhook notifications.", "127.0.0.1:5001", { placeholder: "<address>" }),
  "output.format": enumFlag("How each notification is written to stdout: the JSON payload on one line, or only the summary line.", ["json", "summary"], "json"),
};

/** The `webhook-logger` command. */
export const webhookLoggerCommand: Command = command("webhook-logger", "Receive Alertmanager webhook notifications and log each one (for testing routing).", webhookLoggerFlags);

/**
 * The human summary of a webhook payload: receiver, status, number of
 * alerts and group key; fields missing from the payload print as "".
 *
 * @example
 * summarizeNotification({ receiver: "web", status: "firing", alerts: [{}], groupKey: "{}:{}" })
 * // 'receiver=web status=firing alerts=1 groupKey={}:{}'
 */
export function summarizeNotification(payload: unknown): string {
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  const alerts = Array.isArray(p.alerts) ? p.alerts.length : 0;
  return `receiver=${text(p.receiver)} status=${text(p.status)} alerts=${alerts} groupKey=${text(p.groupKey)}`;
}

/** A started webhook logger. */
export interface WebhookLogger {
  /** e.g. "http://127.0.0.1:5001" */
  url: string;
  stop(): Promise<void>;
}

/** The receiver's handler: `out` gets the stdout lines, `log` the stderr ones. */
function webhookHandler(io: { out(line: string): void; log(line: string): void }, format: "json" | "summary"): (req: Request) => Promise<Response> {
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST") return new Response("Only POST requests allowed\n", { status: 405 });
    let text: string;
    try {
      text = await readBodyText(req, MAX_BODY_BYTES);
    } catch (e) {
      io.log(`rejected ${path}: ${(e as Error).message}`);
      return new Response(`${(e as Error).message}\n`, { status: 413 });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (e) {
      io.log(`rejected ${path}: body is not JSON: ${(e as Error).message}`);
      return new Response("body is not JSON\n", { status: 400 });
    }
    const summary = summarizeNotification(payload);
    io.out(format === "json" ? JSON.stringify(payload) : summary);
    io.log(`${new Date().toISOString()} ${path} ${summary}`);
    return new Response(null, { status: 200 });
  };
}

/**
 * Starts the receiver on the runtime's listener; `out` gets the stdout
 * lines, `log` the stderr ones. Throws when the address cannot be listened on.
 */
export function startWebhookLogger(listenAddress: string, io: { out(line: string): void; log(line: string): void }, format: "json" | "summary" = "json"): WebhookLogger {
  const { hostname, port } = parseListenAddress(listenAddress);
  const listener = listen(webhookHandler(io, format), { hostname, port, webConfigFile: "", idleTimeoutS: 120 }, undefined, nopLogger);
  if (!listener) throw new Error(`cannot listen on ${listenAddress}`);
  return listener;
}

/**
 * Runs on the server room's runtime (no config, no components) until
 * SIGTERM/SIGINT; resolves with the exit code (1 when it cannot listen).
 */
export async function runWebhookLogger(listenAddress: string, format: "json" | "summary", io: MainIO): Promise<number> {
  let address: { hostname: string; port: number };
  try {
    address = parseListenAddress(listenAddress);
  } catch (err) {
    io.stderr(`promts: error: webhook-logger cannot listen on ${listenAddress}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const lines = { out: (l: string) => io.stdout(`${l}\n`), log: (l: string) => io.stderr(`${l}\n`) };
  return runRole<undefined>({
    logger: newLogger({ write: lines.log }),
    listen: { ...address, webConfigFile: "", idleTimeoutS: 120 },
    app: () => ({ fetch: webhookHandler(lines, format) }),
    components: [],
    onListening: (url) => io.stderr(`webhook-logger listening on ${url}\n`),
  });
}

/** `promts webhook-logger` as a role of the executable. */
export const webhookLoggerRole: Role = {
  command: webhookLoggerCommand,
  run: (parsed, io) => runWebhookLogger(parsed.flags["listen-address"] as string, parsed.flags["output.format"] as "json" | "summary", io),
};
