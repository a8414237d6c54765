/**
 * The outcome of the Prometheus server's configuration loads (startup and
 * every reload), as Prometheus exports it:
 * prometheus_config_last_reload_successful and
 * prometheus_config_last_reload_success_timestamp_seconds, and for
 * /api/v1/status/runtimeinfo. Serializing the reloads themselves is the
 * runtime's job (src/server/runtime.ts).
 */
import type { Gauge, Registry } from "../model/index.ts";

/** Records whether the last load of prometheus.yml succeeded, and when one last did. */
export class ReloadStatus {
  private readonly successful: Gauge;
  private readonly successTimestamp: Gauge;
  /** Whether the last load (startup or reload) succeeded. */
  lastSucceeded = false;
  /** When the configuration in effect was loaded; undefined before startup completes. */
  lastSuccessTime: Date | undefined;

  constructor(registry: Registry) {
    this.successful = registry.gauge("prometheus_config_last_reload_successful", "Whether the last configuration reload attempt was successful.");
    this.successTimestamp = registry.gauge("prometheus_config_last_reload_success_timestamp_seconds", "Timestamp of the last successful configuration reload.");
  }

  record(ok: boolean): void {
    this.lastSucceeded = ok;
    this.successful.set(ok ? 1 : 0);
    if (!ok) return;
    this.lastSuccessTime = new Date();
    this.successTimestamp.set(Math.floor(this.lastSuccessTime.getTime() / 1000));
  }
}
