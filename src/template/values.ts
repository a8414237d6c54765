/**
 * How plain JS values stand in for Go values inside templates.
 *
 * Go templates are typed; JS values are not, so the mapping is fixed here:
 * - `number` is Go's `float64` (Prometheus sample values are float64, so
 *   `{{ $value }}` prints `1.234567e+06` exactly as Prometheus does);
 * - `bigint` is Go's `int` (integer literals, `len`, range indices);
 * - `string`, `boolean` are `string`, `bool`;
 * - `null` is a nil value and `undefined` is Go's "no value" (a missing map key);
 * - arrays are slices, `Map`s and plain objects are maps (ranged in sorted key order);
 * - class instances are structs: their own properties are fields and the
 *   capitalised functions on their prototype are methods (`.Alerts.Firing`).
 *
 * Maps whose values are all strings in Go (`map[string]string`, e.g. label
 * sets) give `""` for a missing key rather than `<no value>`; mark them with
 * {@link asStringMap} (or give their class {@link STRING_MAP}).
 */

/** A class may name its Go type (for `%T` and error messages) with a property under this symbol. */
export const GO_TYPE: unique symbol = Symbol.for("promts.template.goType");

/** A class instance with a truthy property under this symbol is a `map[string]string`: own enumerable properties are its entries. */
export const STRING_MAP: unique symbol = Symbol.for("promts.template.stringMap");

const stringMaps = new WeakSet<object>();

/**
 * Marks a record as a Go `map[string]string`, so that a missing key reads
 * as `""` (Prometheus's `$labels.missing`) instead of `<no value>`.
 * Returns the same object.
 *
 * @example
 * const labels = asStringMap({ job: "node" });
 * // {{ $labels.instance }} → ""
 */
export function asStringMap<T extends object>(rec: T): T {
  stringMaps.add(rec);
  return rec;
}

/** Reports whether `v` is a plain object (a map, not a struct). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Reports whether `v` is a Go `map[string]string` (marked, or of a class flagged with {@link STRING_MAP}). */
export function isStringMap(v: unknown): boolean {
  return typeof v === "object" && v !== null && (stringMaps.has(v) || Boolean((v as { [STRING_MAP]?: unknown })[STRING_MAP]));
}

/** Reports whether `v` is a Go map: a `Map`, a plain object or a string map. */
export function isMapValue(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || isPlainObject(v) || isStringMap(v);
}

/** Go's ordering of map keys when ranging or printing: numbers numerically, strings bytewise, others by their text. */
function compareKeys(a: unknown, b: unknown): number {
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** The entries of a map value in Go's sorted key order. */
export function sortedEntries(m: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  const entries: [unknown, unknown][] = m instanceof Map ? [...m.entries()] : Object.keys(m).map((k) => [k, m[k]]);
  return entries.sort((x, y) => compareKeys(x[0], y[0]));
}

/** Number of entries of a map value. */
export function mapSize(m: Map<unknown, unknown> | Record<string, unknown>): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

/** Reports whether a map value has the key. */
export function mapHas(m: Map<unknown, unknown> | Record<string, unknown>, key: unknown): boolean {
  return m instanceof Map ? m.has(key) : Object.prototype.hasOwnProperty.call(m, String(key));
}

/**
 * Looks a key up in a map value. Returns `undefined` ("no value") for a
 * missing key of a generic map and `""` for a missing key of a string map.
 */
export function mapGet(m: Map<unknown, unknown> | Record<string, unknown>, key: unknown): unknown {
  if (m instanceof Map) return m.has(key) ? m.get(key) : undefined;
  if (mapHas(m, key)) return m[String(key)];
  return isStringMap(m) ? "" : undefined;
}

/** The Go type name of a value, as `%T` and error messages print it. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
    case "function":
      return "func";
  }
  const named = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
  if (typeof named === "string") return named;
  if (Array.isArray(v)) return v.every((x) => typeof x === "string") && v.length > 0 ? "[]string" : "[]interface {}";
  if (isStringMap(v)) return "map[string]string";
  if (isMapValue(v)) return "map[string]interface {}";
  return (v as object).constructor?.name ?? "struct";
}

/**
 * Go's notion of truth for `if`, `with`, `and`, `or`, `not`: false for the
 * zero value of the type (false, 0, "", nil, empty slice or map), true otherwise.
 * Structs are always true.
 */
export function isTrue(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case "string":
      return v !== "";
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "boolean":
      return v;
    case "function":
      return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (isMapValue(v)) return mapSize(v) > 0;
  return true;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of a string: Go strings are byte sequences, so `len` and `index` count bytes. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** The length in UTF-8 bytes of a string. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
