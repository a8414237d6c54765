/**
 * Strings kept for long (cache keys, interned label names and values) that
 * were cut out of a larger one (a scrape body): Bun's engine (JavaScriptCore)
 * makes a slice longer than a pointer share the buffer of the string it was
 * cut from, so one kept 60-byte series name holds a whole 128 KiB body
 * segment in memory for as long as it lives.
 */

/**
 * A copy of `s` with a buffer of its own (about `s.length` bytes), so that
 * keeping it does not keep the string it was sliced from.
 *
 * @example
 * const key = ownString(body.slice(start, end)); // body can be collected
 */
export function ownString(s: string): string {
  // padStart writes a new flat string; the slice shares only that new buffer. (Simpler spellings
  // such as (" " + s).slice(1) give back a slice of s itself and keep its source.)
  return s.padStart(s.length + 1).slice(1);
}
