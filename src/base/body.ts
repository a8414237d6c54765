/**
 * Reading an HTTP body with a size limit, written once for every room that
 * reads bodies from others (scrape targets, service discovery endpoints,
 * the Alertmanager API, the webhook logger): the read stops as soon as the
 * body grows past the limit, so a misbehaving peer cannot exhaust memory.
 */

/**
 * Reads a body stream to the end and returns its bytes, throwing
 * `tooLarge()` (after cancelling the stream) as soon as more than
 * `limitBytes` arrived. A missing body reads as empty.
 *
 * @example
 * const bytes = await readBoundedBytes(res.body, 10 << 20, () => new Error("body exceeds 10 MiB"));
 */
export async function readBoundedBytes(body: ReadableStream<Uint8Array> | null, limitBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * {@link readBoundedBytes}, decoded as UTF-8 (invalid sequences become
 * U+FFFD). Each chunk is decoded as it arrives, so a body of many megabytes
 * is not decoded in one piece of synchronous work.
 */
export async function readBoundedText(body: ReadableStream<Uint8Array> | null, limitBytes: number, tooLarge: () => Error): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.length === 1 ? parts[0]! : parts.join("");
}
