/**
 * The notification log: for each (group key, receiver integration) the
 * fingerprints of the firing and resolved alerts last notified and when.
 * The dedup stage reads it to decide whether a flush needs a notification;
 * it survives restarts as a snapshot file (written, then renamed into
 * place, before `log` returns; a failed write keeps the previous file and is
 * retried, see SnapshotFile) and can take entries from cluster peers
 * through {@link NotificationLog.merge}.
 *
 * @example
 * const nflog = new NotificationLog({ path: "data/nflog", retention: 120 * 3600_000 });
 * nflog.log("{}:{alertname=\"x\"}", "team/webhook/0", ["a1b2…"], [], now);
 * nflog.query("{}:{alertname=\"x\"}", "team/webhook/0")?.timestamp; // now
 */
import { existsSync, readFileSync } from "node:fs";
import { SnapshotFile, type SnapshotTuning } from "./snapshot.ts";

/** One receiver integration, as the nflog names it: `group/integration/index`. */
export interface ReceiverKey {
  /** The receiver's name from the config. */
  groupName: string;
  /** The integration type, e.g. "webhook". */
  integration: string;
  /** Position among that receiver's integrations of this type. */
  idx: number;
}

/** `team-x/webhook/0` — Alertmanager's receiverKey. */
export function receiverKeyString(r: ReceiverKey): string {
  return `${r.groupName}/${r.integration}/${r.idx}`;
}

/** What was last sent to one receiver integration for one group. */
export interface NflogEntry {
  groupKey: string;
  receiver: ReceiverKey;
  /** When the notification was sent (Unix ms). */
  timestamp: number;
  /** Fingerprints (16 hex digits) of the firing alerts notified. */
  firingAlerts: string[];
  /** Fingerprints of the resolved alerts notified. */
  resolvedAlerts: string[];
  /** When the entry may be dropped (Unix ms). */
  expiresAt: number;
}

/** Settings for {@link NotificationLog}. */
export interface NotificationLogOptions {
  /** Snapshot file; undefined keeps the log in memory only. */
  path?: string;
  /** How long an entry is kept after it was written (`--data.retention`). */
  retention: number;
  /** Logger and retry settings of the snapshot file. */
  snapshot?: SnapshotTuning;
}

function stateKey(groupKey: string, receiver: string): string {
  return `${groupKey}:${receiver}`;
}

function isEntry(v: unknown): v is NflogEntry {
  const e = v as NflogEntry;
  return typeof e === "object" && e !== null && typeof e.groupKey === "string" && typeof e.timestamp === "number"
    && typeof e.expiresAt === "number" && Array.isArray(e.firingAlerts) && Array.isArray(e.resolvedAlerts)
    && typeof e.receiver?.groupName === "string" && typeof e.receiver?.integration === "string"
    && typeof e.receiver?.idx === "number";
}

/** The notification log; see the module comment. */
export class NotificationLog {
  private readonly entries = new Map<string, NflogEntry>();
  private readonly changeListeners = new Set<(e: NflogEntry) => void>();
  /** Number of queries answered, for alertmanager_nflog_queries_total. */
  queries = 0;

  /** The snapshot file, written after every change. */
  readonly snapshot: SnapshotFile;

  constructor(private readonly opts: NotificationLogOptions) {
    this.snapshot = new SnapshotFile({ ...opts.snapshot, path: opts.path, what: "notification log", encode: () => JSON.stringify(this.list()) });
  }

  /**
   * Reads the snapshot file if there is one. A corrupt or unreadable file
   * is reported (returned as a message) and ignored, never fatal.
   */
  load(now: number): string | undefined {
    const path = this.opts.path;
    if (!path || !existsSync(path)) return undefined;
    try {
      const data = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (!Array.isArray(data)) throw new Error("not a list of entries");
      for (const e of data) if (isEntry(e) && e.expiresAt > now) this.entries.set(stateKey(e.groupKey, receiverKeyString(e.receiver)), e);
      return undefined;
    } catch (e) {
      return `reading notification log snapshot ${path}: ${(e as Error).message}`;
    }
  }

  /** The last entry for this group and receiver integration key (`receiverKeyString`). */
  query(groupKey: string, receiver: string): NflogEntry | undefined {
    this.queries++;
    return this.entries.get(stateKey(groupKey, receiver));
  }

  /** All entries (for snapshots, cluster full-state sync and the API). */
  list(): NflogEntry[] {
    return [...this.entries.values()];
  }

  /** Records a sent notification, persists it, and tells the change listeners (gossip). */
  log(groupKey: string, receiver: ReceiverKey, firing: string[], resolved: string[], now: number): NflogEntry {
    const entry: NflogEntry = {
      groupKey, receiver, timestamp: now, firingAlerts: [...firing].sort(), resolvedAlerts: [...resolved].sort(),
      expiresAt: now + this.opts.retention,
    };
    this.entries.set(stateKey(groupKey, receiverKeyString(receiver)), entry);
    this.persist();
    for (const l of this.changeListeners) l(entry);
    return entry;
  }

  /**
   * Takes entries from a peer (Alertmanager's merge): each is kept when it
   * has not expired and is newer, by timestamp, than the known entry for
   * its group and receiver. The snapshot is written once; the change
   * listeners are not called, so merged entries are not gossiped as local
   * ones. Returns the entries taken.
   */
  merge(incoming: readonly NflogEntry[], now: number): NflogEntry[] {
    const taken: NflogEntry[] = [];
    for (const entry of incoming) {
      if (!isEntry(entry) || entry.expiresAt <= now) continue;
      const key = stateKey(entry.groupKey, receiverKeyString(entry.receiver));
      const known = this.entries.get(key);
      if (known && known.timestamp >= entry.timestamp) continue;
      this.entries.set(key, entry);
      taken.push(entry);
    }
    if (taken.length > 0) this.persist();
    return taken;
  }

  /** Registers a listener for locally logged entries; returns its remover. */
  onChange(listener: (e: NflogEntry) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Drops expired entries; returns how many. */
  gc(now: number): number {
    let removed = 0;
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(k);
        removed++;
      }
    }
    if (removed > 0) this.persist();
    return removed;
  }

  /** Size in bytes of the last snapshot written. */
  get snapshotSize(): number {
    return this.snapshot.size;
  }

  private persist(): void {
    this.snapshot.changed();
  }
}
