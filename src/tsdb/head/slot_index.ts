/**
 * A hash index from 32-bit keys to series slots: one Uint32Array of buckets
 * (open addressing, linear probing) holding slot + 1, at most half full, so
 * 8–16 bytes a series instead of a JS Map entry (~80 bytes). The keys live
 * in the owner's per-slot table (`keys[slot]`), handed over with
 * {@link SlotIndex.setKeys} whenever that table is reallocated; a slot's key
 * must not change while the slot is indexed. One key may map to several
 * slots (label-set hashes collide); callers tell them apart. Deletion shifts
 * later entries back, so there are no tombstones, and the bucket array
 * shrinks again when the series it indexes go away.
 *
 * @example
 * const keys = new Uint32Array(16);
 * const ix = new SlotIndex(keys);
 * keys[7] = 42;
 * ix.add(42, 7);
 * ix.get(42); // 7
 * ix.remove(42, 7);
 */

const EMPTY = 0; // buckets hold slot + 1, so 0 marks an empty bucket
const MIN_BUCKETS = 64;

/** Bucket of a key: Fibonacci hashing spreads sequential keys (series refs) evenly. */
function home(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
}

export class SlotIndex {
  private vals = new Uint32Array(MIN_BUCKETS);
  private mask = MIN_BUCKETS - 1;
  private count = 0;

  constructor(private keys: Uint32Array) {}

  /** Points the index at the owner's (reallocated) key table; same contents for every indexed slot. */
  setKeys(keys: Uint32Array): void {
    this.keys = keys;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the bucket array. */
  get byteLength(): number {
    return this.vals.byteLength;
  }

  /** Indexes `slot` under `key` (which keys[slot] must already hold); the pair must not be present. */
  add(key: number, slot: number): void {
    if ((this.count + 1) * 2 > this.vals.length) this.resize(this.vals.length * 2);
    this.insert(key >>> 0, slot);
    this.count++;
  }

  private insert(key: number, slot: number): void {
    const vals = this.vals, mask = this.mask;
    let i = home(key, mask);
    while (vals[i] !== EMPTY) i = (i + 1) & mask;
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
    for (let v = vals[i]!; v !== EMPTY; v = vals[i]!) {
      if (keys[v - 1] === key) return i;
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
    for (let v = vals[i]!; v !== EMPTY; v = vals[i]!) {
      if (keys[v - 1] === key) return v - 1;
      i = (i + 1) & mask;
    }
    return -1;
  }

  /**
   * Points the entry (key → from) at slot `to` instead; false when absent.
   * keys[to] must hold `key` already (and keys[from] still).
   */
  retarget(key: number, from: number, to: number): boolean {
    for (let it = this.first(key); it >= 0; it = this.next(key, it)) {
      if (this.vals[it] === from + 1) {
        this.vals[it] = to + 1;
        return true;
      }
    }
    return false;
  }

  /** Removes the entry (key → slot), while keys[slot] still holds `key`; false when absent. */
  remove(key: number, slot: number): boolean {
    let it = this.first(key);
    while (it >= 0 && this.vals[it] !== slot + 1) it = this.next(key, it);
    if (it < 0) return false;
    this.deleteAt(it);
    this.count--;
    if (this.vals.length > MIN_BUCKETS && this.count * 8 < this.vals.length) this.resize(this.vals.length / 2);
    return true;
  }

  /** Backward-shift deletion: moves later entries of the probe run into the hole. */
  private deleteAt(hole: number): void {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = hole;
    for (let j = (hole + 1) & mask; vals[j] !== EMPTY; j = (j + 1) & mask) {
      const h = home(keys[vals[j]! - 1]!, mask);
      // Entry j may move to i only if its home is not cyclically within (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (stays) continue;
      vals[i] = vals[j]!;
      i = j;
    }
    vals[i] = EMPTY;
  }

  private resize(buckets: number): void {
    const old = this.vals, keys = this.keys;
    this.vals = new Uint32Array(buckets);
    this.mask = buckets - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.insert(keys[old[i]! - 1]!, old[i]! - 1);
  }
}
