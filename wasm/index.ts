// The promts WebAssembly module: the XOR chunk codec and head chunk store,
// plus the PromQL range-function kernels (kernels.ts, the PromQL engine's).
// JS reaches it through src/tsdb/chunkenc: wasmExports() there hands the one
// instance to other rooms.

export { memAlloc, memFree, memGrow, memBlockCapacity, memBytesInUse } from "./alloc";
export { xorEncode, xorDecode, xorNumSamples, xorMaxBytes } from "./xor";
export {
  headNew, headFree, headEnsure, headRelease, headShrink, headMove, headAppendBatch, headCutOpen, headCutLength,
  headCutQueue, headDrainDone, headOpenLength, headOpenBuffer, headOpenMinTime,
  headLastTimestamp, headMemoryBytes,
} from "./head";
export * from "./kernels";
