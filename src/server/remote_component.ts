/**
 * Remote storage and federation inside the server: the remote_write queues
 * (progress kept in <storage.tsdb.path>/remote_write/), `POST /api/v1/write`
 * (behind --web.enable-remote-write-receiver), `POST /api/v1/read` and
 * `GET /federate`. The
 * handlers are built before storage opens (the HTTP server answers at once)
 * and read the running server's context when a request comes, which the web
 * app only lets through once the server is ready.
 */
import { Hono } from "hono";
import { join } from "node:path";
import { METRIC_TYPES, PROTO_V1, PROTO_V2, REMOTE_WRITE_PROTO_MSGS, remoteReadHandler, RemoteReadStorage, RemoteWriteStorage, remoteWriteHandler, type RemoteWriteProtoMsg, type WriteGate, type WriteMetadata } from "../remote/index.ts";
import type { RemoteWriteConfig } from "../config/index.ts";
import { adminAPI, federate } from "../web/index.ts";
import type { MetricMetadata } from "../web/api/index.ts";
import type { Logger } from "../log/index.ts";
import { AGENT_UNSUPPORTED, type Queryable } from "../tsdb/index.ts";
import type { ServerComponent, ServerContext } from "./prometheus.ts";
import { agentMode, dataDir, type ServerFlags } from "./server_flags.ts";

/** The messages --web.remote-write-receiver.accepted-protobuf-messages names (both when not given). */
export function acceptedWriteMessages(values: readonly string[]): RemoteWriteProtoMsg[] {
  if (values.length === 0) return [PROTO_V1, PROTO_V2];
  for (const v of values) {
    if (!(REMOTE_WRITE_PROTO_MSGS as readonly string[]).includes(v)) {
      throw new Error(`--web.remote-write-receiver.accepted-protobuf-messages: unknown message ${JSON.stringify(v)}; supported: ${REMOTE_WRITE_PROTO_MSGS.join(", ")}`);
    }
  }
  return [...new Set(values)] as RemoteWriteProtoMsg[];
}

/** Metadata by metric name as remote write sends it (an unknown type as "unknown"). */
export function writeMetadata(byName: Map<string, MetricMetadata[]>): WriteMetadata[] {
  const out: WriteMetadata[] = [];
  for (const [name, list] of byName) {
    for (const md of list) {
      const type = (METRIC_TYPES as readonly string[]).includes(md.type) ? (md.type as WriteMetadata["type"]) : "unknown";
      out.push({ metricFamilyName: name, type, help: md.help, unit: md.unit });
    }
  }
  return out;
}

/**
 * Local storage's start time for remote_read without read_recent, as
 * Prometheus's: the oldest block's minimum time (now without blocks) plus
 * twice the minimum block duration.
 */
export function localStartTime(ctx: ServerContext): number {
  const blocks = ctx.db.blocks();
  const start = blocks.length > 0 ? blocks[0]!.minTime : Math.floor(Date.now() / 1000) * 1000;
  return start + 2 * ctx.flags["storage.tsdb.min-block-duration"];
}

/**
 * Owns the remote-write receiver and federation endpoints of a running server.
 *
 * @example
 * const remote = new RemoteService(flags);
 * v1.route("/", remote.apiRoutes());                     // /write, /read, /admin/tsdb/*
 * newWebApp({ ..., extraRoutes: remote.rootRoutes() });  // adds /federate
 * components.push(remote.component);
 */
export class RemoteService {
  private ctx: ServerContext | undefined;
  private readStorage: RemoteReadStorage | undefined;
  private writeStorage: RemoteWriteStorage | undefined;
  private readonly accepted: RemoteWriteProtoMsg[];

  constructor(
    private readonly flags: ServerFlags,
    private readonly logger?: Logger,
    /** In a cluster: whether each remote_write queue sends (the HA writer election). */
    private readonly writeGate?: (cfg: RemoteWriteConfig, name: string) => WriteGate | undefined,
    /** The scraped metrics' metadata by name (the scrape service's), sent by remote_write queues with metadata_config. */
    private readonly metadata?: () => Map<string, MetricMetadata[]>,
  ) {
    this.accepted = acceptedWriteMessages(flags["web.remote-write-receiver.accepted-protobuf-messages"]);
  }

  /** Starts the remote_write queues (tailing the WAL); reloads re-apply `remote_write`, shutdown flushes and stops them. */
  readonly component: ServerComponent = (ctx) => {
    this.ctx = ctx;
    const dir = dataDir(ctx.flags);
    const metadata = this.metadata;
    const storage = new RemoteWriteStorage({
      walDir: join(dir, "wal"), progressDir: join(dir, "remote_write"), registry: ctx.registry, logger: ctx.logger, gate: this.writeGate,
      metadata: metadata && (() => writeMetadata(metadata())),
    });
    const read = new RemoteReadStorage({ registry: ctx.registry, localStartTime: () => localStartTime(ctx) });
    this.readStorage = read;
    this.writeStorage = storage;
    ctx.reloadHooks.push(async (config) => {
      read.applyConfig(config);
      await storage.applyConfig(config);
    });
    ctx.closeHooks.push(() => storage.close());
  };

  /** What every remote_write queue has delivered (ms; +Infinity without queues): how far the agent may truncate its WAL. */
  lowestSentTimestamp(): number {
    return this.writeStorage?.lowestSentTimestamp() ?? 0;
  }

  /** The remote_read endpoints in effect (none before the component starts). */
  readQueryables(): readonly Queryable[] {
    return this.readStorage?.queryables() ?? [];
  }

  private current(): ServerContext {
    if (!this.ctx) throw new Error("server is not ready");
    return this.ctx;
  }

  /** The /api/v1 routes of this room: POST /write, POST /read and the admin API. */
  apiRoutes(): Hono {
    const v1 = new Hono();
    if (this.flags["web.enable-remote-write-receiver"]) {
      const write = remoteWriteHandler({
        appender: () => this.current().db.appender(),
        acceptedMessages: this.accepted,
        logger: this.logger?.with({ component: "web" }),
      });
      v1.post("/write", (c) => write(c.req.raw));
    } else {
      v1.post("/write", (c) => c.text("remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n", 404));
    }
    const read = remoteReadHandler({
      querier: (mint, maxt) => this.current().db.querier(mint, maxt),
      externalLabels: () => this.current().config.global.external_labels,
      sampleLimit: this.flags["storage.remote.read-sample-limit"],
      concurrencyLimit: this.flags["storage.remote.read-concurrent-limit"],
      maxBytesInFrame: this.flags["storage.remote.read-max-bytes-in-frame"],
    });
    v1.post("/read", (c) => read(c.req.raw));
    v1.route("/admin/tsdb", adminAPI({ enabled: this.flags["web.enable-admin-api"], db: () => this.current().db, dataDir: this.flags["storage.tsdb.path"] }));
    return v1;
  }

  /** Routes beside /api/v1 under the route prefix: /federate. */
  rootRoutes(): Hono {
    const app = new Hono();
    if (agentMode(this.flags)) {
      // As Prometheus's agent: there is nothing to federate.
      const refuse = () => new Response(`${AGENT_UNSUPPORTED}\n`, { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
      app.get("/federate", refuse);
      app.post("/federate", refuse);
      return app;
    }
    const handler = (req: Request) =>
      federate(req, {
        querier: (mint, maxt) => this.current().db.querier(mint, maxt),
        lookbackDelta: this.flags["query.lookback-delta"],
        externalLabels: () => this.current().config.global.external_labels,
      });
    app.get("/federate", (c) => handler(c.req.raw));
    app.post("/federate", (c) => handler(c.req.raw));
    return app;
  }
}
