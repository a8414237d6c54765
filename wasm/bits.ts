// MSB-first bit reads over byte buffers, as in Prometheus's bstream: bit 0 of
// a stream is the high bit of its first byte. (The encoder's writer lives in
// xor.ts: it gathers bits in a 64-bit register and stores whole words.)

/**
 * Reads `n` bits (1 <= n <= 64) starting at bit `pos` of `buf`, right-aligned.
 * Touches up to 9 bytes from byte pos/8: they must be addressable, but bytes
 * past the requested bits do not affect the result.
 */
// @ts-ignore: decorator
@inline export function readBits(buf: usize, pos: u32, n: u32): u64 {
  return peekBits(buf, pos) >>> (64 - <u64>n);
}

/** The 64 bits starting at bit `pos` of `buf` (same addressing rules as readBits). */
// @ts-ignore: decorator
@inline export function peekBits(buf: usize, pos: u32): u64 {
  const at = buf + (pos >>> 3);
  const offset = <u64>(pos & 7);
  return (bswap<u64>(load<u64>(at)) << offset) | (<u64>load<u8>(at + 8) >>> (8 - offset));
}
