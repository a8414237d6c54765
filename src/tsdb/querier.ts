/**
 * Queriers built from parts: the local querier (blocks and head of one DB,
 * read synchronously part by part, pausing between parts) and the fan-out
 * queryable that merges several storages as Prometheus's fanout storage
 * does: a series found in several sources is returned once with its samples
 * merged, a sample found at one timestamp in several sources once (the
 * earlier source wins). Remote read and an HA peer plug in as secondaries.
 *
 * @example
 * const all = fanoutQueryable(db, [remote]);
 * const q = all.querier(mint, maxt);
 * try { await q.select(matchers, mint, maxt); } finally { q.close(); }
 */
import type { Matcher } from "../model/index.ts";
import { mergeSeriesLists } from "./block/index.ts";
import { WorkSlicer } from "./event_loop.ts";
import type { LabelQueryOptions, Querier, Queryable, SelectHints, StoredSeries, SyncQuerier } from "./types.ts";

/** Thrown by reads on a closed querier. */
export class QuerierClosedError extends Error {
  constructor() {
    super("querier already closed");
    this.name = "QuerierClosedError";
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? "aborted"));
}

function sortedUnion(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 1) return [...lists[0]!];
  const all = new Set<string>();
  for (const l of lists) for (const x of l) all.add(x);
  return [...all].sort();
}

/**
 * A Querier over synchronous parts (blocks then head), reading one part per
 * slice of work and yielding to the event loop between parts when the slice
 * is used up. `release` runs once, at close().
 */
export class PartsQuerier implements Querier {
  private closed = false;

  constructor(private readonly parts: readonly SyncQuerier[], private readonly release: () => void = () => {}) {}

  private async each<T>(read: (p: SyncQuerier) => T, signal?: AbortSignal): Promise<T[]> {
    if (this.closed) throw new QuerierClosedError();
    const out: T[] = [];
    const slicer = new WorkSlicer();
    for (const p of this.parts) {
      throwIfAborted(signal);
      if (slicer.due()) await slicer.yield();
      if (this.closed) throw new QuerierClosedError();
      out.push(read(p));
    }
    return out;
  }

  async select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): Promise<StoredSeries[]> {
    return mergeSeriesLists(await this.each((p) => p.select(matchers, mint, maxt), hints?.signal));
  }

  async labelNames(opts?: LabelQueryOptions): Promise<string[]> {
    return sortedUnion(await this.each((p) => p.labelNames(opts)));
  }

  async labelValues(name: string, opts?: LabelQueryOptions): Promise<string[]> {
    return sortedUnion(await this.each((p) => p.labelValues(name, opts)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }
}

/**
 * A querier merging a primary and secondary queriers. A failing primary
 * fails the read; a failing secondary is reported through
 * `hints.onWarning` (when given) and left out, as Prometheus's fanout does.
 */
class FanoutQuerier implements Querier {
  constructor(private readonly primary: Querier, private readonly secondaries: readonly Querier[]) {}

  private async all<T>(read: (q: Querier) => Promise<T>, empty: T, onWarning?: (message: string) => void): Promise<T[]> {
    const results = await Promise.allSettled([this.primary, ...this.secondaries].map(read));
    const out: T[] = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") out.push(r.value);
      else if (i === 0) throw r.reason;
      else {
        onWarning?.(r.reason instanceof Error ? r.reason.message : String(r.reason));
        out.push(empty);
      }
    });
    return out;
  }

  async select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): Promise<StoredSeries[]> {
    return mergeSeriesLists(await this.all((q) => q.select(matchers, mint, maxt, hints), [] as StoredSeries[], hints?.onWarning));
  }

  async labelNames(opts?: LabelQueryOptions): Promise<string[]> {
    return sortedUnion(await this.all((q) => q.labelNames(opts), [] as string[]));
  }

  async labelValues(name: string, opts?: LabelQueryOptions): Promise<string[]> {
    return sortedUnion(await this.all((q) => q.labelValues(name, opts), [] as string[]));
  }

  close(): void {
    this.primary.close();
    for (const q of this.secondaries) q.close();
  }
}

/**
 * A Queryable over a primary storage (the local DB) and secondaries (remote
 * read, an HA peer), merged with Prometheus's merge semantics. With no
 * secondaries it is the primary itself.
 */
export function fanoutQueryable(primary: Queryable, secondaries: readonly Queryable[] = []): Queryable {
  if (secondaries.length === 0) return primary;
  return {
    querier: (mint, maxt) => new FanoutQuerier(primary.querier(mint, maxt), secondaries.map((s) => s.querier(mint, maxt))),
  };
}
