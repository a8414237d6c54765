/**
 * Label sets. A `Labels` value is an array of name/value pairs sorted by name,
 * with unique names and no empty values — the same invariants as Prometheus's
 * `labels.Labels`. Treat it as immutable.
 *
 * @example
 * const ls = labelsFromRecord({ __name__: "up", job: "node" });
 * labelsKey(ls); // '{__name__="up", job="node"}'
 */
export interface Label {
  readonly name: string;
  readonly value: string;
}
export type Labels = readonly Label[];

export const METRIC_NAME = "__name__";

/** Builds a sorted label set from a record, dropping empty values. */
export function labelsFromRecord(rec: Record<string, string>): Labels {
  const out: Label[] = [];
  for (const name in rec) {
    const value = rec[name];
    if (value !== undefined && value !== "") out.push({ name, value });
  }
  return out.sort(compareByName);
}

/** Builds a sorted label set from name/value pairs, dropping empty values; a later duplicate name wins. */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const m = new Map<string, string>();
  for (const [n, v] of pairs) m.set(n, v);
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== "") out.push({ name, value });
  return out.sort(compareByName);
}

export function labelsToRecord(ls: Labels): Record<string, string> {
  const rec: Record<string, string> = {};
  for (const l of ls) rec[l.name] = l.value;
  return rec;
}

function compareByName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Value of label `name`, or "" when absent (Prometheus's convention). */
export function getLabel(ls: Labels, name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return "";
}

/** Orders label sets as Prometheus's labels.Compare does. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.length - b.length;
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  }
  return true;
}

/**
 * A canonical string for a label set, usable as a Map key and for display:
 * `{a="1", b="2"}` with Go-style quoting of values.
 */
export function labelsKey(ls: Labels): string {
  let s = "{";
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) s += ", ";
    s += ls[i]!.name + "=" + JSON.stringify(ls[i]!.value);
  }
  return s + "}";
}

/** Returns a copy without the given label names. */
export function withoutLabels(ls: Labels, names: ReadonlySet<string>): Labels {
  return ls.filter((l) => !names.has(l.name));
}

/** Returns a copy keeping only the given label names. */
export function keepLabels(ls: Labels, names: ReadonlySet<string>): Labels {
  return ls.filter((l) => names.has(l.name));
}

/** Returns a copy with `name` set to `value` (removed when value is ""). */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  const out = ls.filter((l) => l.name !== name);
  if (value !== "") out.push({ name, value });
  return out.sort(compareByName);
}

/** A label name valid in Prometheus's classic (pre-UTF-8) scheme. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * 64-bit FNV-1a hash of a label set as a bigint-free pair of uint32 folded to a
 * float-safe number (53 bits). Stable across runs; used for sharding, scrape
 * offsets and fingerprints.
 */
export function labelsHash(ls: Labels): number {
  let h1 = 0x811c9dc5 | 0, h2 = 0x01000193 | 0;
  const sep = 0xff;
  for (const l of ls) {
    for (const s of [l.name, l.value]) {
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      }
      h1 = Math.imul(h1 ^ sep, 0x01000193);
      h2 = Math.imul(h2 ^ sep, 0x5bd1e995);
    }
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}
