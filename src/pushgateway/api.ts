/**
 * The Pushgateway's HTTP API, as Pushgateway 1.x serves it:
 *
 * - `PUT|POST|DELETE /metrics/job/<job>{/<name>/<value>}` (and `job@base64`,
 *   `<name>@base64`): push (text format 0.0.4 or protobuf-delimited, gzip
 *   allowed), push-add, delete. 200 on a checked push (202 with the check
 *   disabled), 202 on delete, 400 with the reason for bad input.
 * - `GET /api/v1/metrics`, `GET /api/v1/status`, `PUT /api/v1/admin/wipe`
 *   (with --web.enable-admin-api), `/-/healthy`, `/-/ready`, `/-/quit`.
 * - `GET <telemetry path>`: every group plus the gateway's own metrics.
 *
 * @example
 * const app = pushgatewayApp({ store, registry, telemetryPath: "/metrics", ... });
 * Bun.serve({ port: 9091, fetch: app.fetch });
 */
import { Hono } from "hono";
import { decodeUTF8Escaping, readBoundedBytes } from "../base/index.ts";
import { Registry } from "../model/index.ts";
import { compareMetrics, parseProtobufFamilies, parseTextFamilies, PushBodyError, validateFamilies, writeTextFamilies, type PushedFamily } from "./families.ts";
import { GroupingKeyError, parseGroupingKey } from "./grouping.ts";
import { InconsistentPushError, type PushStore } from "./store.ts";

/** The body size a push may have, compressed or not (bytes). */
export const DEFAULT_MAX_PUSH_BYTES = 64 << 20;

const PROTOBUF_TYPE = "application/vnd.google.protobuf";
const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface PushgatewayAppOptions {
  store: PushStore;
  /** The gateway's own metrics, served with the pushed ones; absent when embedded in the server, which serves its own. */
  registry?: Registry;
  /** Where /api/v1/metrics, /status and /admin/wipe live (default "/api/v1"). */
  apiPath?: string;
  /** Whether to serve /-/healthy, /-/ready and /-/quit (default true; the server serves its own). */
  lifecycle?: boolean;
  /** Path of the gateway's metrics (--web.telemetry-path, default /metrics). */
  telemetryPath: string;
  enableLifecycle: boolean;
  enableAdminAPI: boolean;
  /** --push.disable-consistency-check: pushes answer 202 without the check. */
  disableConsistencyCheck: boolean;
  /** Called by /-/quit (lifecycle enabled). */
  quit(): void;
  /** Whether the role has started (/-/ready answers 503 before). */
  isReady?: () => boolean;
  /** `data` of /api/v1/status. */
  status(): Record<string, unknown>;
  maxPushBytes?: number;
  /** The path the app is mounted under ("" or "/" for the root). */
  routePrefix?: string;
  now?: () => number;
}

class TooLarge extends Error {}

async function readPushBody(req: Request, limit: number): Promise<Uint8Array> {
  const raw = await readBoundedBytes(req.body, limit, () => new TooLarge());
  const enc = (req.headers.get("content-encoding") ?? "").trim().toLowerCase();
  if (enc === "" || enc === "identity") return raw;
  if (enc !== "gzip") throw new PushBodyError(`unsupported Content-Encoding "${enc}"`);
  const unzipped = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  try {
    return await readBoundedBytes(unzipped, limit, () => new TooLarge());
  } catch (err) {
    if (err instanceof TooLarge) throw err;
    throw new PushBodyError(`gzip: ${(err as Error).message || "invalid compressed body"}`);
  }
}

function isProtobuf(contentType: string): boolean {
  const [media, ...params] = contentType.split(";").map((s) => s.trim());
  if (media?.toLowerCase() !== PROTOBUF_TYPE) return false;
  const p = new Map(params.map((kv) => { const i = kv.indexOf("="); return [kv.slice(0, i).trim().toLowerCase(), kv.slice(i + 1).trim()] as const; }));
  return p.get("proto") === "io.prometheus.client.MetricFamily" && p.get("encoding") === "delimited";
}

/** Splits `/metrics/job/<job>/<rest…>` (raw, still percent-encoded) into its parts; null when it is not a push path. */
function splitPushPath(path: string): { job: string; base64: boolean; rest: string } | null {
  const m = /^\/metrics\/(job|job@base64)\/([^/]*)(\/.*)?$/.exec(path);
  if (!m) return null;
  return { job: m[2]!, base64: m[1] === "job@base64", rest: m[3] ?? "" };
}

/**
 * A text-format push body as a string. Bytes that are not UTF-8 become lone
 * surrogates instead of U+FFFD, so the parser refuses them where Go's does
 * (label values: `invalid label value "\xff"`) and keeps them where Go's
 * does (HELP text, comments).
 */
function pushBodyText(body: Uint8Array): string {
  try {
    return UTF8.decode(body);
  } catch {
    return decodeUTF8Escaping(body);
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Merges the gateway's own families into the pushed ones: a pushed family of
 * the same name (a client pushing its `go_*` or `process_*` metrics) shares
 * one family, with the gateway's help text.
 */
export function mergeFamilies(pushed: PushedFamily[], own: PushedFamily[]): PushedFamily[] {
  const byName = new Map(pushed.map((f) => [f.name, f]));
  for (const f of own) {
    const have = byName.get(f.name);
    if (!have) byName.set(f.name, f);
    else byName.set(f.name, { ...have, help: f.help ?? have.help, metrics: [...have.metrics, ...f.metrics].sort(compareMetrics) });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function pushgatewayApp(opts: PushgatewayAppOptions): Hono {
  const { store, registry } = opts;
  const now = opts.now ?? Date.now;
  const limit = opts.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES;
  const prefix = (opts.routePrefix ?? "").replace(/\/+$/, "");
  const requests = (registry ?? new Registry()).counterVec("pushgateway_http_requests_total", "Total HTTP requests processed by the Pushgateway, excluding scrapes.", ["code", "handler", "method"]);
  const count = (code: number, handler: string, method: string) => requests.get([String(code), handler, method.toLowerCase()]).inc();
  const app = new Hono();

  const text = (body: string, status: number): Response => new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

  app.on(["PUT", "POST", "DELETE"], "/metrics/*", async (c) => {
    const method = c.req.method as "PUT" | "POST" | "DELETE";
    const handler = method === "DELETE" ? "delete" : "push";
    const raw = new URL(c.req.url).pathname;
    const parts = splitPushPath(raw.startsWith(prefix) ? raw.slice(prefix.length) : raw);
    if (!parts) return c.text("404 page not found\n", 404);
    let key;
    try {
      key = parseGroupingKey(parts.job, parts.rest, parts.base64);
    } catch (err) {
      if (err instanceof GroupingKeyError) {
        count(400, handler, method);
        return text(`${err.message}\n`, 400);
      }
      throw err;
    }
    if (method === "DELETE") {
      store.delete(key);
      count(202, handler, method);
      return c.body(null, 202);
    }
    let families: PushedFamily[];
    try {
      const body = await readPushBody(c.req.raw, limit);
      if (isProtobuf(c.req.header("content-type") ?? "")) families = parseProtobufFamilies(body);
      else {
        families = parseTextFamilies(pushBodyText(body));
      }
      validateFamilies(families);
    } catch (err) {
      count(400, handler, method);
      if (err instanceof TooLarge) return text(`push body exceeds the limit of ${limit} bytes\n`, 400);
      if (err instanceof PushBodyError) return text(`${err.message}\n`, 400);
      return text(`${err instanceof Error ? err.message : String(err)}\n`, 400);
    }
    try {
      store.push(key, families, method, now());
    } catch (err) {
      if (err instanceof InconsistentPushError) {
        count(400, handler, method);
        return text(`${err.message}\n`, 400);
      }
      throw err;
    }
    const code = opts.disableConsistencyCheck ? 202 : 200;
    count(code, handler, method);
    return c.body(null, code);
  });

  const api = opts.apiPath ?? "/api/v1";
  app.get(`${api}/metrics`, (c) => c.json({ status: "success", data: store.groupsJSON(now()) }));
  app.get(`${api}/status`, (c) => c.json({ status: "success", data: opts.status() }));
  app.put(`${api}/admin/wipe`, (c) => {
    if (!opts.enableAdminAPI) return c.text("404 page not found\n", 404);
    store.wipe();
    return c.body(null, 202);
  });

  if (opts.lifecycle === false) {
    serveMetrics(app, opts, now);
    return app;
  }
  app.on(["GET", "HEAD"], "/-/healthy", (c) => c.text("OK"));
  app.on(["GET", "HEAD"], "/-/ready", (c) => ((opts.isReady?.() ?? true) ? c.text("OK") : c.text("Service Unavailable", 503)));
  app.on(["PUT", "POST"], "/-/quit", (c) => {
    if (!opts.enableLifecycle) return c.text("Lifecycle API is not enabled.", 403);
    setTimeout(opts.quit, 0);
    return c.text("Requesting termination... Goodbye!");
  });

  serveMetrics(app, opts, now);
  return app;
}

/** GET <telemetry path>: every group, then the gateway's own metrics, merged by name. */
function serveMetrics(app: Hono, opts: PushgatewayAppOptions, now: () => number): void {
  app.get(opts.telemetryPath, () => {
    const out: string[] = [];
    writeTextFamilies(mergeFamilies(opts.store.gather(now()), opts.registry ? parseTextFamilies(opts.registry.render()) : []), out);
    return new Response(out.join(""), { headers: { "content-type": TEXT_CONTENT_TYPE } });
  });
}
