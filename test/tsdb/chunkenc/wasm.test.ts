import { expect, test } from "bun:test";
import { wasmExports } from "../../../src/tsdb/chunkenc/index.ts";

test("one shared instance", () => {
  expect(wasmExports()).toBe(wasmExports());
  expect(wasmExports().memory).toBeInstanceOf(WebAssembly.Memory);
});

test("memAlloc gives zeroed, 8-byte aligned, non-overlapping blocks and reuses freed ones", () => {
  const wasm = wasmExports();
  const sizes = [1, 7, 8, 9, 100, 1000, 4088, 4089, 70_000, 1_000_000];
  const blocks = sizes.map((size) => ({ size, ptr: wasm.memAlloc(size) }));
  const bytes = new Uint8Array(wasm.memory.buffer);
  for (const { size, ptr } of blocks) {
    expect(ptr % 8).toBe(0);
    expect(wasm.memBlockCapacity(ptr)).toBeGreaterThanOrEqual(size);
    expect(bytes.subarray(ptr, ptr + size).every((b) => b === 0)).toBe(true);
    bytes.fill(0xab, ptr, ptr + size);
  }
  const sorted = [...blocks].sort((a, b) => a.ptr - b.ptr);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i]!.ptr).toBeGreaterThanOrEqual(sorted[i - 1]!.ptr + sorted[i - 1]!.size);
  }
  const inUse = wasm.memBytesInUse();
  const freed = blocks[4]!;
  wasm.memFree(freed.ptr);
  expect(wasm.memBytesInUse()).toBeLessThan(inUse);
  const again = wasm.memAlloc(freed.size);
  expect(again).toBe(freed.ptr);
  expect(new Uint8Array(wasm.memory.buffer).subarray(again, again + freed.size).every((b) => b === 0)).toBe(true);
  blocks[4]!.ptr = again;
  for (const { ptr } of blocks) wasm.memFree(ptr);
});

test("memGrow keeps contents and zeroes the new tail", () => {
  const wasm = wasmExports();
  const ptr = wasm.memAlloc(16);
  new Uint8Array(wasm.memory.buffer).set([1, 2, 3, 4], ptr);
  const grown = wasm.memGrow(ptr, 5000);
  const bytes = new Uint8Array(wasm.memory.buffer);
  expect(Array.from(bytes.subarray(grown, grown + 4))).toEqual([1, 2, 3, 4]);
  expect(bytes.subarray(grown + 4, grown + 5000).every((b) => b === 0)).toBe(true);
  wasm.memFree(grown);
});
