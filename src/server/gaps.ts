/**
 * The intervals when this node was down, remembered in <data>/gaps.json for
 * gap-free queries on an HA pair (src/remote/gap_fill.ts).
 *
 * At startup, before scraping begins, the newest sample in storage (the
 * head after WAL replay, else the newest block) marks the start of the
 * gap; its end is the start time plus twice the longest scrape interval
 * (the first scrapes of every target land within one interval; the filler
 * keeps only samples local storage lacks, so a generous end is harmless).
 * An empty data directory has no gap (there was nothing before it).
 *
 * Bounded: at most {@link MAX_GAPS} entries (the oldest go first), and a gap
 * that ended before the retention window is dropped.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../log/index.ts";
import type { Gap } from "../remote/index.ts";

export const MAX_GAPS = 64;
/** How old a gap may be when retention is off (size-only or 0). */
const DEFAULT_MAX_AGE_MS = 15 * 24 * 3600 * 1000;

export class GapStore {
  private list: Gap[] = [];

  constructor(private readonly file: string, private readonly logger: Logger) {
    this.list = this.load();
  }

  private load(): Gap[] {
    if (!existsSync(this.file)) return [];
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8")) as unknown;
      const gaps = (data as { gaps?: unknown }).gaps;
      if (!Array.isArray(gaps)) throw new Error(`"gaps" is not a list`);
      return gaps.filter((g): g is Gap => typeof g?.start === "number" && typeof g?.end === "number" && Number.isFinite(g.start) && Number.isFinite(g.end) && g.start <= g.end);
    } catch (err) {
      this.logger.warn("Ignoring unreadable gaps file", { file: this.file, err });
      return [];
    }
  }

  private save(): void {
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, JSON.stringify({ gaps: this.list }));
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.error("Unable to persist the gaps file", { file: this.file, err });
    }
  }

  /** The remembered gaps, oldest first. */
  gaps(): readonly Gap[] {
    return this.list;
  }

  /**
   * Records the gap from `lastSample` (the newest stored timestamp, or
   * undefined with empty storage) to `now + 2 × maxInterval`, when it is longer
   * than one interval; drops gaps older than `retentionMs` and keeps
   * the newest {@link MAX_GAPS}. Returns the gap recorded, if any.
   */
  recordStart(lastSample: number | undefined, now: number, maxIntervalMs: number, retentionMs: number): Gap | undefined {
    const maxAge = retentionMs > 0 ? retentionMs : DEFAULT_MAX_AGE_MS;
    const before = this.list.length;
    this.list = this.list.filter((g) => g.end >= now - maxAge);
    let gap: Gap | undefined;
    if (lastSample !== undefined && now - lastSample > maxIntervalMs) {
      gap = { start: lastSample + 1, end: now + 2 * maxIntervalMs };
      this.list.push(gap);
      this.list.sort((a, b) => a.start - b.start);
      if (this.list.length > MAX_GAPS) this.list = this.list.slice(this.list.length - MAX_GAPS);
      this.logger.info("Remembering the interval this node was down; queries over it read from a cluster peer", { start: new Date(gap.start).toISOString(), end: new Date(gap.end).toISOString() });
    }
    if (gap || this.list.length !== before) this.save();
    return gap;
  }
}
