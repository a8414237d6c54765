/** Input mutations for the fuzzer: byte-level edits, dictionary splices and crossover. */

/** A small deterministic generator (xorshift32), so a run is repeatable from its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x30, 0x39];

/** Returns a mutated copy of `base` (1 to 8 stacked edits), at most `max` bytes. */
export function mutate(base: Uint8Array, other: Uint8Array, dictionary: Uint8Array[], rng: Rng, max: number): Uint8Array {
  let b = Array.from(base);
  const edits = 1 + rng.int(8);
  for (let e = 0; e < edits; e++) {
    const pos = rng.int(b.length + 1);
    switch (rng.int(10)) {
      case 0: // flip a bit
        if (b.length) b[pos % b.length]! ^= 1 << rng.int(8);
        break;
      case 1: // set an interesting byte
        if (b.length) b[pos % b.length] = INTERESTING[rng.int(INTERESTING.length)]!;
        break;
      case 2: // random byte
        if (b.length) b[pos % b.length] = rng.int(256);
        break;
      case 3: { // delete a run
        const n = 1 + rng.int(Math.min(16, b.length || 1));
        b.splice(pos, n);
        break;
      }
      case 4: { // insert random bytes
        const n = 1 + rng.int(8);
        b.splice(pos, 0, ...Array.from({ length: n }, () => rng.int(256)));
        break;
      }
      case 5:
      case 6: { // dictionary token
        const d = dictionary[rng.int(dictionary.length)];
        if (d) b.splice(pos, 0, ...d);
        break;
      }
      case 7: { // duplicate a chunk (nesting, repetition)
        const from = rng.int(b.length || 1), n = 1 + rng.int(Math.min(64, b.length || 1));
        const chunk = b.slice(from, from + n);
        const times = 1 + rng.int(rng.int(4) === 0 ? 200 : 4);
        for (let i = 0; i < times && b.length < max; i++) b.splice(pos, 0, ...chunk);
        break;
      }
      case 8: { // crossover with another corpus entry
        const from = rng.int(other.length || 1), n = rng.int(Math.min(256, other.length + 1));
        b.splice(pos, rng.int(32), ...Array.from(other.subarray(from, from + n)));
        break;
      }
      default: // truncate
        b = b.slice(0, pos);
    }
    if (b.length > max) b = b.slice(0, max);
  }
  return Uint8Array.from(b);
}
