/**
 * Durations and byte sizes spelled the way Prometheus spells them in its
 * configuration files and flags.
 *
 * Durations follow `model.Duration` from prometheus/common: one or more
 * `<integer><unit>` terms with units `y w d h m s ms` (y = 365d, w = 7d),
 * each unit at most once and in descending order, or the bare `0`.
 * Sizes follow `units.Base2Bytes`: `B`, `KB`/`KiB` … `EB`/`EiB`, all
 * powers of 1024.
 */

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;
const MS_PER_WEEK = 7 * MS_PER_DAY;
const MS_PER_YEAR = 365 * MS_PER_DAY;

/** Units in the only order Prometheus accepts them, biggest first. */
const DURATION_UNITS: readonly { unit: string; ms: number }[] = [
  { unit: "y", ms: MS_PER_YEAR },
  { unit: "w", ms: MS_PER_WEEK },
  { unit: "d", ms: MS_PER_DAY },
  { unit: "h", ms: MS_PER_HOUR },
  { unit: "m", ms: MS_PER_MINUTE },
  { unit: "s", ms: MS_PER_SECOND },
  { unit: "ms", ms: 1 },
];

/** Go's time.Duration holds int64 nanoseconds; longer durations are rejected. */
const MAX_DURATION_MS = 9223372036854;

const DURATION_TERM = /^([0-9]+)(ms|[ywdhms])/;

/**
 * Parses a Prometheus duration into milliseconds.
 *
 * Throws `not a valid duration string: "…"` for anything else (fractions,
 * negative values, spaces, units out of order or repeated, unknown units),
 * and `duration out of range` beyond what an int64 of nanoseconds holds.
 *
 * @example parseDuration("1h30m") // 5_400_000
 * @example parseDuration("0")     // 0
 */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  if (s === "") throw new Error("empty duration string");
  const invalid = () => new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  let rest = s;
  let nextUnit = 0;
  let total = 0;
  while (rest !== "") {
    const m = DURATION_TERM.exec(rest);
    if (!m) throw invalid();
    const index = DURATION_UNITS.findIndex((u) => u.unit === m[2]);
    if (index < nextUnit) throw invalid();
    nextUnit = index + 1;
    const count = Number(m[1]);
    total += count * DURATION_UNITS[index]!.ms;
    if (!Number.isSafeInteger(total) || total > MAX_DURATION_MS) throw new Error("duration out of range");
    rest = rest.slice(m[0].length);
  }
  return total;
}

/**
 * Formats milliseconds the way `model.Duration.String()` does: the largest
 * units first, years and weeks only when they divide the value exactly
 * (so 90 days prints as `90d`, not `12w6d`), and `0s` for zero.
 *
 * @example formatDuration(5_400_000) // "1h30m"
 * @example formatDuration(86_400_000) // "1d"
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format duration ${ms}`);
  let rest = Math.trunc(ms);
  if (rest === 0) return "0s";
  const sign = rest < 0 ? "-" : "";
  rest = Math.abs(rest);
  let out = "";
  for (const { unit, ms: size } of DURATION_UNITS) {
    const exactOnly = unit === "y" || unit === "w";
    if (exactOnly && rest % size !== 0) continue;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return sign + out;
}

const SIZE_PREFIXES = ["", "K", "M", "G", "T", "P", "E"] as const;

/** Every spelling Base2Bytes accepts, mapped to its multiplier. */
const SIZE_UNITS: ReadonlyMap<string, number> = new Map(
  SIZE_PREFIXES.flatMap((prefix, i) => {
    const scale = 1024 ** i;
    return prefix === "" ? [["B", 1]] : [[`${prefix}B`, scale], [`${prefix}iB`, scale]];
  }) as [string, number][],
);

const SIZE_TERM = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;

/**
 * Parses a byte size like Prometheus's `units.Base2Bytes` (used by
 * `body_size_limit` and friends): `512MB`, `1GiB`, `1.5KB`, `1GB512MB`, or
 * the bare `0`. Units are case-sensitive and always powers of 1024.
 *
 * @example parseSize("512MB") // 536_870_912
 */
export function parseSize(s: string): number {
  let rest = s;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new Error(`units: invalid ${s}`);
  let total = 0;
  while (rest !== "") {
    const m = SIZE_TERM.exec(rest)!;
    const whole = m[1]!;
    const fraction = m[2];
    if (whole === "" && !fraction) throw new Error(`units: invalid ${s}`);
    const unit = m[3]!;
    const scale = SIZE_UNITS.get(unit);
    if (scale === undefined) throw new Error(`units: unknown unit ${unit} in ${s}`);
    total += Number(`${whole || "0"}.${fraction ?? ""}0`) * scale;
    rest = rest.slice(m[0].length);
  }
  if (total > Number.MAX_SAFE_INTEGER) throw new Error("units: overflow parsing unit");
  return Math.trunc(negative ? -total : total);
}

/**
 * Formats bytes like `Base2Bytes.String()`: each power of 1024 that has a
 * remainder, largest first, with `iB` suffixes (`512MiB`, `1KiB512B`, `0B`).
 * The output parses back with {@link parseSize}.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`cannot format size ${bytes}`);
  if (bytes === 0) return "0B";
  const parts: string[] = [];
  let rest = bytes;
  for (let i = 0; rest > 0 && i < SIZE_PREFIXES.length; i++) {
    const remainder = rest % 1024;
    if (remainder !== 0) parts.unshift(`${remainder}${SIZE_PREFIXES[i]}${i === 0 ? "B" : "iB"}`);
    rest = Math.floor(rest / 1024);
  }
  return parts.join("");
}
