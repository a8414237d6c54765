/**
 * The snapshot file of the silences or the notification log, written after
 * every change (sooner than Alertmanager, which snapshots every
 * `--data.maintenance-interval`).
 *
 * A write that fails (disk full, I/O error, read-only file system) never
 * fails the change that caused it and never touches the previous snapshot:
 * the state stays in memory, the failure is logged and counted, and the
 * snapshot is written again on a timer (1 s, doubling up to 1 min) and on
 * the next change, until it succeeds. So a silence acknowledged with 200
 * while the disk was full is on disk once the disk is writable again, as in
 * Alertmanager, whose periodic snapshot picks it up.
 *
 * @example
 * const snap = new SnapshotFile({ path: "data/silences", what: "silences", encode: () => JSON.stringify(list()) });
 * snap.changed(); // writes now, or keeps trying
 */
import { writeFileAtomic } from "../base/index.ts";
import { nopLogger, type Logger } from "../log/index.ts";

/** First retry delay after a failed write. */
const RETRY_MIN_MS = 1000;
/** Longest retry delay. */
const RETRY_MAX_MS = 60_000;

/** Settings for {@link SnapshotFile}. */
export interface SnapshotFileOptions {
  /** Where the snapshot goes; undefined keeps the state in memory only. */
  path: string | undefined;
  /** What is snapshotted, for logs ("silences", "notification log"). */
  what: string;
  /** The snapshot's content now. */
  encode: () => string;
  logger?: Logger;
  /** Replaces the atomic file replace, for fault-injection tests. */
  write?: (path: string, text: string) => void;
  /** First retry delay in ms (default 1 s); doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** What the owner of a snapshot file may tune: logging, retries, and the writer (for tests). */
export type SnapshotTuning = Pick<SnapshotFileOptions, "logger" | "write" | "retryMinMs" | "retryMaxMs">;

/** One snapshot file kept in step with in-memory state; see the module comment. */
export class SnapshotFile {
  /** Failed writes so far (alertmanager_*_maintenance_errors_total). */
  errors = 0;
  /** Bytes of the last snapshot written (alertmanager_*_snapshot_size_bytes). */
  size = 0;
  private dirty = false;
  /** Whether the last write failed. */
  private failing = false;
  private retryMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly logger: Logger;
  private readonly write: (path: string, text: string) => void;

  constructor(private readonly opts: SnapshotFileOptions) {
    this.logger = opts.logger ?? nopLogger;
    this.write = opts.write ?? writeFileAtomic;
    this.retryMs = opts.retryMinMs ?? RETRY_MIN_MS;
  }

  /** Whether the state has changes not yet on disk. */
  get pending(): boolean {
    return this.dirty;
  }

  /** Whether a retry is scheduled. */
  get retrying(): boolean {
    return this.timer !== undefined;
  }

  /** The state changed: write it now; on failure keep it pending and retry. Never throws for I/O. */
  changed(): void {
    if (this.opts.path === undefined) return;
    this.dirty = true;
    this.flush();
  }

  /** Writes the state if it has unwritten changes; returns whether it is on disk. */
  flush(): boolean {
    const path = this.opts.path;
    if (path === undefined || !this.dirty) return true;
    try {
      const text = this.opts.encode();
      this.write(path, text);
      this.size = Buffer.byteLength(text);
      if (this.failing) this.logger.info(`Wrote ${this.opts.what} snapshot after earlier failures`, { file: path });
      this.failing = false;
      this.dirty = false;
      this.cancelRetry();
      this.retryMs = this.opts.retryMinMs ?? RETRY_MIN_MS;
      return true;
    } catch (err) {
      this.errors++;
      this.failing = true;
      this.logger.error(`Writing ${this.opts.what} snapshot failed; the previous snapshot is kept and the write retried`, {
        file: path, err: (err as Error).message ?? String(err), retry_in: `${this.retryMs}ms`,
      });
      this.scheduleRetry();
      return false;
    }
  }

  /** Stops retrying (a last flush() is the caller's choice). */
  close(): void {
    this.cancelRetry();
  }

  private scheduleRetry(): void {
    if (this.timer !== undefined) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? RETRY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private cancelRetry(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
