/**
 * Alerts as Alertmanager keeps them, and their fingerprints.
 *
 * Times are Unix milliseconds; 0 means "not set" (Go's zero time, printed
 * as `0001-01-01T00:00:00Z`).
 */
import type { Labels } from "../model/index.ts";

/** One alert. Its identity is its label set ({@link fingerprint}). */
export interface Alert {
  readonly labels: Labels;
  readonly annotations: Labels;
  /** When the alert started firing; never 0 once stored. */
  readonly startsAt: number;
  /** When it resolves or resolved; 0 only before the store applies resolve_timeout. */
  readonly endsAt: number;
  readonly generatorURL: string;
  /** When the store last accepted an update for this alert. */
  readonly updatedAt: number;
  /** True when endsAt was not given by the sender but set from resolve_timeout. */
  readonly timeout: boolean;
}

/** Whether the alert is resolved at `now` (endsAt set and not after now). */
export function isResolved(a: Alert, now: number): boolean {
  return a.endsAt !== 0 && a.endsAt <= now;
}

/** "firing" or "resolved" at `now`, as Alertmanager's Alert.Status. */
export function alertStatus(a: Alert, now: number): "firing" | "resolved" {
  return isResolved(a, now) ? "resolved" : "firing";
}

const encoder = new TextEncoder();
const SEPARATOR = 0xff;
const FNV_PRIME_LOW = 0x1b3;

/**
 * FNV-1a 64 state as two unsigned 32-bit halves; the prime is
 * 2^40 + 0x1b3, so a multiply is `h * 0x1b3 + (h << 40)`.
 */
class Fnv64 {
  hi = 0xcbf29ce4;
  lo = 0x84222325;

  addByte(b: number): void {
    const lo = (this.lo ^ b) >>> 0;
    const product = lo * FNV_PRIME_LOW;
    const carry = Math.floor(product / 0x1_0000_0000);
    this.lo = product >>> 0;
    this.hi = (Math.imul(this.hi, FNV_PRIME_LOW) + carry + (lo << 8)) >>> 0;
  }

  addString(s: string): void {
    for (const b of encoder.encode(s)) this.addByte(b);
  }
}

function hashLabels(labels: Labels): Fnv64 {
  const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = new Fnv64();
  for (const l of sorted) {
    h.addString(l.name);
    h.addByte(SEPARATOR);
    h.addString(l.value);
    h.addByte(SEPARATOR);
  }
  return h;
}

/**
 * Alertmanager's `model.LabelSet.Fingerprint()` as a 64-bit integer:
 * FNV-1a 64 over the label pairs sorted by name, each name and value
 * followed by the 0xff byte. The empty set hashes to the FNV offset basis.
 */
export function fingerprintOf(labels: Labels): bigint {
  const h = hashLabels(labels);
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}

/**
 * The fingerprint as Alertmanager prints it: 16 lowercase hex digits.
 *
 * @example fingerprint(labelsFromRecord({ name: "garland, briggs", fear: "love is not enough" })) // "507a62d79ee76c9a"
 */
export function fingerprint(labels: Labels): string {
  const h = hashLabels(labels);
  return h.hi.toString(16).padStart(8, "0") + h.lo.toString(16).padStart(8, "0");
}

/**
 * Formats a time like Go's `time.Time` JSON (RFC3339Nano, UTC): fractional
 * seconds without trailing zeros, and `0001-01-01T00:00:00Z` for 0.
 *
 * @example formatTime(Date.UTC(2024, 0, 1, 0, 0, 0, 500)) // "2024-01-01T00:00:00.5Z"
 */
export function formatTime(ms: number): string {
  if (ms === 0) return "0001-01-01T00:00:00Z";
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z");
}
