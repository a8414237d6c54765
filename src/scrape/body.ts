/**
 * Reading a scrape response without holding the event loop: the body is
 * pulled chunk by chunk, decompressed as a stream, and counted against
 * `body_size_limit` as it arrives, as Prometheus counts the decompressed
 * bytes; the chunks are then decoded in segments of whole lines, so
 * neither one huge decode nor one huge string is ever built.
 */
import type { Transform } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import type { ScrapeJob } from "./scheduler.ts";

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

/** Output bytes per step of decompression: one step is well under a millisecond. */
const INFLATE_CHUNK = 64 * 1024;

/** A streaming decompressor for a Content-Encoding Prometheus may get (it asks for gzip); null for none. */
function decompressor(encoding: string): Transform | null {
  if (encoding === "gzip" || encoding === "x-gzip") return createGunzip({ chunkSize: INFLATE_CHUNK });
  if (encoding === "deflate") return createInflate({ chunkSize: INFLATE_CHUNK });
  return null;
}

/** Feeds a web stream into a Node transform with backpressure; an error destroys the transform with it. */
async function pump(reader: ReadableStreamDefaultReader<Uint8Array>, into: Transform): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (into.destroyed) return;
      if (done) {
        into.end();
        return;
      }
      if (!into.write(value)) await new Promise<void>((resolve) => {
        into.once("drain", resolve);
        into.once("close", resolve);
      });
    }
  } catch (e) {
    into.destroy(e as Error);
  }
}

/**
 * Reads a response body into chunks, decompressing it as it streams in
 * (gzip, as Prometheus asks for, or deflate) in steps of 64 KiB; throws
 * BodySizeLimitError as soon as more than `limit` decompressed bytes
 * arrived (0 = no limit) and stops reading, so a gzip bomb costs at most
 * `limit` bytes of work. The HTTP client must not decompress on its own: it
 * would inflate the whole body whatever is read of it. Between steps of
 * decompression the read pauses when `job` says the turn's budget is used.
 * (base's `readBoundedBytes` suits small bodies read whole; a scrape body is
 * kept as its chunks, never concatenated, and may need inflating.)
 */
export async function readBody(stream: ReadableStream<Uint8Array> | null, contentEncoding: string | null, limit: number, job?: ScrapeJob): Promise<RawBody> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (stream === null) return { chunks, size };
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  const reader = stream.getReader();
  if (encoding === "" || encoding === "identity") {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (limit > 0 && size > limit) throw new BodySizeLimitError();
        chunks.push(value);
      }
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw e;
    }
    return { chunks, size };
  }
  const inflate = decompressor(encoding);
  if (inflate === null) {
    await reader.cancel().catch(() => {});
    throw new Error(`unsupported Content-Encoding ${JSON.stringify(encoding)}`);
  }
  const feeding = pump(reader, inflate);
  try {
    for await (const chunk of inflate as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (limit > 0 && size > limit) throw new BodySizeLimitError();
      chunks.push(chunk);
      if (job !== undefined && job.due()) await job.pause();
    }
  } catch (e) {
    inflate.destroy();
    await reader.cancel().catch(() => {});
    await feeding;
    if (e instanceof BodySizeLimitError) throw e;
    throw new Error(`${encoding}: ${(e as Error).message}`);
  }
  await feeding;
  return { chunks, size };
}

/** Bytes per decoded segment: about 1 ms of decoding and a few ms of parsing. */
export const SEGMENT_BYTES = 128 * 1024;

const NL = 10;

/** A decoded piece of a body: whole lines, with whether any of its bytes were not valid UTF-8. */
export interface BodySegment {
  text: string;
  /** Invalid UTF-8 was replaced by U+FFFD in `text`. */
  invalidUtf8: boolean;
}

/**
 * Decodes a raw body as UTF-8 in segments that each end at a line end (the
 * last one at the end of the body), of about `segmentBytes` or one line when
 * a line is longer. Invalid UTF-8 becomes U+FFFD and the segment says so.
 */
export function* bodySegments(body: RawBody, segmentBytes = SEGMENT_BYTES): Generator<BodySegment, void, undefined> {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
  const decode = (bytes: Uint8Array): BodySegment => {
    try {
      return { text: strict.decode(bytes), invalidUtf8: false };
    } catch {
      return { text: lenient.decode(bytes), invalidUtf8: true };
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
