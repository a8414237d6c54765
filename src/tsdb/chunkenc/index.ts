/**
 * Chunk encodings (door of src/tsdb/chunkenc): the Prometheus XOR chunk
 * codec in WebAssembly, the head chunk store built on it, the plain
 * TypeScript reference codec, and access to the WASM instance for the PromQL
 * range kernels.
 */
export { encodeXor, decodeXor, chunkNumSamples, WasmSamples, MAX_CHUNK_SAMPLES } from "./xor.ts";
export { HeadChunkStore, DUPLICATE_IGNORED, MAX_SERIES_REF, type HeadChunkStoreOptions, type CutChunk } from "./head_chunks.ts";
export { plainXor } from "./plain_xor.ts";
export { wasmExports, type PromtsWasmExports } from "./wasm.ts";
