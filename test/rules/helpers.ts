/** Shared fixtures for rule tests: a real DB in a temp dir, a manual RuleManager, sample writers and readers. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher, Registry } from "../../src/model/index.ts";
import { Engine } from "../../src/promql/index.ts";
import { RuleManager, type RuleManagerOptions, type SentAlert } from "../../src/rules/index.ts";
import { openDB, STALE_NAN_BITS, type DB } from "../../src/tsdb/index.ts";

/** Base time of the tests' data: a realistic epoch in ms, aligned to a minute. */
export const T0 = 1_700_000_040_000;

/** A temp DB plus helpers; `close()` removes everything. */
export interface Fixture {
  dir: string;
  db: DB;
  engine: Engine;
  clock: { now: number };
  sent: SentAlert[][];
  registry: Registry;
  ruleFile(name: string, text: string): string;
  manager(extra?: Partial<RuleManagerOptions>): RuleManager;
  write(labels: Record<string, string>, points: [number, number][]): void;
  writeStale(labels: Record<string, string>, t: number): void;
  read(matchers: Record<string, string>): Promise<{ labels: string; points: { t: number; v: number; stale: boolean }[] }[]>;
  close(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "promts-rules-"));
  const db = await openDB({ dir: join(dir, "data"), compactionIntervalMs: 0 });
  const engine = new Engine();
  const clock = { now: T0 };
  const sent: SentAlert[][] = [];
  const registry = new Registry();
  return {
    dir,
    db,
    engine,
    clock,
    sent,
    registry,
    ruleFile(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    manager(extra = {}) {
      return new RuleManager({
        engine,
        queryable: (mint, maxt) => db.querier(mint, maxt),
        appendable: () => db.appender(),
        notify: (alerts) => sent.push(alerts),
        now: () => clock.now,
        manual: true,
        registry: extra.registry ?? registry,
        ...extra,
      });
    },
    write(labels, points) {
      const app = db.appender();
      const ref = app.ref(labelsFromRecord(labels));
      const n = points.length;
      const refs = new Uint32Array(n).fill(ref);
      const t = new Float64Array(points.map((p) => p[0]));
      const v = new Float64Array(points.map((p) => p[1]));
      app.appendBatch(refs, t, v, n);
    },
    writeStale(labels, t) {
      const app = db.appender();
      const v = new Float64Array(1);
      new BigUint64Array(v.buffer)[0] = STALE_NAN_BITS;
      app.appendBatch(new Uint32Array([app.ref(labelsFromRecord(labels))]), new Float64Array([t]), v, 1);
    },
    async read(matchers) {
      const ms = Object.entries(matchers).map(([k, v]) => newMatcher("=", k, v));
      const q = db.querier(0, T0 * 2);
      const selected = await q.select(ms, 0, T0 * 2);
      q.close();
      return selected.map((s) => {
        const b = s.samples();
        const bits = new BigUint64Array(b.v.buffer, b.v.byteOffset, b.length);
        const points = Array.from({ length: b.length }, (_, i) => ({ t: b.t[i]!, v: b.v[i]!, stale: bits[i] === STALE_NAN_BITS }));
        return { labels: s.labels.map((l) => `${l.name}=${l.value}`).join(","), points };
      });
    },
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Evaluates the manager at each time (ms), keeping the fixture clock in step. */
export async function evalAt(f: Fixture, m: RuleManager, times: number[]): Promise<void> {
  for (const t of times) {
    f.clock.now = t;
    await m.evaluate(t);
  }
}
