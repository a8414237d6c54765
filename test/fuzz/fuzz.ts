/**
 * `npm run fuzz`: mutation fuzzing of every parser (see targets.ts), one
 * worker thread per target in turn, each with an input count and a time
 * budget. Crashes (unexpected errors) and hangs (no progress for --hang-ms)
 * are saved as reproducers under test/fixtures/fuzz/<target>/, which
 * test/fuzz/regressions.test.ts replays in `npm test`.
 *
 *   bun test/fuzz/fuzz.ts [--inputs=1000000] [--budget-s=600] [--hang-ms=10000] [--seed=N] [target…]
 *
 * Prints one line per target: inputs run, corpus size, crashes, hangs.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TARGETS } from "./targets.ts";
import { MAX_INPUT, type WorkerReport, type WorkerStart } from "./worker.ts";

export const FIXTURES = join(import.meta.dir, "../fixtures/fuzz");

function flag(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
}

function save(target: string, kind: "crash" | "hang", input: Uint8Array, error: string): string {
  const dir = join(FIXTURES, target);
  mkdirSync(dir, { recursive: true });
  const id = createHash("sha256").update(input).digest("hex").slice(0, 16);
  const file = join(dir, `${kind}-${id}.bin`);
  writeFileSync(file, input);
  writeFileSync(`${file}.txt`, `${kind}: ${error}\n`);
  return file;
}

interface Result {
  target: string;
  inputs: number;
  corpus: number;
  outcomes: number;
  crashes: number;
  hangs: number;
  seconds: number;
}

/**
 * Runs `input` alone in a fresh worker: true when it does not finish within
 * `ms` (a stalled counter under a loaded machine is not enough to call a hang).
 */
export async function confirmHang(target: string, input: Uint8Array, ms: number): Promise<boolean> {
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
  let loaded!: () => void;
  const ready = new Promise<void>((resolve) => { loaded = resolve; });
  const finished = new Promise<boolean>((resolve) => {
    worker.onmessage = (ev: MessageEvent<WorkerReport>) => (ev.data.kind === "ready" ? loaded() : resolve(false));
  });
  // The clock starts once the worker has loaded the targets.
  await ready;
  worker.postMessage({ target, single: input });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), ms); });
  const hung = await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  worker.terminate();
  return hung;
}

async function fuzzTarget(name: string, maxInputs: number, budgetMs: number, hangMs: number, seed: number): Promise<Result> {
  const start = Date.now();
  const deadline = start + budgetMs;
  const res: Result = { target: name, inputs: 0, corpus: 0, outcomes: 0, crashes: 0, hangs: 0, seconds: 0 };
  const crashKinds = new Set<string>();
  let round = 0;
  while (res.inputs < maxInputs && Date.now() < deadline) {
    const shared = new SharedArrayBuffer(8 + MAX_INPUT);
    const counter = new Int32Array(shared, 0, 2);
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
    const done = new Promise<WorkerReport & { kind: "done" }>((resolve) => {
      worker.onmessage = (ev: MessageEvent<WorkerReport>) => {
        const r = ev.data;
        if (r.kind === "crash") {
          const kind = r.error.split("\n")[0]!.replace(/\d+/g, "N");
          if (!crashKinds.has(kind)) {
            crashKinds.add(kind);
            const file = save(name, "crash", r.input, r.error);
            console.log(`  ${name}: crash saved to ${file}: ${r.error.split("\n")[0]}`);
          }
          res.crashes++;
        } else if (r.kind === "done") resolve(r);
      };
    });
    const msg: WorkerStart = { target: name, seed: seed + round++, maxInputs: maxInputs - res.inputs, deadline, shared };
    worker.postMessage(msg);
    // Watch for progress; a stalled counter is a hang.
    let last = -1, lastChange = Date.now();
    const outcome = await new Promise<(WorkerReport & { kind: "done" }) | "hang">((resolve) => {
      const timer = setInterval(() => {
        const now = Atomics.load(counter, 0);
        if (now !== last) {
          last = now;
          lastChange = Date.now();
        } else if (now > 0 && Date.now() - lastChange > hangMs) {
          clearInterval(timer);
          resolve("hang");
        }
      }, 100);
      void done.then((d) => {
        clearInterval(timer);
        resolve(d);
      });
    });
    if (outcome === "hang") {
      const len = Atomics.load(counter, 1);
      const input = new Uint8Array(shared, 8, len).slice();
      worker.terminate();
      res.inputs += Atomics.load(counter, 0);
      if (await confirmHang(name, input, hangMs)) {
        const file = save(name, "hang", input, `no result within ${hangMs} ms, twice`);
        console.log(`  ${name}: hang saved to ${file}`);
        res.hangs++;
      } else {
        console.log(`  ${name}: a stall of ${hangMs} ms was the machine, not the input (it ran at once alone)`);
      }
      continue;
    }
    worker.terminate();
    res.inputs += outcome.inputs;
    res.corpus = outcome.corpus;
    res.outcomes = outcome.outcomes;
  }
  res.seconds = (Date.now() - start) / 1000;
  return res;
}

if (import.meta.main) {
  const maxInputs = flag("inputs", 1_000_000);
  const budgetMs = flag("budget-s", 600) * 1000;
  const hangMs = flag("hang-ms", 10_000);
  const seed = flag("seed", Date.now() & 0x7fffffff);
  const names = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const targets = names.length ? TARGETS.filter((t) => names.includes(t.name)) : TARGETS;
  if (names.length && targets.length !== names.length) {
    console.error(`unknown target; known: ${TARGETS.map((t) => t.name).join(", ")}`);
    process.exit(2);
  }
  console.log(`fuzzing ${targets.length} targets, up to ${maxInputs} inputs or ${budgetMs / 1000}s each, seed ${seed}`);
  const results: Result[] = [];
  for (const t of targets) {
    const r = await fuzzTarget(t.name, maxInputs, budgetMs, hangMs, seed);
    results.push(r);
    console.log(`${r.target.padEnd(18)} inputs ${String(r.inputs).padStart(9)}  ${(r.inputs / r.seconds).toFixed(0).padStart(7)}/s  corpus ${String(r.corpus).padStart(4)}  outcomes ${String(r.outcomes).padStart(4)}  crashes ${r.crashes}  hangs ${r.hangs}  ${r.seconds.toFixed(0)}s`);
  }
  const bad = results.reduce((n, r) => n + r.crashes + r.hangs, 0);
  process.exit(bad > 0 ? 1 : 0);
}
