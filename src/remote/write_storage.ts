/**
 * Every remote_write queue of the running configuration. A reload keeps a
 * queue whose configuration (and the external labels) did not change — it
 * goes on sending without resending anything — stops the queues that went
 * away and starts new ones. A queue's progress file is named by its
 * remote_name, so a queue whose settings changed resumes where its
 * predecessor stopped.
 *
 * @example
 * const rws = new RemoteWriteStorage({ walDir: "data/wal", progressDir: "data/remote_write", registry });
 * await rws.applyConfig(config);
 * await rws.close();
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { PrometheusConfig, RemoteWriteConfig } from "../config/index.ts";
import { nopLogger, type Logger } from "../log/index.ts";
import type { Registry } from "../model/index.ts";
import type { WriteGate } from "./election.ts";
import { RemoteWriteMetrics, WriteQueue } from "./write_queue.ts";
import type { WriteMetadata } from "./write_messages.ts";

export interface RemoteWriteStorageOptions {
  walDir: string;
  /** Directory of the per-queue progress files. */
  progressDir: string;
  registry: Registry;
  logger?: Logger;
  flushDeadlineMs?: number;
  /** In a cluster: the writer election's gate for a queue (see WriteQueueOptions.gate). */
  gate?: (cfg: RemoteWriteConfig, name: string) => WriteGate | undefined;
  /** The scraped metrics' metadata, for queues whose metadata_config sends it. */
  metadata?: () => WriteMetadata[];
}

/** Prometheus's remote_name default: the first 6 hex digits of a hash of the config. */
export function queueName(cfg: RemoteWriteConfig): string {
  return cfg.name && cfg.name !== "" ? cfg.name : configHash(cfg).slice(0, 6);
}

function configHash(cfg: unknown): string {
  return createHash("sha256").update(JSON.stringify(cfg)).digest("hex");
}

export class RemoteWriteStorage {
  private readonly metrics: RemoteWriteMetrics;
  private readonly queues = new Map<string, { queue: WriteQueue; name: string }>();
  private readonly logger: Logger;

  constructor(private readonly opts: RemoteWriteStorageOptions) {
    this.metrics = new RemoteWriteMetrics(opts.registry);
    this.logger = opts.logger ?? nopLogger;
  }

  /** Starts, keeps or stops queues to match `config.remote_write`. */
  async applyConfig(config: PrometheusConfig): Promise<void> {
    const external = config.global.external_labels ?? {};
    const wanted = new Map<string, { cfg: RemoteWriteConfig; name: string }>();
    const names = new Set<string>();
    for (const cfg of config.remote_write) {
      const name = queueName(cfg);
      if (names.has(name)) throw new Error(`duplicate remote write configs are not allowed, found duplicate for URL: ${cfg.url}`);
      names.add(name);
      wanted.set(configHash({ cfg, external }), { cfg, name });
    }
    for (const [hash, q] of [...this.queues]) {
      if (wanted.has(hash)) continue;
      await q.queue.stop();
      this.queues.delete(hash);
    }
    for (const [hash, { cfg, name }] of wanted) {
      if (this.queues.has(hash)) continue;
      const queue = new WriteQueue({
        config: cfg,
        name,
        walDir: this.opts.walDir,
        progressFile: join(this.opts.progressDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`),
        externalLabels: external,
        metrics: this.metrics,
        logger: this.logger,
        flushDeadlineMs: this.opts.flushDeadlineMs,
        gate: this.opts.gate?.(cfg, name),
        metadata: this.opts.metadata,
      });
      this.queues.set(hash, { queue, name });
      await queue.start();
    }
  }

  /**
   * The lowest of the queues' highest delivered timestamps (ms): what every
   * queue has sent. +Infinity without queues (nothing waits for the WAL), as
   * Prometheus's LowestSentTimestamp.
   */
  lowestSentTimestamp(): number {
    let lowest = Infinity;
    for (const q of this.queues.values()) lowest = Math.min(lowest, q.queue.highestSentTimestamp());
    return lowest;
  }

  /** The running queues by remote_name. */
  queueNames(): string[] {
    return [...this.queues.values()].map((q) => q.name);
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) await q.queue.stop();
    this.queues.clear();
  }
}
