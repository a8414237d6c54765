/**
 * Silences: label matchers plus a time window during which matching alerts
 * are not notified. Rules follow Alertmanager's silence package:
 *
 * - state is `pending` before startsAt, `active` until endsAt, then `expired`;
 * - `set` with an id updates in place only when the matchers are unchanged
 *   and the times allow it (an active silence keeps its startsAt and may
 *   not end in the past; a pending one may not start in the past);
 *   otherwise the old silence is expired and a new one (new UUID) created;
 * - expired silences are dropped `retention` after they ended;
 * - every change is written to the snapshot file (write, then rename)
 *   before the call returns; a failed write keeps the previous file and is
 *   retried (see SnapshotFile), it never fails the change.
 *
 * @example
 * const s = new Silences({ path: "data/silences", retention: 120 * 3600_000 });
 * const id = s.set({ matchers: [{ name: "alertname", value: "x", isRegex: false, isEqual: true }],
 *   startsAt: now, endsAt: now + 3600_000, createdBy: "me", comment: "maintenance" }, now);
 * s.mutes(labels, now); // [id] while active
 */
import { existsSync, readFileSync } from "node:fs";
import { LABEL_NAME_RE, newMatcher, translateRE2, type Labels, type Matcher } from "../model/index.ts";
import { matchesAll } from "../model/index.ts";
import { SnapshotFile, type SnapshotTuning } from "./snapshot.ts";

/** A silence matcher as the API v2 spells it. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false negates the matcher (`!=` / `!~`); absent means true. */
  isEqual?: boolean;
}

/** A stored silence. Times are Unix milliseconds. */
export interface Silence {
  id: string;
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  updatedAt: number;
  createdBy: string;
  comment: string;
}

/** What a client sends to create or update a silence (no id: create). */
export type PostableSilence = Omit<Silence, "id" | "updatedAt"> & { id?: string };

/** A silence's state at a given time. */
export type SilenceState = "pending" | "active" | "expired";

/** The state of `s` at `now`. */
export function silenceState(s: Silence, now: number): SilenceState {
  if (now < s.startsAt) return "pending";
  if (now >= s.endsAt) return "expired";
  return "active";
}

/** A client error (bad silence, unknown id); the API answers 400/404 with its message. */
export class SilenceError extends Error {
  override name = "SilenceError";
  constructor(message: string, readonly notFound = false) {
    super(message);
  }
}

/** Converts an API matcher to a model matcher; throws for bad names or regexes. */
export function toMatcher(m: SilenceMatcher): Matcher {
  if (!LABEL_NAME_RE.test(m.name)) throw new Error(`invalid label name ${JSON.stringify(m.name)}`);
  const equal = m.isEqual ?? true;
  const type = m.isRegex ? (equal ? "=~" : "!~") : equal ? "=" : "!=";
  try {
    // Alertmanager validates a silence's pattern as written, then matches ^(?:pattern)$.
    if (m.isRegex) translateRE2(m.value);
    return newMatcher(type, m.name, m.value);
  } catch (e) {
    throw new Error(`invalid regular expression ${JSON.stringify(m.value)}: ${(e as Error).message}`);
  }
}

/** Alertmanager's validateSilence; throws {@link SilenceError}. */
export function validateSilence(s: PostableSilence): void {
  if (!Array.isArray(s.matchers) || s.matchers.length === 0) throw new SilenceError("at least one matcher required");
  let allMatchEmpty = true;
  s.matchers.forEach((m, i) => {
    let matcher: Matcher;
    try {
      matcher = toMatcher(m);
    } catch (e) {
      throw new SilenceError(`invalid label matcher ${i}: ${(e as Error).message}`);
    }
    // Like Alertmanager, negative matchers never count as matching the empty string.
    allMatchEmpty &&= (matcher.type === "=" || matcher.type === "=~") && matcher.matches("");
  });
  if (allMatchEmpty) throw new SilenceError("at least one matcher must not match the empty string");
  if (!s.startsAt) throw new SilenceError("invalid zero start timestamp");
  if (!s.endsAt) throw new SilenceError("invalid zero end timestamp");
  if (s.endsAt < s.startsAt) throw new SilenceError("end time must not be before start time");
}

function sameMatchers(a: SilenceMatcher[], b: SilenceMatcher[]): boolean {
  return a.length === b.length && a.every((m, i) => {
    const o = b[i]!;
    return m.name === o.name && m.value === o.value && m.isRegex === o.isRegex && (m.isEqual ?? true) === (o.isEqual ?? true);
  });
}

/** Alertmanager's canUpdate: whether `next` may replace `prev` in place at `now`. */
function canUpdate(prev: Silence, next: PostableSilence, now: number): boolean {
  if (!sameMatchers(prev.matchers, next.matchers)) return false;
  switch (silenceState(prev, now)) {
    case "active":
      return next.startsAt === prev.startsAt && next.endsAt >= now;
    case "pending":
      return next.startsAt >= now;
    case "expired":
      return false;
  }
}

/** Settings for {@link Silences}. */
export interface SilencesOptions {
  /** Snapshot file; undefined keeps silences in memory only. */
  path?: string;
  /** How long expired silences are kept after they ended (`--data.retention`). */
  retention: number;
  /** Makes ids; crypto.randomUUID by default. */
  newID?: () => string;
  /** Logger and retry settings of the snapshot file. */
  snapshot?: SnapshotTuning;
}

interface CompiledSilence {
  silence: Silence;
  matchers: Matcher[];
}

function isSilence(v: unknown): v is Silence {
  const s = v as Silence;
  return typeof s === "object" && s !== null && typeof s.id === "string" && Array.isArray(s.matchers)
    && typeof s.startsAt === "number" && typeof s.endsAt === "number" && typeof s.updatedAt === "number";
}

/** The silence store; see the module comment. */
export class Silences {
  private readonly silences = new Map<string, Silence>();
  private readonly changeListeners = new Set<(s: Silence) => void>();
  private version = 0;
  private index: { version: number; compiled: CompiledSilence[] } = { version: -1, compiled: [] };
  private readonly newID: () => string;
  /** The snapshot file, written after every change. */
  readonly snapshot: SnapshotFile;

  constructor(private readonly opts: SilencesOptions) {
    this.newID = opts.newID ?? (() => crypto.randomUUID());
    this.snapshot = new SnapshotFile({ ...opts.snapshot, path: opts.path, what: "silences", encode: () => JSON.stringify(this.list()) });
  }

  /** Reads the snapshot; a corrupt file is reported (returned) and ignored. */
  load(): string | undefined {
    const path = this.opts.path;
    if (!path || !existsSync(path)) return undefined;
    try {
      const data = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (!Array.isArray(data)) throw new Error("not a list of silences");
      for (const s of data) if (isSilence(s)) this.silences.set(s.id, s);
      this.version++;
      return undefined;
    } catch (e) {
      return `reading silences snapshot ${path}: ${(e as Error).message}`;
    }
  }

  /** The silence with this id. */
  get(id: string): Silence | undefined {
    return this.silences.get(id);
  }

  /** Every stored silence (expired ones until garbage-collected). */
  list(): Silence[] {
    return [...this.silences.values()];
  }

  /**
   * Creates or updates a silence (see the module comment for when an update
   * makes a new silence) and returns the id now holding it. Throws
   * {@link SilenceError} for invalid silences and unknown ids.
   */
  set(input: PostableSilence, now: number): string {
    try {
      validateSilence(input);
    } catch (e) {
      throw new SilenceError(`silence invalid: ${(e as Error).message}`);
    }
    const prev = input.id ? this.silences.get(input.id) : undefined;
    if (input.id && !prev) throw new SilenceError(`silence ${input.id} not found`, true);
    if (prev && canUpdate(prev, input, now)) {
      this.store({ ...prev, ...input, id: prev.id, updatedAt: now });
      return prev.id;
    }
    if (prev && silenceState(prev, now) !== "expired") this.expire(prev.id, now);
    const id = this.newID();
    this.store({
      id, matchers: input.matchers.map((m) => ({ ...m, isEqual: m.isEqual ?? true })),
      startsAt: Math.max(input.startsAt, now), endsAt: input.endsAt, updatedAt: now,
      createdBy: input.createdBy, comment: input.comment,
    });
    return id;
  }

  /** Ends a silence now (a pending one gets startsAt = endsAt = now). Throws for unknown or expired ones. */
  expire(id: string, now: number): void {
    const s = this.silences.get(id);
    if (!s) throw new SilenceError(`silence ${id} not found`, true);
    switch (silenceState(s, now)) {
      case "expired":
        throw new SilenceError(`silence ${id} already expired`);
      case "active":
        this.store({ ...s, endsAt: now, updatedAt: now });
        break;
      case "pending":
        this.store({ ...s, startsAt: now, endsAt: now, updatedAt: now });
        break;
    }
  }

  /**
   * Takes silences from a peer (Alertmanager's merge): each is kept when it
   * is not past retention (endsAt + retention) and is newer, by updatedAt,
   * than the known one. The snapshot is written once; the change listeners
   * are not called (they gossip local changes). Returns the silences taken.
   */
  merge(incoming: readonly Silence[], now: number): Silence[] {
    const taken: Silence[] = [];
    for (const s of incoming) {
      if (!isSilence(s) || s.endsAt + this.opts.retention <= now) continue;
      const known = this.silences.get(s.id);
      if (known && known.updatedAt >= s.updatedAt) continue;
      this.silences.set(s.id, s);
      taken.push(s);
    }
    if (taken.length > 0) this.changed();
    return taken;
  }

  /** Registers a listener for local changes (gossip); returns its remover. */
  onChange(listener: (s: Silence) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Ids of the silences active at `now` whose matchers all match `labels`, sorted. */
  mutes(labels: Labels, now: number): string[] {
    if (this.index.version !== this.version) {
      const compiled: CompiledSilence[] = [];
      for (const s of this.silences.values()) {
        try {
          compiled.push({ silence: s, matchers: s.matchers.map(toMatcher) });
        } catch {
          // A silence merged from a peer with a matcher we cannot compile silences nothing.
        }
      }
      this.index = { version: this.version, compiled };
    }
    const ids: string[] = [];
    for (const c of this.index.compiled) {
      if (silenceState(c.silence, now) === "active" && matchesAll(c.matchers, labels)) ids.push(c.silence.id);
    }
    return ids.sort();
  }

  /** Number of silences per state at `now`. */
  countByState(now: number): Record<SilenceState, number> {
    const counts = { pending: 0, active: 0, expired: 0 };
    for (const s of this.silences.values()) counts[silenceState(s, now)]++;
    return counts;
  }

  /** Drops silences that ended more than `retention` ago; returns how many. */
  gc(now: number): number {
    let removed = 0;
    for (const [id, s] of this.silences) {
      if (s.endsAt + this.opts.retention <= now) {
        this.silences.delete(id);
        removed++;
      }
    }
    if (removed > 0) this.changed();
    return removed;
  }

  private store(s: Silence): void {
    this.silences.set(s.id, s);
    this.changed();
    for (const l of this.changeListeners) l(s);
  }

  private changed(): void {
    this.version++;
    this.snapshot.changed();
  }
}
