import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, lockDataDir } from "../../src/server/index.ts";

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-lock-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("lockDataDir", () => {
  test("creates the directory and a lock holding our PID; release removes it", () => {
    const data = join(dir, "fresh", "data");
    const release = lockDataDir(data);
    expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(data, LOCK_FILE))).toBe(false);
  });

  test("refuses a lock held by a live process, takes it over once that process is gone", async () => {
    const data = join(dir, "held");
    const holder = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    try {
      lockDataDir(data)();
      writeFileSync(join(data, LOCK_FILE), `${holder.pid}\n`);
      expect(() => lockDataDir(data)).toThrow(`lock DB directory ${data}: held by running process ${holder.pid}`);
    } finally {
      holder.kill("SIGKILL");
    }
    await holder.exited;
    const release = lockDataDir(data);
    expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    release();
  });

  test("takes over a lock file with garbage or our own PID in it", () => {
    const data = join(dir, "stale");
    lockDataDir(data)();
    for (const content of ["not a pid\n", `${process.pid}\n`, ""]) {
      writeFileSync(join(data, LOCK_FILE), content);
      const release = lockDataDir(data);
      expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
      release();
    }
  });
});
