import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { newMatcher } from "../../src/model/index.ts";
import { ScrapeManager } from "../../src/scrape/index.ts";
import { Head, MAX_TIME, MIN_TIME, STALE_NAN_BITS } from "../../src/tsdb/index.ts";
import { waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Values of a series in the head, with staleness markers told apart by their bits. */
function stored(head: Head, name: string): { v: number; stale: boolean }[] {
  const series = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", name)], MIN_TIME, MAX_TIME);
  if (series.length === 0) return [];
  const b = series[0]!.samples();
  const bits = new BigUint64Array(b.v.buffer, b.v.byteOffset, b.length);
  return Array.from({ length: b.length }, (_, i) => ({ v: b.v[i]!, stale: bits[i] === STALE_NAN_BITS }));
}

test("scraped samples and staleness markers land in the real head", async () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-scrape-"));
  const head = await Head.open({ dir });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => head.close());
  let body = "kept 1\ngone 2\n";
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(body) });
  cleanups.push(() => server.stop(true));
  const sm = new ScrapeManager({ appender: () => head.appender() });
  cleanups.push(() => sm.stop());
  const { config } = parseConfig(`scrape_configs:\n  - job_name: h\n    scrape_interval: 100ms\n    static_configs: [{targets: ["127.0.0.1:${server.port}"]}]\n`, "t.yml");
  sm.applyConfig(config);
  await waitFor("gone stored", () => stored(head, "gone").length > 0);
  expect(stored(head, "up")[0]).toEqual({ v: 1, stale: false });
  body = "kept 3\n";
  await waitFor("gone stale", () => stored(head, "gone").some((s) => s.stale));
  expect(stored(head, "gone").filter((s) => !s.stale).every((s) => s.v === 2)).toBe(true);
  expect(stored(head, "kept").at(-1)!.stale).toBe(false);
  const labels = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "kept")], MIN_TIME, MAX_TIME)[0]!.labels;
  expect(labels.map((l) => `${l.name}=${l.value}`)).toEqual(["__name__=kept", `instance=127.0.0.1:${server.port}`, "job=h"]);
});
