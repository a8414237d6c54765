/**
 * Configuration reloads of the server (SIGHUP, POST /-/reload): re-read the
 * file, hand it to every reload hook, and only then make it the config in
 * effect. Reloads run one at a time and wait until the server is ready. The
 * outcome is exported as prometheus_config_last_reload_successful and
 * prometheus_config_last_reload_success_timestamp_seconds.
 */
import { loadConfigFile } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Gauge, Registry } from "../model/index.ts";
import type { ServerContext } from "./server.ts";

/** Serializes reloads of one configuration file and records their outcome. */
export class ConfigReloader {
  private readonly successful: Gauge;
  private readonly successTimestamp: Gauge;
  /** Whether the last load (startup or reload) succeeded. */
  lastSucceeded = false;
  /** When the configuration in effect was loaded; undefined before startup completes. */
  lastSuccessTime: Date | undefined;
  private attachTo!: (ctx: ServerContext) => void;
  /** Every reload chains onto this; it starts settled once attach() is called. */
  private chain: Promise<ServerContext>;

  constructor(private readonly configFile: string, private readonly logger: Logger, registry: Registry) {
    this.successful = registry.gauge("prometheus_config_last_reload_successful", "Whether the last configuration reload attempt was successful.");
    this.successTimestamp = registry.gauge("prometheus_config_last_reload_success_timestamp_seconds", "Timestamp of the last successful configuration reload.");
    this.chain = new Promise((resolve) => { this.attachTo = resolve; });
  }

  /** Records the startup load as a success and lets reloads run against `ctx`. */
  attach(ctx: ServerContext): void {
    this.markSuccess();
    this.attachTo(ctx);
  }

  /**
   * Reloads the file. On failure the old configuration stays in effect, the
   * success gauge drops to 0, and the returned promise rejects with the reason.
   */
  reload(): Promise<void> {
    const previous = this.chain;
    const run = previous.then(async (ctx) => {
      await this.apply(ctx);
      return ctx;
    });
    this.chain = run.catch(() => previous);
    return run.then(() => undefined);
  }

  private async apply(ctx: ServerContext): Promise<void> {
    const start = performance.now();
    this.logger.info("Loading configuration file", { filename: this.configFile });
    try {
      const next = loadConfigFile(this.configFile);
      for (const warning of next.warnings) this.logger.warn("Config warning", { file: this.configFile, warning });
      for (const hook of ctx.reloadHooks) await hook(next.config);
      ctx.config = next.config;
    } catch (err) {
      this.lastSucceeded = false;
      this.successful.set(0);
      this.logger.error(`Error reloading config (--config.file=${this.configFile})`, { file: this.configFile, err });
      throw err;
    }
    this.markSuccess();
    this.logger.info("Completed loading of configuration file", {
      filename: this.configFile,
      totalDuration: `${(performance.now() - start).toFixed(3)}ms`,
    });
  }

  private markSuccess(): void {
    this.lastSucceeded = true;
    this.lastSuccessTime = new Date();
    this.successful.set(1);
    this.successTimestamp.set(Math.floor(this.lastSuccessTime.getTime() / 1000));
  }
}
