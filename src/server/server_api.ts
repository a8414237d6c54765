/**
 * What the HTTP API (/api/v1) reads from the running server, as the API
 * room's ApiContext. Every field reads the server's current state, so the
 * API always shows the configuration and storage in effect. The API is only
 * served once the server is ready, so `current()` has a context by then.
 */
import { configToYAML, formatDuration, formatSize } from "../config/index.ts";
import type { Engine } from "../promql/index.ts";
import type { ApiContext, MetricMetadata } from "../web/api/index.ts";
import type { ServerContext } from "./prometheus.ts";
import type { ReloadStatus } from "./reloader.ts";
import { effectiveRetention, type ServerFlags } from "./server_flags.ts";
import type { BuildInfo } from "./version.ts";

/** The server state an ApiContext is built from. */
export interface ServerAPISources {
  engine: Engine;
  flags: ServerFlags;
  /** Flag values as text (given or default), for /status/flags. */
  flagText: Readonly<Record<string, string>>;
  info: BuildInfo;
  reloader: ReloadStatus;
  startTime: Date;
  /** The server context; the API runs only once it exists. */
  current(): ServerContext;
  /** Metadata of scraped metrics by name, for /metadata. */
  metadata?: () => Map<string, MetricMetadata[]>;
}

/**
 * Prometheus's storageRetention text for /status/runtimeinfo: "15d",
 * "512MiB", "15d or 512MiB", or "unlimited".
 */
export function retentionText(flags: ServerFlags): string {
  const { timeMs, sizeBytes } = effectiveRetention(flags);
  const parts = [timeMs > 0 ? formatDuration(timeMs) : "", sizeBytes > 0 ? formatSize(sizeBytes) : ""].filter((p) => p !== "");
  return parts.length === 0 ? "unlimited" : parts.join(" or ");
}

/** The ApiContext of a running server. */
export function serverAPIContext(src: ServerAPISources): ApiContext {
  return {
    engine: src.engine,
    metadata: src.metadata,
    queryable: (mint, maxt) => src.current().queryable.querier(mint, maxt),
    tsdbStatus: (limit) => src.current().db.stats(limit),
    config: () => ({ yaml: configToYAML(src.current().config) }),
    flags: () => ({ ...src.flagText }),
    buildInfo: {
      version: src.info.version,
      revision: src.info.revision,
      branch: src.info.branch,
      buildUser: src.info.buildUser,
      buildDate: src.info.buildDate,
      goVersion: src.info.runtimeVersion,
    },
    runtimeInfo: () => ({
      startTime: src.startTime.toISOString(),
      CWD: process.cwd(),
      reloadConfigSuccess: src.reloader.lastSucceeded,
      lastConfigTime: (src.reloader.lastSuccessTime ?? src.startTime).toISOString(),
      corruptionCount: 0,
      goroutineCount: 0,
      GOMAXPROCS: navigator.hardwareConcurrency,
      GOMEMLIMIT: 0,
      GOGC: "",
      GODEBUG: "",
      storageRetention: retentionText(src.flags),
    }),
  };
}
