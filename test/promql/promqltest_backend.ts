/**
 * Storage backends for the conformance runner: the real TSDB head (default)
 * in a temporary directory, or the in-memory store when
 * PROMQLTEST_STORAGE=mem. The head accepts samples in time order only, so
 * samples of a `load` that go back in time for an existing series are
 * reported as an error rather than silently dropped.
 *
 * @example
 * const backend = await newScriptBackend();
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { labelsKey, type Labels } from "../../src/model/index.ts";
import { Head } from "../../src/tsdb/head/index.ts";
import { PartsQuerier } from "../../src/tsdb/querier.ts";
import type { ScriptBackend } from "./promqltest_runner.ts";
import { MemStorage } from "./promqltest_storage.ts";

/** The in-memory backend. */
export function newMemBackend(): ScriptBackend {
  const mem = new MemStorage();
  return {
    append: (labels, t, v) => mem.append(labels, t, v),
    clear: () => mem.clear(),
    querier: () => mem.querier(),
  };
}

/** A backend over a fresh Head per `clear`, in a temporary directory removed on close. */
export async function newHeadBackend(): Promise<ScriptBackend> {
  const root = mkdtempSync(path.join(tmpdir(), "promqltest-"));
  let generation = 0;
  let head = await Head.open({ dir: path.join(root, String(generation)) });
  return {
    async append(labels: Labels, t: Float64Array, v: Float64Array): Promise<void> {
      const app = head.appender();
      const ref = app.ref(labels);
      const n = t.length;
      const refs = new Uint32Array(n).fill(ref);
      const res = app.appendBatch(refs, t, v, n);
      if (res.appended !== n) {
        throw new Error(`head rejected ${n - res.appended} of ${n} samples of ${labelsKey(labels)} (out of order ${res.outOfOrder}, duplicate ${res.duplicate}, out of bounds ${res.outOfBounds})`);
      }
    },
    async clear(): Promise<void> {
      await head.close();
      generation++;
      head = await Head.open({ dir: path.join(root, String(generation)) });
    },
    querier: (mint, maxt) => new PartsQuerier([head.querier(mint, maxt)]),
    async close(): Promise<void> {
      await head.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The backend chosen by PROMQLTEST_STORAGE ("head", the default, or "mem"). */
export async function newScriptBackend(): Promise<ScriptBackend> {
  return process.env.PROMQLTEST_STORAGE === "mem" ? newMemBackend() : newHeadBackend();
}
