/**
 * A hash index from 32-bit keys to series slots, held in two typed arrays
 * (open addressing, linear probing): 8 bytes a bucket, at most half full, so
 * 8–32 bytes a series instead of a JS Map entry (~80 bytes). One key may map
 * to several slots (label-set hashes collide); callers tell them apart.
 * Deletion shifts later entries back, so there are no tombstones and the
 * table shrinks again when the series it indexes go away.
 *
 * @example
 * const ix = new SlotIndex();
 * ix.add(42, 7);
 * for (let it = ix.first(42); it >= 0; it = ix.next(42, it)) ix.slotAt(it); // 7
 * ix.remove(42, 7);
 */

const EMPTY = 0; // vals hold slot + 1, so 0 marks an empty bucket
const MIN_BUCKETS = 64;

/** Bucket of a key: Fibonacci hashing spreads sequential keys (series refs) evenly. */
function home(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
}

export class SlotIndex {
  private keys = new Uint32Array(MIN_BUCKETS);
  private vals = new Uint32Array(MIN_BUCKETS);
  private mask = MIN_BUCKETS - 1;
  private count = 0;

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the two tables. */
  get byteLength(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }

  /** Adds (key → slot); the same pair must not already be present. */
  add(key: number, slot: number): void {
    if ((this.count + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    this.insert(key >>> 0, slot);
    this.count++;
  }

  private insert(key: number, slot: number): void {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = home(key, mask);
    while (vals[i] !== EMPTY) i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = slot + 1;
  }

  /** Bucket of the first entry for `key`, or -1; walk on with {@link next}. */
  first(key: number): number {
    return this.scan(key >>> 0, home(key >>> 0, this.mask));
  }

  /** Bucket of the entry for `key` after bucket `it`, or -1. */
  next(key: number, it: number): number {
    return this.scan(key >>> 0, (it + 1) & this.mask);
  }

  private scan(key: number, i: number): number {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    while (vals[i] !== EMPTY) {
      if (keys[i] === key) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  /** The slot in bucket `it` (from first/next). */
  slotAt(it: number): number {
    return this.vals[it]! - 1;
  }

  /** The one slot for `key`, or -1 (for keys that are unique, such as series refs). */
  get(key: number): number {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    key >>>= 0;
    let i = home(key, mask);
    for (;;) {
      const v = vals[i]!;
      if (v === EMPTY) return -1;
      if (keys[i] === key) return v - 1;
      i = (i + 1) & mask;
    }
  }

  /** Points the entry (key → from) at slot `to` instead; false when absent. */
  retarget(key: number, from: number, to: number): boolean {
    for (let it = this.first(key); it >= 0; it = this.next(key, it)) {
      if (this.vals[it] === from + 1) {
        this.vals[it] = to + 1;
        return true;
      }
    }
    return false;
  }

  /** Removes the entry (key → slot); false when absent. */
  remove(key: number, slot: number): boolean {
    let it = this.first(key);
    while (it >= 0 && this.vals[it] !== slot + 1) it = this.next(key, it);
    if (it < 0) return false;
    this.deleteAt(it);
    this.count--;
    if (this.keys.length > MIN_BUCKETS && this.count * 8 < this.keys.length) this.resize(this.keys.length / 2);
    return true;
  }

  /** Backward-shift deletion: moves later entries of the probe run into the hole. */
  private deleteAt(hole: number): void {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = hole;
    for (let j = (hole + 1) & mask; vals[j] !== EMPTY; j = (j + 1) & mask) {
      const h = home(keys[j]!, mask);
      // Entry j may move to i only if its home is not cyclically within (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (stays) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j]!;
      i = j;
    }
    vals[i] = EMPTY;
    keys[i] = 0;
  }

  private resize(buckets: number): void {
    const keys = this.keys, vals = this.vals;
    this.keys = new Uint32Array(buckets);
    this.vals = new Uint32Array(buckets);
    this.mask = buckets - 1;
    for (let i = 0; i < keys.length; i++) if (vals[i] !== EMPTY) this.insert(keys[i]!, vals[i]! - 1);
  }
}
