/**
 * The head's inverted index: label name → label value → sorted list of series
 * refs ("postings"). Each (name, value) entry also holds the one shared
 * `Label` object that every series with that pair points to, so the index
 * doubles as the label interner.
 *
 * Refs are handed out in increasing order, so adding a new series appends to
 * the end of each of its lists and they stay sorted without work.
 *
 * @example
 * const p = new MemPostings();
 * const ls = [p.intern("job", "a")];
 * p.add(7, ls);
 * p.get("job", "a"); // [7]
 */
import { ownString } from "../../base/index.ts";
import type { Label, Labels } from "../../model/index.ts";

/** One label pair's shared object, its small-integer id and the series carrying it. */
export interface PostingsEntry {
  readonly label: Label;
  /** Stable while the entry exists; reused after the entry is dropped (see {@link MemPostings.label}). */
  readonly id: number;
  refs: number[];
}

/** The in-memory inverted index and label interner (see the module comment). */
export class MemPostings {
  private readonly byName = new Map<string, Map<string, PostingsEntry>>();
  private readonly byId: (PostingsEntry | undefined)[] = [];
  private readonly freeIds: number[] = [];

  /** The entry for (name, value), creating it (empty) if needed. */
  entry(name: string, value: string): PostingsEntry {
    let values = this.byName.get(name);
    let e = values?.get(value);
    if (!e) {
      // The entry keeps copies of its own: the strings handed in are often slices of a scrape body
      // or a WAL record, which they would keep in memory (see ownString). Entries of one name share
      // one copy of it (a name's map is dropped with its last entry, so a present map has one).
      if (values) name = values.values().next().value!.label.name;
      else {
        name = ownString(name);
        values = new Map();
        this.byName.set(name, values);
      }
      const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
      value = ownString(value);
      e = { label: { name, value }, id, refs: [] };
      this.byId[id] = e;
      values.set(value, e);
    }
    return e;
  }

  /** The shared Label object for (name, value), creating its (empty) entry if needed. */
  intern(name: string, value: string): Label {
    return this.entry(name, value).label;
  }

  /**
   * The shared Label of entry `id`. Ids of entries that still carry a series
   * stay valid (an entry is dropped only when its last series goes), so the
   * head can store a series' labels as ids.
   */
  label(id: number): Label {
    return this.byId[id]!.label;
  }

  /** Indexes series `ref` under `entries` (from {@link entry}); refs normally grow, so this appends. */
  addEntries(ref: number, entries: readonly PostingsEntry[]): void {
    for (const e of entries) {
      const refs = e.refs;
      if (refs.length > 0 && refs[refs.length - 1]! >= ref) {
        insertSorted(refs, ref);
      } else {
        refs.push(ref);
      }
    }
  }

  /** Indexes series `ref`; normally larger than every ref added before (a smaller one is inserted in order). */
  add(ref: number, labels: Labels): void {
    this.addEntries(ref, labels.map((l) => this.entry(l.name, l.value)));
  }

  /** Removes the given series (by their labels) from the index, dropping empty entries. */
  delete(removed: ReadonlyMap<number, Labels>): void {
    const byEntry = new Map<number, number[]>();
    for (const [ref, labels] of removed) {
      for (const l of labels) {
        const e = this.byName.get(l.name)?.get(l.value);
        if (!e) continue;
        const refs = byEntry.get(e.id);
        if (refs) refs.push(ref);
        else byEntry.set(e.id, [ref]);
      }
    }
    this.deleteRefs(byEntry);
  }

  /**
   * Removes refs from entries, given as entry id → refs leaving it (each
   * present in the entry, in any order), dropping entries left empty. Work is
   * in the refs removed plus the lists they touch (one merge pass each).
   */
  deleteRefs(byEntry: ReadonlyMap<number, number[]>): void {
    for (const [id, gone] of byEntry) {
      const e = this.byId[id];
      if (!e) continue;
      if (gone.length >= e.refs.length) {
        e.refs = [];
      } else {
        if (gone.length > 1) gone.sort((a, b) => a - b);
        e.refs = withoutPostings(e.refs, gone);
      }
      if (e.refs.length > 0) continue;
      const values = this.byName.get(e.label.name)!;
      values.delete(e.label.value);
      if (values.size === 0) this.byName.delete(e.label.name);
      this.byId[id] = undefined;
      this.freeIds.push(id);
    }
  }

  /** Sorted refs of series with name=value (empty when none). */
  get(name: string, value: string): readonly number[] {
    return this.byName.get(name)?.get(value)?.refs ?? [];
  }

  /** The values of `name` with their entries (unordered). */
  values(name: string): ReadonlyMap<string, PostingsEntry> | undefined {
    return this.byName.get(name);
  }

  /** All label names that have at least one series (unordered). */
  names(): IterableIterator<string> {
    return this.byName.keys();
  }
}

function insertSorted(refs: number[], ref: number): void {
  let lo = 0, hi = refs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (refs[mid]! < ref) lo = mid + 1;
    else hi = mid;
  }
  if (refs[lo] !== ref) refs.splice(lo, 0, ref);
}

/** Intersection of sorted lists, smallest first so the work shrinks quickly. */
export function intersectPostings(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc: number[] = [...sorted[0]!];
  for (let k = 1; k < sorted.length && acc.length > 0; k++) {
    const other = sorted[k]!;
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < acc.length; i++) {
      const x = acc[i]!;
      // Gallop when the other list is much longer: binary search forward.
      if (other.length > acc.length * 8) {
        let lo = j, hi = other.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (other[mid]! < x) lo = mid + 1;
          else hi = mid;
        }
        j = lo;
      } else {
        while (j < other.length && other[j]! < x) j++;
      }
      if (j < other.length && other[j] === x) out.push(x);
    }
    acc = out;
  }
  return acc;
}

/** Sorted union of sorted lists, without duplicates. */
export function mergePostings(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return [...lists[0]!];
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Uint32Array(total);
  let o = 0;
  for (const l of lists) for (let i = 0; i < l.length; i++) all[o++] = l[i]!;
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) out.push(all[i]!);
  return out;
}

/** Elements of sorted `a` that are not in sorted `b`. */
export function withoutPostings(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]! < x) j++;
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}
