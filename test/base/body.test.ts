import { describe, expect, test } from "bun:test";
import { readBoundedBytes, readBoundedText } from "../../src/base/index.ts";

/** A stream of `chunks`, recording whether the reader cancelled it and how many chunks were pulled. */
function streamOf(chunks: string[]) {
  const state = { cancelled: false, pulled: 0 };
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks.length) return controller.close();
      controller.enqueue(enc.encode(chunks[state.pulled++]!));
    },
    cancel() { state.cancelled = true; },
  }, { highWaterMark: 0 });
  return { body, state };
}

describe("bounded body reading", () => {
  test("reads a body up to the limit, in one or many chunks", async () => {
    expect(await readBoundedText(streamOf(["héllo"]).body, 6, () => new Error("too large"))).toBe("héllo");
    expect(await readBoundedText(streamOf(["ab", "cd", "é"]).body, 6, () => new Error("too large"))).toBe("abcdé");
    expect((await readBoundedBytes(null, 0, () => new Error("too large"))).byteLength).toBe(0);
  });

  test("stops at the first chunk past the limit and cancels the stream", async () => {
    const { body, state } = streamOf(["1234", "5678", "9", "never read"]);
    await expect(readBoundedBytes(body, 5, () => new Error("body exceeds 5 bytes"))).rejects.toThrow("body exceeds 5 bytes");
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBe(2);
  });
});
