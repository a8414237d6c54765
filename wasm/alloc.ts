// Size-class allocator for codec buffers that grow, shrink and die at
// different times (per-series head chunks, cut chunks, scratch arrays).
//
// Blocks are powers of two with an 8-byte header holding the class, so a free
// needs only the pointer. Small blocks are carved from 64 KiB slabs; large ones
// come straight from the runtime heap. Freed blocks go on a per-class free
// list and are reused; memory is never returned to the runtime. Taking slabs
// from `heap.alloc` (rather than owning __heap_base) lets other code in this
// module (e.g. the PromQL kernels) use the runtime allocator alongside.

const HEADER: usize = 8;
const MIN_CLASS: u32 = 4; // 16-byte blocks
const MAX_SLAB_CLASS: u32 = 12; // blocks up to 4 KiB come from slabs
const SLAB_BYTES: usize = 65536;
const NUM_CLASSES: u32 = 32;
const FREE_HEADS: usize = memory.data(NUM_CLASSES * 4, 4);

let slabNext: usize = 0;
let slabEnd: usize = 0;
let blockBytesInUse: usize = 0;

// @ts-ignore: decorator
@inline function classForTotal(total: usize): u32 {
  if (total <= (<usize>1 << MIN_CLASS)) return MIN_CLASS;
  return 32 - clz<u32>(<u32>(total - 1));
}

/** Usable bytes of a block holding at least `size` bytes (the block's class capacity). */
export function memCapacityFor(size: usize): usize {
  return (<usize>1 << classForTotal(size + HEADER)) - HEADER;
}

/**
 * Allocates `size` zeroed bytes, 8-byte aligned. The block must be released
 * with memFree. Traps when the module cannot grow its memory.
 */
export function memAlloc(size: usize): usize {
  const cls = classForTotal(size + HEADER);
  const blockSize: usize = <usize>1 << cls;
  const head = FREE_HEADS + (<usize>cls << 2);
  let block: usize = load<u32>(head);
  if (block != 0) {
    store<u32>(head, load<u32>(block + HEADER));
  } else if (cls <= MAX_SLAB_CLASS) {
    if (slabNext + blockSize > slabEnd) {
      slabNext = (heap.alloc(SLAB_BYTES + 16) + 15) & ~(<usize>15);
      slabEnd = slabNext + SLAB_BYTES;
    }
    block = slabNext;
    slabNext += blockSize;
  } else {
    block = (heap.alloc(blockSize + 16) + 15) & ~(<usize>15);
  }
  store<u32>(block, cls);
  memory.fill(block + HEADER, 0, blockSize - HEADER);
  blockBytesInUse += blockSize;
  return block + HEADER;
}

/** Returns a block from memAlloc to its free list. A 0 pointer is ignored. */
export function memFree(ptr: usize): void {
  if (ptr == 0) return;
  const block = ptr - HEADER;
  const cls = load<u32>(block);
  const head = FREE_HEADS + (<usize>cls << 2);
  store<u32>(ptr, load<u32>(head));
  store<u32>(head, <u32>block);
  blockBytesInUse -= <usize>1 << cls;
}

/** Usable bytes of an allocated block (at least what was asked for). */
export function memBlockCapacity(ptr: usize): usize {
  return (<usize>1 << load<u32>(ptr - HEADER)) - HEADER;
}

/**
 * Grows a block to hold at least `size` bytes, keeping its contents; bytes
 * past the old capacity are zero. Returns the (possibly moved) pointer.
 */
export function memGrow(ptr: usize, size: usize): usize {
  if (ptr == 0) return memAlloc(size);
  const oldCapacity = memBlockCapacity(ptr);
  if (size <= oldCapacity) return ptr;
  const moved = memAlloc(size);
  memory.copy(moved, ptr, oldCapacity);
  memFree(ptr);
  return moved;
}

/**
 * Counts (delta > 0) or uncounts memory a caller manages itself in
 * memBytesInUse (the head's series table pages).
 */
export function memAccount(delta: f64): void {
  blockBytesInUse = <usize>(<f64>blockBytesInUse + delta);
}

/** Bytes held by live memAlloc blocks (headers included) and accounted pages. */
export function memBytesInUse(): f64 {
  return <f64>blockBytesInUse;
}
