import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, lockDataDir } from "../../src/server/index.ts";
import { pollUntil } from "../support/wait.ts";

const HOLDER = join(import.meta.dir, "fixtures", "lock_holder.ts");

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-lock-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A child process running lock_holder.ts, with its stdout collected. */
function holder(data: string, at = 0) {
  const proc = Bun.spawn([process.execPath, HOLDER, data, `at=${at}`], { stdout: "pipe", stderr: "inherit" });
  let out = "";
  const decoder = new TextDecoder();
  void (async () => {
    const reader = proc.stdout.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out += decoder.decode(value, { stream: true });
    }
  })();
  return { proc, out: () => out };
}

async function reported(h: ReturnType<typeof holder>): Promise<string> {
  return pollUntil(`lock holder ${h.proc.pid} to report`, () => (h.out().includes("\n") ? h.out().trim() : undefined), { deadlineMs: 20_000 });
}

describe("lockDataDir", () => {
  test("creates the directory and an flock'ed file holding our PID; release removes it", () => {
    const data = join(dir, "fresh", "data");
    const release = lockDataDir(data);
    expect(release.method).toBe("flock");
    expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(data, LOCK_FILE))).toBe(false);
    lockDataDir(data)();
  });

  test("a second lock in another process is refused while the first is held, naming the holder", async () => {
    const data = join(dir, "held");
    const release = lockDataDir(data);
    try {
      const other = holder(data);
      expect(await reported(other)).toBe(`lost lock DB directory ${data}: resource temporarily unavailable (held by running process ${process.pid})`);
      await other.proc.exited;
    } finally {
      release();
    }
  }, 30_000);

  test("a restart right after kill -9 of the holder gets the lock, even before the dead holder is reaped", async () => {
    const data = join(dir, "killed");
    // The holder runs under a parent that never reaps it (`sleep` after exec), so once killed it
    // stays a zombie: its PID still "exists" (what fooled the PID-file lock), but its flock is gone.
    const parent = Bun.spawn(["sh", "-c", `"${process.execPath}" "${HOLDER}" "${data}" at=0 & exec sleep 60`], { stdout: "pipe", stderr: "inherit" });
    try {
      const reader = parent.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe("won flock\n");
      const pid = Number(readFileSync(join(data, LOCK_FILE), "utf8").trim());
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(parent.pid);
      process.kill(pid, "SIGKILL");
      // The kernel drops the lock once every thread of the holder is gone (a few ms after SIGKILL).
      const release = await pollUntil("the lock after kill -9", () => {
        try {
          return lockDataDir(data);
        } catch {
          return undefined;
        }
      }, { deadlineMs: 10_000, intervalMs: 5 });
      expect(release.method).toBe("flock");
      release();
      // The dead holder is still not reaped: its PID still exists, as a zombie.
      expect(readFileSync(`/proc/${pid}/stat`, "utf8")).toMatch(/^\d+ \(.*\) Z /);
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      parent.kill("SIGKILL");
      await parent.exited;
    }
  }, 30_000);

  test("a stale lock file naming a live process (a recycled PID) does not block", async () => {
    const data = join(dir, "stale");
    const unrelated = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    try {
      lockDataDir(data)();
      for (const content of [`${unrelated.pid}\n`, "not a pid\n", ""]) {
        writeFileSync(join(data, LOCK_FILE), content);
        const release = lockDataDir(data);
        expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
        release();
      }
    } finally {
      unrelated.kill("SIGKILL");
      await unrelated.exited;
    }
  });

  test("processes racing for one data directory: exactly one wins", async () => {
    const data = join(dir, "race");
    const at = Date.now() + 3000;
    const racers = Array.from({ length: 4 }, () => holder(data, at));
    try {
      const results = await Promise.all(racers.map(reported));
      expect(results.filter((r) => r === "won flock")).toHaveLength(1);
      for (const r of results.filter((r) => r !== "won flock")) expect(r).toStartWith(`lost lock DB directory ${data}: resource temporarily unavailable`);
    } finally {
      for (const r of racers) r.proc.kill("SIGKILL");
      await Promise.all(racers.map((r) => r.proc.exited));
    }
  }, 60_000);
});

describe("lockDataDir PID-file fallback (filesystems without flock)", () => {
  test("refuses a lock held by a live process, takes it over once that process is gone", async () => {
    const data = join(dir, "pidfile");
    const live = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    try {
      const first = lockDataDir(data, { forcePidFile: true });
      expect(first.method).toBe("pidfile");
      first();
      writeFileSync(join(data, LOCK_FILE), `${live.pid}\n`);
      expect(() => lockDataDir(data, { forcePidFile: true })).toThrow(`lock DB directory ${data}: held by running process ${live.pid}`);
    } finally {
      live.kill("SIGKILL");
    }
    await live.exited;
    const release = lockDataDir(data, { forcePidFile: true });
    expect(readFileSync(join(data, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(data, LOCK_FILE))).toBe(false);
  });
});
