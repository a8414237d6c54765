/**
 * ULIDs name block directories: 48 bits of creation time in milliseconds and
 * 80 random bits, in Crockford base32 (26 characters), so names sort by
 * creation time as Prometheus's do.
 *
 * @example
 * newULID(1700000000000); // "01HF7YAT00..." (26 characters)
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** A new ULID for time `ms` (default now). */
export function newULID(ms: number = Date.now()): string {
  let out = "";
  let t = Math.floor(ms);
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const rnd = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 16; i++) out += ALPHABET[rnd[i]! & 31]!;
  return out;
}

/** Whether `s` is a well-formed ULID (upper-case Crockford base32, 26 characters). */
export function isULID(s: string): boolean {
  return ULID_RE.test(s);
}
