/**
 * A fuzzing worker: mutates a target's corpus and runs the target on each
 * input. Before each run the input is copied into shared memory and a counter
 * is bumped, so the main thread can tell a hang (the counter stops) and read
 * the input that hangs. Crashes are posted back as they are found.
 */
import { mutate, Rng } from "./mutate.ts";
import { TARGETS } from "./targets.ts";

export interface WorkerStart {
  target: string;
  seed: number;
  maxInputs: number;
  deadline: number;
  /** [0]: inputs run; [1]: current input length; bytes from offset 8. */
  shared: SharedArrayBuffer;
}

/** Runs one input once (to confirm a suspected hang). */
export interface WorkerSingle {
  target: string;
  single: Uint8Array;
}

export type WorkerReport =
  | { kind: "crash"; input: Uint8Array; error: string }
  | { kind: "done"; inputs: number; corpus: number; outcomes: number }
  | { kind: "single-done" }
  | { kind: "ready" };

declare const self: Worker;

/** What an input led to, coarsely: new outcomes grow the corpus. */
function outcome(err: unknown): string {
  if (err === undefined) return "ok";
  if (!(err instanceof Error)) return `throw:${typeof err}`;
  // The message's shape, with numbers and quoted parts blanked, keeps the set small.
  return `${err.constructor.name}:${err.message.replace(/"[^"]*"|'[^']*'|\d+/g, "_").slice(0, 80)}`;
}

export const MAX_INPUT = 16 * 1024;

self.onmessage = async (ev: MessageEvent<WorkerStart | WorkerSingle>) => {
  if ("single" in ev.data) {
    const t = TARGETS.find((x) => x.name === ev.data.target)!;
    try {
      t.run(ev.data.single);
    } catch {
      // only the time matters here
    }
    self.postMessage({ kind: "single-done" } satisfies WorkerReport);
    return;
  }
  const { target: name, seed, maxInputs, deadline, shared } = ev.data;
  const target = TARGETS.find((t) => t.name === name)!;
  const counter = new Int32Array(shared, 0, 2);
  const bytes = new Uint8Array(shared, 8);
  const rng = new Rng(seed);
  const corpus = await target.seeds();
  const dictionary = target.dictionary.map((d) => new Uint8Array([...d].map((c) => c.charCodeAt(0) & 0xff)));
  const seen = new Set<string>();
  let n = 0;
  while (n < maxInputs && Date.now() < deadline) {
    const base = corpus[rng.int(corpus.length)]!;
    const other = corpus[rng.int(corpus.length)]!;
    const input = mutate(base, other, dictionary, rng, MAX_INPUT);
    bytes.set(input);
    Atomics.store(counter, 1, input.length);
    Atomics.add(counter, 0, 1);
    n++;
    let err: unknown;
    try {
      target.run(input);
    } catch (e) {
      err = e;
    }
    if (err !== undefined && !target.expected(err)) {
      const error = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : `non-Error thrown: ${String(err)}`;
      self.postMessage({ kind: "crash", input, error } satisfies WorkerReport);
      continue;
    }
    const o = outcome(err);
    if (!seen.has(o)) {
      seen.add(o);
      if (corpus.length < 2000) corpus.push(input);
    }
  }
  self.postMessage({ kind: "done", inputs: n, corpus: corpus.length, outcomes: seen.size } satisfies WorkerReport);
};

// The targets are loaded (imports above): a confirming run may start its clock.
self.postMessage({ kind: "ready" } satisfies WorkerReport);
