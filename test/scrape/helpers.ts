/**
 * Test doubles for the scrape room: an Appender that records every batch
 * with raw value bits (so staleness markers can be told from NaN), and a
 * deadline-bounded poll.
 */
import { labelsKey, type Labels } from "../../src/model/index.ts";
import { AppendStatus, STALE_NAN_BITS, type AppendResult, type Appender } from "../../src/tsdb/index.ts";
import { pollUntil } from "../support/wait.ts";

export interface RecordedSample {
  t: number;
  v: number;
  stale: boolean;
}

/** Records samples per series; `forget(key)` makes a ref unknown, as head truncation would. */
export class RecordingAppender implements Appender {
  private readonly refsByKey = new Map<string, number>();
  readonly labelsByRef: Labels[] = [];
  readonly samples = new Map<number, RecordedSample[]>();
  private readonly forgotten = new Set<number>();
  refCalls = 0;
  batches = 0;

  ref(labels: Labels): number {
    this.refCalls++;
    const key = labelsKey(labels);
    let r = this.refsByKey.get(key);
    if (r === undefined) {
      r = this.labelsByRef.length;
      this.labelsByRef.push(labels);
      this.refsByKey.set(key, r);
    }
    return r;
  }

  forget(key: string): void {
    const r = this.refsByKey.get(key);
    if (r === undefined) throw new Error(`no series ${key}`);
    this.refsByKey.delete(key);
    this.forgotten.add(r);
  }

  appendBatch(refs: Uint32Array, t: Float64Array, v: Float64Array, n: number, status?: Uint8Array): AppendResult {
    this.batches++;
    const bits = new BigUint64Array(v.buffer, v.byteOffset, v.length);
    const res: AppendResult = { appended: 0, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 };
    for (let i = 0; i < n; i++) {
      const r = refs[i]!;
      if (this.forgotten.has(r) || r >= this.labelsByRef.length) {
        res.unknownRef++;
        if (status) status[i] = AppendStatus.UnknownRef;
        continue;
      }
      let list = this.samples.get(r);
      if (!list) this.samples.set(r, (list = []));
      const last = list[list.length - 1];
      if (last && t[i]! < last.t) {
        res.outOfOrder++;
        if (status) status[i] = AppendStatus.OutOfOrder;
        continue;
      }
      list.push({ t: t[i]!, v: v[i]!, stale: bits[i] === STALE_NAN_BITS });
      res.appended++;
      if (status) status[i] = AppendStatus.Ok;
    }
    return res;
  }

  /** Samples of the series with exactly these labels (by labelsKey), [] when unknown. */
  series(key: string): RecordedSample[] {
    const r = this.refsByKey.get(key);
    return r === undefined ? [] : this.samples.get(r) ?? [];
  }

  /** labelsKey of every series that has samples. */
  seriesKeys(): string[] {
    return [...this.samples.keys()].map((r) => labelsKey(this.labelsByRef[r]!)).sort();
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  await pollUntil(what, check, { deadlineMs: timeoutMs, intervalMs: 10 });
}
