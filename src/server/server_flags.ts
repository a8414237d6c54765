/**
 * The server role's flags, with Prometheus's names, defaults and help texts
 * (plus --alertmanager.config.file and --cluster.* for the built-in
 * Alertmanager). Durations are milliseconds, sizes bytes.
 */
import { hostname as osHostname } from "node:os";
import { parseDuration, parseSize } from "../config/index.ts";
import { clusterFlags, minorityHoldFlag } from "./cluster_component.ts";
import { DEFAULT_PAGE_TITLE, normalizeRoutePrefix } from "../web/index.ts";
import {
  boolFlag,
  customFlag,
  enumFlag,
  intFlag,
  stringFlag,
  stringsFlag,
  type FlagValues,
} from "../flags/index.ts";

/** A host and port to listen on; hostname "0.0.0.0" when the address gave none. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * Parses "host:port", ":port" or "[ipv6]:port" like Go's net.SplitHostPort.
 *
 * @example parseListenAddress(":9090") // { hostname: "0.0.0.0", port: 9090 }
 */
export function parseListenAddress(address: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`address ${address}: expected host:port with a port from 0 to 65535`);
  const host = m[1] ?? m[2] ?? "";
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

function durationFlag(help: string, defaultText: string, opts: { hidden?: boolean } = {}) {
  return customFlag(help, defaultText, parseDuration, { placeholder: "<duration>", ...opts });
}

/** A duration flag with no default: undefined when not given. */
function optionalDurationFlag(help: string, opts: { hidden?: boolean } = {}) {
  return customFlag<number | undefined>(help, "", (t) => (t === "" ? undefined : parseDuration(t)), { placeholder: "<duration>", ...opts });
}

function checkExternalURL(text: string): string {
  if (text !== "" && !URL.canParse(text)) throw new Error("not an absolute URL");
  return text;
}

function anchoredRegexp(text: string): RegExp {
  try {
    return new RegExp(`^(?:${text})$`);
  } catch (err) {
    throw new Error(`invalid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The server's flag declarations; the root command of promts. */
export const serverFlags = {
  "config.file": stringFlag("Prometheus configuration file path.", "prometheus.yml"),
  "web.listen-address": customFlag("Address to listen on for UI, API, and telemetry.", "0.0.0.0:9090", parseListenAddress, { placeholder: "<address>" }),
  "web.config.file": stringFlag("[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication."),
  "web.read-timeout": durationFlag("Maximum duration before timing out read of the request, and closing idle connections.", "5m"),
  "web.max-connections": intFlag("Maximum number of simultaneous connections across all listeners.", 512),
  "web.external-url": customFlag("The URL under which Prometheus is externally reachable (for example, if Prometheus is served via a reverse proxy). Used for generating relative and absolute links back to Prometheus itself. If the URL has a path portion, it will be used to prefix all HTTP endpoints served by Prometheus. If omitted, relevant URL components will be derived automatically.", "", checkExternalURL, { placeholder: "<URL>" }),
  "web.route-prefix": stringFlag("Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.", "", { placeholder: "<path>" }),
  "web.enable-lifecycle": boolFlag("Enable shutdown and reload via HTTP request."),
  "web.enable-admin-api": boolFlag("Enable API endpoints for admin control actions."),
  "web.enable-remote-write-receiver": boolFlag("Enable API endpoint accepting remote write requests."),
  "web.remote-write-receiver.accepted-protobuf-messages": stringsFlag("List of the remote write protobuf messages to accept when receiving the remote writes. Supported values: prometheus.WriteRequest, io.prometheus.write.v2.Request (default: both)", { placeholder: "<value>", commaSeparated: true }),
  "web.page-title": stringFlag("Document title of Prometheus instance.", DEFAULT_PAGE_TITLE),
  "web.cors.origin": customFlag("Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\\.com'", ".*", anchoredRegexp, { placeholder: "<regex>" }),
  "agent": boolFlag("Run in agent mode (as Prometheus's --agent, or --enable-feature=agent in 2.42): scraping and remote write on a WAL-only store, no queries, no rules."),
  "storage.tsdb.path": stringFlag("Base path for metrics storage. Use with server mode only.", "data/"),
  "storage.tsdb.retention": optionalDurationFlag("[DEPRECATED] How long to retain samples in storage. Use \"storage.tsdb.retention.time\" instead.", { hidden: true }),
  "storage.tsdb.retention.time": optionalDurationFlag("How long to retain samples in storage. If neither this flag nor \"storage.tsdb.retention.size\" is set, the retention time defaults to 15d. Units Supported: y, w, d, h, m, s, ms."),
  "storage.tsdb.retention.size": customFlag("Maximum number of bytes that can be stored for blocks. A unit is required, supported units: B, KB, MB, GB, TB, PB, EB. Ex: \"512MB\". Based on powers-of-2, so 1KB is 1024B.", "0", parseSize, { placeholder: "<size>" }),
  "storage.tsdb.min-block-duration": durationFlag("Minimum duration of a data block before being persisted.", "2h", { hidden: true }),
  "storage.tsdb.max-block-duration": optionalDurationFlag("Maximum duration compacted blocks may span. For use in testing. (Defaults to 10% of the retention period.)", { hidden: true }),
  "storage.tsdb.no-lockfile": boolFlag("Do not create lockfile in data directory."),
  "storage.agent.path": stringFlag("Base path for metrics storage. Use with agent mode only.", "data-agent/"),
  "storage.agent.wal-compression": boolFlag("Compress the agent WAL (accepted; promts writes it uncompressed). Use with agent mode only."),
  "storage.agent.wal-segment-size": customFlag("Size at which to split WAL segment files. Example: 100MB. Use with agent mode only.", "128MB", parseSize, { placeholder: "<size>", hidden: true }),
  "storage.agent.wal-truncate-frequency": durationFlag("The frequency at which to truncate the WAL and remove old data. Use with agent mode only.", "2h", { hidden: true }),
  "storage.agent.retention.min-time": optionalDurationFlag("Minimum age samples may be before being considered for deletion when the WAL is truncated. Use with agent mode only."),
  "storage.agent.retention.max-time": optionalDurationFlag("Maximum age samples may be before being forcibly deleted when the WAL is truncated. Use with agent mode only."),
  "storage.agent.no-lockfile": boolFlag("Do not create lockfile in data directory. Use with agent mode only."),
  "storage.remote.read-sample-limit": intFlag("Maximum overall number of samples to return via the remote read interface, in a single query. 0 means no limit. This limit is ignored for streamed response types.", 5e7),
  "storage.remote.read-concurrent-limit": intFlag("Maximum number of concurrent remote read calls. 0 means no limit.", 10),
  "storage.remote.read-max-bytes-in-frame": intFlag("Maximum number of bytes in a single frame for streaming remote read response types before marshalling. Note that client might have limit on frame size as well. 1MB as recommended by protobuf by default.", 1048576),
  "query.lookback-delta": durationFlag("The maximum lookback duration for retrieving metrics during expression evaluations and federation.", "5m"),
  "query.timeout": durationFlag("Maximum time a query may take before being aborted.", "2m"),
  "query.max-concurrency": intFlag("Maximum number of queries executed concurrently.", 20),
  "query.max-samples": intFlag("Maximum number of samples a single query can load into memory. Note that queries will fail if they try to load more samples than this into memory, so this also limits the number of samples a query can return.", 50000000),
  "rules.alert.for-outage-tolerance": durationFlag("Max time to tolerate prometheus outage for restoring \"for\" state of alert.", "1h"),
  "rules.alert.for-grace-period": durationFlag("Minimum duration between alert and restored \"for\" state. This is maintained only for alerts with configured \"for\" time greater than grace period.", "10m"),
  "rules.alert.resend-delay": durationFlag("Minimum amount of time to wait before resending an alert to Alertmanager.", "1m"),
  "alertmanager.notification-queue-capacity": intFlag("The capacity of the queue for pending Alertmanager notifications.", 10000),
  "alertmanager.config.file": stringFlag("Alertmanager configuration file path; when set, promts runs its built-in Alertmanager with it."),
  // The built-in Alertmanager's cluster: off unless a cluster flag is given (see builtinClusterOptions).
  ...clusterFlags(""),
  "cluster.minority-hold": minorityHoldFlag(),
  "pushgateway.enable": boolFlag("Serve the Pushgateway's API from this server: pushes to /metrics/job/…, the groups on /pushgateway/metrics (scrape it with honor_labels: true)."),
  "pushgateway.persistence.file": stringFlag("File the built-in Pushgateway persists its groups to. Defaults to pushgateway.json in --storage.tsdb.path.", "", { placeholder: "<file>" }),
  "pushgateway.persistence.interval": durationFlag("The minimum interval at which the built-in Pushgateway writes its persistence file.", "5m"),
  "pushgateway.group-ttl": durationFlag("Drop a pushed group not pushed to for longer than this. 0 keeps groups forever.", "0s"),
  "log.level": enumFlag("Only log messages with the given severity or above. One of: [debug, info, warn, error]", ["debug", "info", "warn", "error"], "info"),
  "log.format": enumFlag("Output format of log messages. One of: [logfmt, json]", ["logfmt", "json"], "logfmt"),
  "enable-feature": stringsFlag("Comma separated feature names to enable.", { placeholder: "<name>", commaSeparated: true }),
};

/** The parsed server flags. */
export type ServerFlags = FlagValues<typeof serverFlags>;

/**
 * The --enable-feature names promts acts on. Prometheus's other feature
 * names are accepted and logged as unknown, as Prometheus does.
 */
export const KNOWN_FEATURES: ReadonlySet<string> = new Set(["agent"]);

/** Whether the server runs as an agent: --agent, or Prometheus 2.42's --enable-feature=agent. */
export function agentMode(flags: ServerFlags): boolean {
  return flags.agent || flags["enable-feature"].includes("agent");
}

/** The data directory: --storage.agent.path in agent mode, else --storage.tsdb.path. */
export function dataDir(flags: ServerFlags): string {
  return agentMode(flags) ? flags["storage.agent.path"] : flags["storage.tsdb.path"];
}

/** Flags Prometheus allows in server mode only (it refuses them, given explicitly, in agent mode), plus the built-in Alertmanager's. */
export const SERVER_ONLY_FLAGS: ReadonlySet<string> = new Set([
  "storage.tsdb.path", "storage.tsdb.retention", "storage.tsdb.retention.time", "storage.tsdb.retention.size", "storage.tsdb.no-lockfile",
  "storage.tsdb.min-block-duration", "storage.tsdb.max-block-duration",
  "storage.remote.read-sample-limit", "storage.remote.read-concurrent-limit", "storage.remote.read-max-bytes-in-frame",
  "rules.alert.for-outage-tolerance", "rules.alert.for-grace-period", "rules.alert.resend-delay",
  "alertmanager.notification-queue-capacity", "query.lookback-delta", "query.timeout", "query.max-concurrency", "query.max-samples",
  "alertmanager.config.file",
]);

/** Flags Prometheus allows in agent mode only. */
export const AGENT_ONLY_FLAGS: ReadonlySet<string> = new Set([
  "storage.agent.path", "storage.agent.wal-compression", "storage.agent.wal-segment-size", "storage.agent.wal-truncate-frequency",
  "storage.agent.retention.min-time", "storage.agent.retention.max-time", "storage.agent.no-lockfile",
]);

/**
 * Prometheus's refusal of flags given for the other mode, or undefined:
 * e.g. `The following flag(s) can not be used in agent mode: ["--storage.tsdb.path"]`.
 */
export function modeFlagConflict(flags: ServerFlags, given: readonly string[]): string | undefined {
  const agent = agentMode(flags);
  const wrong = given.filter((f) => (agent ? SERVER_ONLY_FLAGS : AGENT_ONLY_FLAGS).has(f)).map((f) => JSON.stringify(`--${f}`));
  if (wrong.length === 0) return undefined;
  return `The following flag(s) can not be used in ${agent ? "agent" : "server"} mode: [${wrong.join(" ")}]`;
}

/** Prometheus's retention default when neither time nor size is limited: 15 days. */
export const DEFAULT_RETENTION_MS = 15 * 24 * 3600 * 1000;

/**
 * The effective retention: --storage.tsdb.retention.time, else the deprecated
 * --storage.tsdb.retention, else 15d unless a size limit is set (then no
 * time limit, as in Prometheus). 0 means unlimited.
 */
export function effectiveRetention(flags: ServerFlags): { timeMs: number; sizeBytes: number } {
  const sizeBytes = flags["storage.tsdb.retention.size"];
  const explicit = flags["storage.tsdb.retention.time"] ?? flags["storage.tsdb.retention"];
  return { timeMs: explicit ?? (sizeBytes > 0 ? 0 : DEFAULT_RETENTION_MS), sizeBytes };
}

/**
 * The route prefix: --web.route-prefix, else the path of --web.external-url,
 * normalized to "/" or "/a/b".
 */
export function routePrefix(flags: ServerFlags): string {
  const external = flags["web.external-url"];
  const prefix = flags["web.route-prefix"] !== "" ? flags["web.route-prefix"] : external !== "" ? new URL(external).pathname : "/";
  return normalizeRoutePrefix(prefix);
}

/**
 * The URL under which the server is reachable from outside (links in alerts,
 * the UI): --web.external-url, else "http://<hostname>:<listen port>", as
 * Prometheus derives it. The path never ends in "/".
 *
 * @example externalURL(flags, "box") // "http://box:9090" with default flags
 */
export function externalURL(flags: ServerFlags, hostname: string = osHostname()): string {
  const given = flags["web.external-url"];
  const url = new URL(given !== "" ? given : `http://${hostname}:${flags["web.listen-address"].port}/`);
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
