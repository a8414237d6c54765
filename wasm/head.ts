// Head chunk store: the open XOR chunk of many series, appended to in
// batches, cut the way Prometheus's head cuts chunks (head_append.go):
//
// - a chunk never crosses the end of its chunk range: nextAt starts at the
//   end of the aligned range holding the chunk's first sample;
// - when a chunk holds samplesPerChunk/4 samples, nextAt is moved earlier so
//   the rest of the range splits into chunks of about samplesPerChunk;
// - a sample at t >= nextAt, or a chunk already holding 2 × samplesPerChunk
//   samples, starts a new chunk.
//
// Cut chunks move (without copying) onto a queue that JS drains and then
// releases with headDrainDone.

import { memAccount, memAlloc, memFree, memGrow, memBlockCapacity, memCapacityFor } from "./alloc";
import { appendSample, encReset, encSave, encLoad, encFinish, encSavedByteLength, validTimestamp } from "./xor";

// Store layout.
const S_CHUNK_RANGE = 0; // i64 ms
const S_SAMPLES_PER_CHUNK = 8; // u32
const S_SERIES_CAP = 12; // u32 slots covered by the allocated pages
const S_SERIES = 16; // u32 pointer to the page directory (u32 page pointers)
const S_CUT = 20; // u32 pointer to the cut queue
const S_CUT_LEN = 24; // u32 entries in the cut queue
const S_CUT_CAP = 28; // u32 capacity of the cut queue
const S_BYTES = 32; // f64 bytes held (tables + buffers)
const S_DIR_CAP = 40; // u32 entries the page directory can hold
const STORE_BYTES: usize = 48;

// The series table is paged: slot r lives in page r >> PAGE_SHIFT. Growing
// the table adds pages (no copy, no abandoned doubled tables); pages of
// freed stores go to a module-wide free list for the next store.
const PAGE_SHIFT: u32 = 10;
const PAGE_SLOTS: u32 = 1 << PAGE_SHIFT;
const PAGE_MASK: u32 = PAGE_SLOTS - 1;
let freePages: usize = 0; // singly linked through the first word of each free page

// Series slot layout (stride 64).
const SERIES_STRIDE: usize = 64;
const PAGE_BYTES: usize = <usize>PAGE_SLOTS * SERIES_STRIDE;
const R_LAST_T = 0; // i64 last appended timestamp (series-wide, survives cuts)
const R_LAST_V = 8; // u64 last appended value bits
const R_MIN_T = 16; // i64 first timestamp of the open chunk
const R_NEXT_AT = 24; // i64 timestamp at which the next chunk starts
const R_ENC = 32; // encoder registers (encSave): pos u32, count u32, tDelta i64, leading u8, trailing u8, pad u8
const R_BUF = 52; // u32 pointer to the open chunk's bytes
const R_NEXT_CAP = 56; // u32 buffer size to start the next chunk with
const R_FLAGS = 60; // u8: 1 = live series, 2 = has a sample
const F_LIVE: u8 = 1;
const F_HAS_SAMPLE: u8 = 2;

// Cut queue entry layout (stride 32).
const CUT_STRIDE: usize = 32;
const C_REF = 0; // u32
const C_LEN = 4; // u32 chunk bytes
const C_BUF = 8; // u32 pointer to the chunk bytes
const C_MIN_T = 16; // f64
const C_MAX_T = 24; // f64

// A 64-byte block: most series start with a few samples (or stay small);
// a chunk that fills it doubles, and its successor starts at the size its
// predecessor needed (R_NEXT_CAP).
const INITIAL_CHUNK_BYTES: usize = 56;
// Room a sample may need past the current end: the worst-case sample (a
// 10-byte varint delta and a 77-bit value: 20 bytes) plus the 8-byte word the
// writer stores at the word holding the end, rounded up.
const CHUNK_HEADROOM: u32 = 32;

/** Status codes written per sample; 0-4 are the numbers of AppendStatus in src/tsdb/types.ts, 5 is store-only. */
export const STATUS_OK: u8 = 0;
/** t is before the series' last sample. */
export const STATUS_OUT_OF_ORDER: u8 = 1;
/** t equals the last sample's t but the value bits differ. */
export const STATUS_DUPLICATE: u8 = 2;
/** t is not an integer in int64 range. */
export const STATUS_OUT_OF_BOUNDS: u8 = 3;
/** The ref was never ensured or has been released. */
export const STATUS_UNKNOWN_REF: u8 = 4;
/** Same t and same value bits as the last sample: not appended; callers treat it as accepted (Prometheus ignores it). */
export const STATUS_DUPLICATE_IGNORED: u8 = 5;

// @ts-ignore: decorator
@inline function addBytes(hs: usize, delta: f64): void {
  store<f64>(hs, load<f64>(hs, S_BYTES) + delta, S_BYTES);
}

/** Creates a store; chunkRange in ms (>= 1), samplesPerChunk >= 1. */
export function headNew(chunkRange: f64, samplesPerChunk: u32): usize {
  const hs = memAlloc(STORE_BYTES);
  store<i64>(hs, <i64>chunkRange, S_CHUNK_RANGE);
  store<u32>(hs, samplesPerChunk, S_SAMPLES_PER_CHUNK);
  addBytes(hs, <f64>memBlockCapacity(hs));
  return hs;
}

/** Frees a store with all its buffers (the pointer is invalid afterwards). */
export function headFree(hs: usize): void {
  headDrainDone(hs);
  const dir = <usize>load<u32>(hs, S_SERIES);
  const pages = load<u32>(hs, S_SERIES_CAP) >>> PAGE_SHIFT;
  for (let p: u32 = 0; p < pages; p++) {
    const page = <usize>load<u32>(dir + (<usize>p << 2));
    for (let i: u32 = 0; i < PAGE_SLOTS; i++) memFree(load<u32>(page + <usize>i * SERIES_STRIDE, R_BUF));
    store<u32>(page, <u32>freePages);
    freePages = page;
    memAccount(-<f64>PAGE_BYTES);
  }
  memFree(dir);
  memFree(load<u32>(hs, S_CUT));
  memFree(hs);
}

/** Slots must stay below this (the series table then stays under 4 GiB of wasm32 memory). */
export const HEAD_MAX_SERIES: u32 = 1 << 26;

// @ts-ignore: decorator
@inline function slotAt(hs: usize, ref: u32): usize {
  const page = <usize>load<u32>(<usize>load<u32>(hs, S_SERIES) + (<usize>(ref >>> PAGE_SHIFT) << 2));
  return page + <usize>(ref & PAGE_MASK) * SERIES_STRIDE;
}

/** Adds pages until the table covers `ref`. */
function growTable(hs: usize, ref: u32): void {
  let cap = load<u32>(hs, S_SERIES_CAP);
  const needPages = (ref >>> PAGE_SHIFT) + 1;
  const dirCap = load<u32>(hs, S_DIR_CAP);
  if (needPages > dirCap) {
    let next: u32 = dirCap < 16 ? 16 : dirCap;
    while (next < needPages) next <<= 1;
    const old = <usize>load<u32>(hs, S_SERIES);
    const oldBytes = old == 0 ? <usize>0 : memBlockCapacity(old);
    const grown = memGrow(old, <usize>next << 2);
    store<u32>(hs, <u32>grown, S_SERIES);
    store<u32>(hs, next, S_DIR_CAP);
    addBytes(hs, <f64>memBlockCapacity(grown) - <f64>oldBytes);
  }
  const dir = <usize>load<u32>(hs, S_SERIES);
  while ((cap >>> PAGE_SHIFT) < needPages) {
    let page = freePages;
    if (page != 0) freePages = <usize>load<u32>(page);
    else page = (heap.alloc(PAGE_BYTES + 16) + 15) & ~(<usize>15);
    memory.fill(page, 0, PAGE_BYTES);
    store<u32>(dir + (<usize>(cap >>> PAGE_SHIFT) << 2), <u32>page);
    memAccount(<f64>PAGE_BYTES);
    addBytes(hs, <f64>PAGE_BYTES);
    cap += PAGE_SLOTS;
  }
  store<u32>(hs, cap, S_SERIES_CAP);
}

/**
 * Makes `ref` a live series, growing the table; a ref that is already live is
 * left as it is. Returns false (doing nothing) when ref >= HEAD_MAX_SERIES.
 */
export function headEnsure(hs: usize, ref: u32): bool {
  if (ref >= HEAD_MAX_SERIES) return false;
  if (ref >= load<u32>(hs, S_SERIES_CAP)) growTable(hs, ref);
  const slot = slotAt(hs, ref);
  if ((load<u8>(slot, R_FLAGS) & F_LIVE) == 0) {
    memory.fill(slot, 0, SERIES_STRIDE);
    store<u8>(slot, F_LIVE, R_FLAGS);
  }
  return true;
}

/**
 * Returns the table pages wholly at or above slot `from` to the module-wide
 * free list, freeing any chunk buffers left there (the caller has moved or
 * released those series). Lets the table shrink after the head compacts.
 */
export function headShrink(hs: usize, from: u32): void {
  const keepPages = (from + PAGE_MASK) >>> PAGE_SHIFT;
  let pages = load<u32>(hs, S_SERIES_CAP) >>> PAGE_SHIFT;
  const dir = <usize>load<u32>(hs, S_SERIES);
  while (pages > keepPages) {
    pages--;
    const page = <usize>load<u32>(dir + (<usize>pages << 2));
    for (let i: u32 = 0; i < PAGE_SLOTS; i++) {
      const buf = <usize>load<u32>(page + <usize>i * SERIES_STRIDE, R_BUF);
      if (buf != 0) {
        addBytes(hs, -<f64>memBlockCapacity(buf));
        memFree(buf);
      }
    }
    store<u32>(page, <u32>freePages);
    freePages = page;
    memAccount(-<f64>PAGE_BYTES);
    addBytes(hs, -<f64>PAGE_BYTES);
  }
  store<u32>(hs, pages << PAGE_SHIFT, S_SERIES_CAP);
}

/**
 * Moves live series `from` (with its open chunk) to slot `to`, which must
 * be released; `from` is released afterwards. Used to compact the table.
 */
export function headMove(hs: usize, from: u32, to: u32): void {
  const src = liveSlot(hs, from);
  if (src == 0 || to >= load<u32>(hs, S_SERIES_CAP)) return;
  const dst = slotAt(hs, to);
  if ((load<u8>(dst, R_FLAGS) & F_LIVE) != 0) return;
  memory.copy(dst, src, SERIES_STRIDE);
  memory.fill(src, 0, SERIES_STRIDE);
}

/** Frees a series' open chunk and marks the ref unknown. Its queued cut chunks stay queued. */
export function headRelease(hs: usize, ref: u32): void {
  if (ref >= load<u32>(hs, S_SERIES_CAP)) return;
  const slot = slotAt(hs, ref);
  const buf = <usize>load<u32>(slot, R_BUF);
  if (buf != 0) {
    addBytes(hs, -<f64>memBlockCapacity(buf));
    memFree(buf);
  }
  memory.fill(slot, 0, SERIES_STRIDE);
}

// @ts-ignore: decorator
@inline function liveSlot(hs: usize, ref: u32): usize {
  if (ref >= load<u32>(hs, S_SERIES_CAP)) return 0;
  const slot = slotAt(hs, ref);
  return (load<u8>(slot, R_FLAGS) & F_LIVE) != 0 ? slot : 0;
}

/** Moves the open chunk of a series (if any) onto the cut queue. */
function cutChunk(hs: usize, ref: u32, slot: usize): void {
  const count = load<u32>(slot, R_ENC + 4);
  if (count == 0) return;
  const cutLen = load<u32>(hs, S_CUT_LEN);
  let cutCap = load<u32>(hs, S_CUT_CAP);
  if (cutLen == cutCap) {
    const old = <usize>load<u32>(hs, S_CUT);
    const oldBytes = old == 0 ? <usize>0 : memBlockCapacity(old);
    cutCap = cutCap < 64 ? 64 : cutCap << 1;
    const queue = memGrow(old, <usize>cutCap * CUT_STRIDE);
    store<u32>(hs, <u32>queue, S_CUT);
    store<u32>(hs, cutCap, S_CUT_CAP);
    addBytes(hs, <f64>memBlockCapacity(queue) - <f64>oldBytes);
  }
  const len = encSavedByteLength(slot + R_ENC);
  const entry = <usize>load<u32>(hs, S_CUT) + <usize>cutLen * CUT_STRIDE;
  store<u32>(entry, ref, C_REF);
  store<u32>(entry, len, C_LEN);
  store<u32>(entry, load<u32>(slot, R_BUF), C_BUF);
  store<f64>(entry, <f64>load<i64>(slot, R_MIN_T), C_MIN_T);
  store<f64>(entry, <f64>load<i64>(slot, R_LAST_T), C_MAX_T);
  store<u32>(hs, cutLen + 1, S_CUT_LEN);
  store<u32>(slot, 0, R_BUF);
  store<u32>(slot, <u32>memCapacityFor(<usize>(len + CHUNK_HEADROOM)), R_NEXT_CAP);
  store<u32>(slot, 0, R_ENC + 4);
}

// @ts-ignore: decorator
@inline function rangeEnd(t: i64, width: i64): i64 {
  return (t / width) * width + width;
}

// Assumes the chunk (start..cur) is a quarter full and splits what is left
// of the range up to `max` into equal chunks at the same sample rate.
// @ts-ignore: decorator
@inline function chunkEndTime(start: i64, cur: i64, max: i64): i64 {
  const n = (max - start) / ((cur - start + 1) * 4);
  if (n <= 1) return max;
  return start + (max - start) / n;
}

/**
 * Appends samples (refs[i], t[i] f64 ms, v[i] raw bits) for i < n, writing a
 * STATUS_* per sample. Exact duplicates (same t, same bits) are not
 * appended and reported as STATUS_DUPLICATE_IGNORED. Returns the number appended.
 */
export function headAppendBatch(hs: usize, refs: usize, ts: usize, vs: usize, n: i32, status: usize): i32 {
  const range = load<i64>(hs, S_CHUNK_RANGE);
  const perChunk = load<u32>(hs, S_SAMPLES_PER_CHUNK);
  let appended = 0;
  for (let i = 0; i < n; i++) {
    const ref = load<u32>(refs + (<usize>i << 2));
    const slot = liveSlot(hs, ref);
    if (slot == 0) {
      store<u8>(status + i, STATUS_UNKNOWN_REF);
      continue;
    }
    const tf = load<f64>(ts + (<usize>i << 3));
    if (!validTimestamp(tf)) {
      store<u8>(status + i, STATUS_OUT_OF_BOUNDS);
      continue;
    }
    const t = <i64>tf;
    const v = load<u64>(vs + (<usize>i << 3));
    const flags = load<u8>(slot, R_FLAGS);
    const lastT = load<i64>(slot, R_LAST_T);
    if ((flags & F_HAS_SAMPLE) != 0 && t <= lastT) {
      if (t < lastT) store<u8>(status + i, STATUS_OUT_OF_ORDER);
      else store<u8>(status + i, v == load<u64>(slot, R_LAST_V) ? STATUS_DUPLICATE_IGNORED : STATUS_DUPLICATE);
      continue;
    }
    let count = load<u32>(slot, R_ENC + 4);
    if (count != 0) {
      if (count == perChunk >>> 2) {
        store<i64>(slot, chunkEndTime(load<i64>(slot, R_MIN_T), lastT, load<i64>(slot, R_NEXT_AT)), R_NEXT_AT);
      }
      if (t >= load<i64>(slot, R_NEXT_AT) || count >= perChunk << 1) {
        cutChunk(hs, ref, slot);
        count = 0;
      }
    }
    let buf = <usize>load<u32>(slot, R_BUF);
    if (count == 0) {
      store<i64>(slot, t, R_MIN_T);
      store<i64>(slot, rangeEnd(t, range), R_NEXT_AT);
      encReset();
      if (buf == 0) {
        const hint = <usize>load<u32>(slot, R_NEXT_CAP);
        buf = memAlloc(hint > INITIAL_CHUNK_BYTES ? hint : INITIAL_CHUNK_BYTES);
        store<u32>(slot, <u32>buf, R_BUF);
        addBytes(hs, <f64>memBlockCapacity(buf));
      }
    } else {
      encLoad(slot + R_ENC, buf, lastT, load<u64>(slot, R_LAST_V));
      const need = (<usize>load<u32>(slot, R_ENC) >>> 3) + <usize>CHUNK_HEADROOM;
      const cap = memBlockCapacity(buf);
      if (need > cap) {
        const grown = memGrow(buf, cap << 1);
        addBytes(hs, <f64>memBlockCapacity(grown) - <f64>cap);
        buf = grown;
        store<u32>(slot, <u32>buf, R_BUF);
      }
    }
    appendSample(buf, t, v);
    encFinish(buf);
    encSave(slot + R_ENC);
    store<i64>(slot, t, R_LAST_T);
    store<u64>(slot, v, R_LAST_V);
    store<u8>(slot, flags | F_HAS_SAMPLE, R_FLAGS);
    store<u8>(status + i, STATUS_OK);
    appended++;
  }
  return appended;
}

/** Force-closes a series' open chunk onto the cut queue (no-op when it has none). */
export function headCutOpen(hs: usize, ref: u32): void {
  const slot = liveSlot(hs, ref);
  if (slot != 0) cutChunk(hs, ref, slot);
}

/** Number of cut chunks waiting on the queue. */
export function headCutLength(hs: usize): u32 {
  return load<u32>(hs, S_CUT_LEN);
}

/** Pointer to the cut queue (entries of 32 bytes: ref u32, len u32, buf u32, pad, mint f64, maxt f64). */
export function headCutQueue(hs: usize): usize {
  return <usize>load<u32>(hs, S_CUT);
}

/** Frees the queued cut chunks' bytes and empties the queue (call after copying them out). */
export function headDrainDone(hs: usize): void {
  const queue = <usize>load<u32>(hs, S_CUT);
  const len = load<u32>(hs, S_CUT_LEN);
  for (let i: u32 = 0; i < len; i++) {
    const buf = <usize>load<u32>(queue + <usize>i * CUT_STRIDE, C_BUF);
    addBytes(hs, -<f64>memBlockCapacity(buf));
    memFree(buf);
  }
  store<u32>(hs, 0, S_CUT_LEN);
}

/** Byte length of a series' open chunk; 0 when it has none (or the ref is unknown). */
export function headOpenLength(hs: usize, ref: u32): u32 {
  const slot = liveSlot(hs, ref);
  if (slot == 0 || load<u32>(slot, R_ENC + 4) == 0) return 0;
  return encSavedByteLength(slot + R_ENC);
}

/** Pointer to a series' open chunk bytes (valid until the next call into the store). */
export function headOpenBuffer(hs: usize, ref: u32): usize {
  const slot = liveSlot(hs, ref);
  return slot == 0 ? 0 : <usize>load<u32>(slot, R_BUF);
}

/** First timestamp of a series' open chunk (meaningful when headOpenLength > 0). */
export function headOpenMinTime(hs: usize, ref: u32): f64 {
  const slot = liveSlot(hs, ref);
  return slot == 0 ? -Infinity : <f64>load<i64>(slot, R_MIN_T);
}

/** Last appended timestamp of a series; -Infinity when it has none or is unknown. */
export function headLastTimestamp(hs: usize, ref: u32): f64 {
  const slot = liveSlot(hs, ref);
  if (slot == 0 || (load<u8>(slot, R_FLAGS) & F_HAS_SAMPLE) == 0) return -Infinity;
  return <f64>load<i64>(slot, R_LAST_T);
}

/** Bytes this store holds in module memory: series table, chunk buffers, cut queue. */
export function headMemoryBytes(hs: usize): f64 {
  return load<f64>(hs, S_BYTES);
}
