/**
 * A well-formedness check for CBOR (RFC 8949) run before any decoder sees
 * bytes from the network: one data item filling the buffer exactly, every
 * declared length within the bytes left, definite lengths only, no tags,
 * nesting and item counts bounded, so that malformed input gets an error
 * naming the offset and huge declared lengths are refused before a
 * decoder allocates anything.
 *
 * It is no defence for cbor-x's optional native string extractor
 * (cbor-extract, loaded by the "cbor-x" entry when installed): that aborts
 * the Bun process on well-formed CBOR whose text strings are not UTF-8.
 * Decode network bytes with "cbor-x/index-no-eval", which never loads it.
 *
 * @example
 * checkCBOR(bytes); // throws "CBOR: text string of 300 bytes at offset 4 runs past the end (12 bytes)"
 * decoder.decode(bytes);
 */

/** Limits of {@link checkCBOR}. */
export interface CBORLimits {
  /** Deepest nesting of arrays and maps (default 32). */
  maxDepth?: number;
  /** Most data items in total (default 1,000,000). */
  maxItems?: number;
}

/** Throws an Error naming the first problem (with its byte offset); returns when `data` is one well-formed item. */
export function checkCBOR(data: Uint8Array, limits: CBORLimits = {}): void {
  const maxDepth = limits.maxDepth ?? 32;
  const maxItems = limits.maxItems ?? 1_000_000;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let items = 0;
  const fail = (msg: string): never => {
    throw new Error(`CBOR: ${msg}`);
  };

  /** Reads the argument of the head at `pos` (after the initial byte). */
  const argument = (info: number, at: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) fail(`${info === 31 ? "indefinite length" : "reserved additional information"} at offset ${at}`);
    if (pos + size > data.length) fail(`head at offset ${at} runs past the end (${data.length} bytes)`);
    let v: number;
    if (size === 1) v = view.getUint8(pos);
    else if (size === 2) v = view.getUint16(pos);
    else if (size === 4) v = view.getUint32(pos);
    else v = view.getUint32(pos) * 2 ** 32 + view.getUint32(pos + 4);
    pos += size;
    return v;
  };

  // An explicit stack (pending item counts) instead of recursion: depth is bounded, but this keeps it cheap.
  const pending: number[] = [1];
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    pending[pending.length - 1]!--;
    if (pos >= data.length) fail(`item missing at offset ${pos} (${data.length} bytes)`);
    if (++items > maxItems) fail(`more than ${maxItems} items`);
    const at = pos;
    const initial = data[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
      case 1:
        argument(info, at);
        break;
      case 2:
      case 3: {
        const length = argument(info, at);
        if (length > data.length - pos) fail(`${major === 2 ? "byte" : "text"} string of ${length} bytes at offset ${at} runs past the end (${data.length} bytes)`);
        pos += length;
        break;
      }
      case 4:
      case 5: {
        const count = argument(info, at) * (major === 5 ? 2 : 1);
        if (count > data.length - pos) fail(`${major === 4 ? "array" : "map"} at offset ${at} declares more items than bytes left`);
        if (pending.length > maxDepth) fail(`nested deeper than ${maxDepth} at offset ${at}`);
        pending.push(count);
        break;
      }
      case 6:
        fail(`tag at offset ${at} (tags are not used)`);
        break;
      default:
        if (info === 31 || (info >= 28 && info <= 30)) fail(`invalid simple value at offset ${at}`);
        if (info === 24) {
          if (pos + 1 > data.length) fail(`simple value at offset ${at} runs past the end`);
          pos += 1;
        } else if (info >= 25) {
          const size = info === 25 ? 2 : info === 26 ? 4 : 8;
          if (pos + size > data.length) fail(`float at offset ${at} runs past the end`);
          pos += size;
        }
    }
  }
  if (pos !== data.length) fail(`${data.length - pos} bytes after the item`);
}
