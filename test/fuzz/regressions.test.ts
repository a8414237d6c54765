/**
 * Replays every reproducer the fuzzer saved (test/fixtures/fuzz/<target>/*.bin):
 * each must now be refused with the parser's own error, or accepted, within
 * a second — no crash, no hang. Also runs a short fuzzing pass per target so
 * the harness itself stays working.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { mutate, Rng } from "./mutate.ts";
import { TARGETS } from "./targets.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/fuzz");

describe("fuzz reproducers", () => {
  for (const target of TARGETS) {
    const dir = join(FIXTURES, target.name);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".bin")).sort() : [];
    for (const f of files) {
      test(`${target.name}/${f}`, () => {
        const input = new Uint8Array(readFileSync(join(dir, f)));
        const start = performance.now();
        let err: unknown;
        try {
          target.run(input);
        } catch (e) {
          err = e;
        }
        expect(performance.now() - start).toBeLessThan(1000);
        if (err !== undefined && !target.expected(err)) throw err;
      });
    }
  }
});

describe("fuzz harness", () => {
  for (const target of TARGETS) {
    test(`${target.name}: 100 mutated inputs neither crash nor stall`, async () => {
      const seeds = await target.seeds();
      expect(seeds.length).toBeGreaterThan(0);
      // Seeds are valid inputs: accepted as they are.
      for (const s of seeds) target.run(s);
      const rng = new Rng(12345);
      const dictionary = target.dictionary.map((d) => new Uint8Array([...d].map((c) => c.charCodeAt(0) & 0xff)));
      let refused = 0;
      for (let i = 0; i < 100; i++) {
        const input = mutate(seeds[rng.int(seeds.length)]!, seeds[rng.int(seeds.length)]!, dictionary, rng, 16 * 1024);
        try {
          target.run(input);
        } catch (e) {
          if (!target.expected(e)) throw e;
          refused++;
        }
      }
      expect(refused).toBeGreaterThan(0); // the mutations reach the parser's error paths
    }, 30_000);
  }
});
