/**
 * Reading a scrape response without holding the event loop: the body is
 * pulled chunk by chunk (decompression happens in the runtime's HTTP client,
 * off the JS thread) and counted against `body_size_limit` as it arrives, as
 * Prometheus counts the decompressed bytes; the raw chunks are then decoded
 * in segments of whole lines, so neither one huge decode nor one huge string
 * is ever built.
 */

/** Prometheus's error when a body exceeds `body_size_limit`. */
export class BodySizeLimitError extends Error {
  constructor() {
    super("body size limit exceeded");
  }
}

/** A response body as received: raw chunks and their total size in bytes. */
export interface RawBody {
  chunks: Uint8Array[];
  size: number;
}

/**
 * Reads `res`'s body into chunks; throws BodySizeLimitError as soon as more
 * than `limit` bytes arrived (0 = no limit) and cancels the rest.
 */
export async function readBody(res: Response, limit: number): Promise<RawBody> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return { chunks, size };
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (limit > 0 && size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodySizeLimitError();
    }
    chunks.push(value);
  }
  return { chunks, size };
}

/** Bytes per decoded segment: about 1 ms of decoding and a few ms of parsing. */
export const SEGMENT_BYTES = 128 * 1024;

const NL = 10;

/**
 * Decodes a raw body as UTF-8 in segments that each end at a line end (the
 * last one at the end of the body), of about `segmentBytes` or one line when
 * a line is longer. Invalid UTF-8 becomes U+FFFD; `onInvalid` is told about
 * each segment that had some, with its bytes.
 */
export function* bodySegments(body: RawBody, segmentBytes = SEGMENT_BYTES, onInvalid?: (bytes: Uint8Array) => void): Generator<string, void, undefined> {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
  const decode = (bytes: Uint8Array): string => {
    try {
      return strict.decode(bytes);
    } catch {
      onInvalid?.(bytes);
      return lenient.decode(bytes);
    }
  };
  let carry: Uint8Array[] = [];
  let carrySize = 0;
  for (const chunk of body.chunks) {
    let from = 0;
    while (from < chunk.length) {
      const want = Math.max(0, segmentBytes - carrySize);
      // The first line end at or after the wanted size within this chunk.
      const at = chunk.indexOf(NL, Math.min(chunk.length, from + Math.max(want - 1, 0)));
      if (at < 0) {
        carry.push(from === 0 ? chunk : chunk.subarray(from));
        carrySize += chunk.length - from;
        break;
      }
      const piece = chunk.subarray(from, at + 1);
      let bytes: Uint8Array;
      if (carry.length === 0) {
        bytes = piece;
      } else {
        carry.push(piece);
        bytes = concat(carry, carrySize + piece.length);
        carry = [];
        carrySize = 0;
      }
      yield decode(bytes);
      from = at + 1;
    }
  }
  if (carrySize > 0) yield decode(concat(carry, carrySize));
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
