/**
 * A failed write of the Pushgateway's persistence file (here: its temporary
 * file cannot be created, as on a full or read-only disk) keeps the previous
 * file intact, is logged, and is retried by the next flush, which then
 * writes every push accepted meanwhile.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newLogger } from "../../src/log/index.ts";
import { decodeGroups, parseTextFamilies, Persistence, PushStore } from "../../src/pushgateway/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-pg-persist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a failed write keeps the old file, is logged, and the next flush writes everything", () => {
  const file = join(dir, "metrics.json");
  const lines: string[] = [];
  const store = new PushStore();
  const persistence = new Persistence(store, file, 0, newLogger({ write: (l) => lines.push(l) }));
  store.push([["job", "a"]], parseTextFamilies("m 1\n"), "PUT", Date.now());
  expect(persistence.flush()).toBe(true);
  const before = readFileSync(file, "utf8");

  // The temporary file's name is taken by a directory: the write fails like one on a broken disk.
  mkdirSync(`${file}.tmp`);
  store.push([["job", "b"]], parseTextFamilies("m 2\n"), "PUT", Date.now());
  expect(persistence.flush()).toBe(false);
  expect(readFileSync(file, "utf8")).toBe(before);
  expect(lines.some((l) => l.includes("level=error") && l.includes("Error persisting metrics") && l.includes(file))).toBe(true);

  rmSync(`${file}.tmp`, { recursive: true });
  expect(persistence.flush()).toBe(true);
  expect(decodeGroups(readFileSync(file, "utf8")).map((g) => g.key)).toEqual([[["job", "a"]], [["job", "b"]]]);
});
