/**
 * Cooperative scheduling for long storage jobs (writing blocks, truncating
 * the head, checkpointing the WAL): they run in slices of synchronous work
 * and yield to the event loop between slices, so scrapes, appends and
 * queries keep being served while they run.
 *
 * @example
 * const slicer = new WorkSlicer();
 * for (const item of items) {
 *   work(item);
 *   if (slicer.due()) await slicer.yield();
 * }
 */

/** How long a slice of synchronous work runs before yielding, in ms. */
export const WORK_SLICE_MS = 10;

/** Resolves on a later turn of the event loop, after pending I/O callbacks and due timers. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Measures the current slice of synchronous work; see the module example. */
export class WorkSlicer {
  private start = performance.now();

  constructor(private readonly sliceMs = WORK_SLICE_MS) {}

  /** Whether the current slice is used up (the caller should `await yield()`). */
  due(): boolean {
    return performance.now() - this.start >= this.sliceMs;
  }

  /** Yields to the event loop and starts a new slice. */
  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.start = performance.now();
  }
}

/**
 * Runs a stepwise job (a generator that pauses by yielding nothing) to its
 * result, letting the event loop run whenever a slice is used up.
 *
 * @example
 * const sorted = await runSteps(sortSteps(items, compare));
 */
export async function runSteps<T>(steps: Generator<void, T, undefined>, slicer = new WorkSlicer()): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (slicer.due()) await slicer.yield();
  }
}

/** Runs a stepwise job to its result without pausing. */
export function runStepsNow<T>(steps: Generator<void, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Elements sorted per run before merging; one run's native sort is a short step. */
const SORT_RUN = 1024;

/**
 * Sorts `items` in place (stable) in steps: runs of {@link SORT_RUN} are
 * sorted natively, then merged pairwise, pausing every run's worth of work.
 * Returns `items`.
 *
 * @example
 * runStepsNow(sortSteps([3, 1, 2], (a, b) => a - b)); // [1, 2, 3]
 */
export function* sortSteps<T>(items: T[], compare: (a: T, b: T) => number): Generator<void, T[], undefined> {
  const n = items.length;
  if (n <= SORT_RUN) return items.sort(compare);
  for (let start = 0; start < n; start += SORT_RUN) {
    const run = items.slice(start, start + SORT_RUN).sort(compare);
    for (let i = 0; i < run.length; i++) items[start + i] = run[i]!;
    yield;
  }
  let src = items, dst = new Array<T>(n);
  for (let width = SORT_RUN; width < n; width *= 2) {
    let work = 0;
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        dst[o++] = compare(src[j]!, src[i]!) < 0 ? src[j++]! : src[i++]!;
        if ((++work & (SORT_RUN - 1)) === 0) yield;
      }
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  if (src !== items) for (let i = 0; i < n; i++) items[i] = src[i]!;
  return items;
}
