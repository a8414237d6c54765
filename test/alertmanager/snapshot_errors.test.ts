/**
 * Write errors on the silences and notification-log snapshots: the change
 * that caused the write is kept (the API answers 200, the notification is
 * not repeated), the previous snapshot stays intact, the failure is logged
 * and counted, and the write is retried until it succeeds, so a reload after
 * that (what a kill -9 and restart see) has everything. The atomic replace
 * itself is checked on a real full and a real read-only tmpfs when the
 * tests run as root.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotificationLog, receiverKeyString, Silences, type PostableSilence } from "../../src/alertmanager/index.ts";
import { SnapshotFile } from "../../src/alertmanager/snapshot.ts";
import { writeFileAtomic } from "../../src/base/index.ts";
import { newLogger } from "../../src/log/index.ts";
import { pollUntil } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-snapshot-err-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const T0 = Date.now();

/** An atomic writer that fails with `code` while `failing` is set. */
function faultyWrite(code: string) {
  const state = { failing: false, failures: 0 };
  const write = (path: string, text: string) => {
    if (state.failing) {
      state.failures++;
      const err = new Error(`${code}: simulated, open '${path}.tmp'`) as Error & { code: string };
      err.code = code;
      throw err;
    }
    writeFileAtomic(path, text);
  };
  return { write, state };
}

function silence(value: string): PostableSilence {
  return {
    matchers: [{ name: "alertname", value, isRegex: false, isEqual: true }],
    startsAt: T0, endsAt: T0 + HOUR, createdBy: "me", comment: "c",
  };
}

describe("silences snapshot write errors", () => {
  test("a silence set while the disk fails is kept, logged, counted, and on disk once writing works", async () => {
    const path = join(dir, "silences");
    const lines: string[] = [];
    const faults = faultyWrite("ENOSPC");
    const s = new Silences({
      path, retention: 120 * HOUR,
      snapshot: { logger: newLogger({ write: (l) => lines.push(l) }), write: faults.write, retryMinMs: 10, retryMaxMs: 40 },
    });
    const first = s.set(silence("first"), T0);
    const before = readFileSync(path, "utf8");
    faults.state.failing = true;
    const second = s.set(silence("second"), T0);
    expect(s.get(second)?.matchers[0]?.value).toBe("second");
    expect(s.snapshot.errors).toBeGreaterThanOrEqual(1);
    expect(s.snapshot.pending).toBe(true);
    expect(readFileSync(path, "utf8")).toBe(before);
    const logged = lines.find((l) => l.includes("level=error") && l.includes("Writing silences snapshot failed"));
    expect(logged).toContain(`file=${path}`);
    expect(logged).toContain("ENOSPC");
    // Retries keep failing while the disk does, and never touch the old file.
    await pollUntil("a retried write", () => faults.state.failures >= 3);
    expect(readFileSync(path, "utf8")).toBe(before);

    faults.state.failing = false;
    await pollUntil("the snapshot written by a retry", () => !s.snapshot.pending);
    expect(lines.some((l) => l.includes("Wrote silences snapshot after earlier failures"))).toBe(true);
    const reloaded = new Silences({ path, retention: 120 * HOUR });
    expect(reloaded.load()).toBeUndefined();
    expect(reloaded.list().map((x) => x.id).sort()).toEqual([first, second].sort());
    s.snapshot.close();
  });

  test("a read-only directory: the change is kept; the next change after it is writable writes both", () => {
    const path = join(dir, "silences-ro");
    const faults = faultyWrite("EROFS");
    const s = new Silences({ path, retention: 120 * HOUR, snapshot: { write: faults.write, retryMinMs: 60_000 } });
    faults.state.failing = true;
    const a = s.set(silence("a"), T0);
    expect(existsSync(path)).toBe(false);
    expect(s.snapshot.errors).toBe(1);
    faults.state.failing = false;
    const b = s.set(silence("b"), T0);
    expect(s.snapshot.pending).toBe(false);
    const reloaded = new Silences({ path, retention: 120 * HOUR });
    reloaded.load();
    expect(reloaded.list().map((x) => x.id).sort()).toEqual([a, b].sort());
    s.snapshot.close();
  });
});

describe("notification log snapshot write errors", () => {
  test("a logged notification is kept in memory while the write fails, then written", async () => {
    const path = join(dir, "nflog");
    const faults = faultyWrite("EIO");
    const lines: string[] = [];
    const recv = { groupName: "team", integration: "webhook", idx: 0 };
    const log = new NotificationLog({
      path, retention: HOUR,
      snapshot: { logger: newLogger({ write: (l) => lines.push(l) }), write: faults.write, retryMinMs: 10, retryMaxMs: 40 },
    });
    log.log("{}:{a=\"1\"}", recv, ["f1"], [], 1000);
    const before = readFileSync(path, "utf8");
    faults.state.failing = true;
    expect(() => log.log("{}:{a=\"2\"}", recv, ["f2"], [], 2000)).not.toThrow();
    expect(log.query("{}:{a=\"2\"}", receiverKeyString(recv))?.firingAlerts).toEqual(["f2"]);
    expect(readFileSync(path, "utf8")).toBe(before);
    expect(log.snapshot.errors).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.includes("Writing notification log snapshot failed") && l.includes("EIO"))).toBe(true);
    faults.state.failing = false;
    await pollUntil("the nflog snapshot written by a retry", () => !log.snapshot.pending);
    const reloaded = new NotificationLog({ path, retention: HOUR });
    expect(reloaded.load(3000)).toBeUndefined();
    expect(reloaded.list().length).toBe(2);
    expect(log.snapshotSize).toBe(readFileSync(path).length);
    log.snapshot.close();
  });
});

describe("SnapshotFile", () => {
  test("retries until closed; a later flush writes", async () => {
    const faults = faultyWrite("EIO");
    faults.state.failing = true;
    const snap = new SnapshotFile({ path: join(dir, "backoff"), what: "test", encode: () => "x", write: faults.write, retryMinMs: 5, retryMaxMs: 20 });
    snap.changed();
    await pollUntil("several retries", () => faults.state.failures >= 5, { deadlineMs: 5000 });
    expect(snap.retrying).toBe(true);
    snap.close();
    expect(snap.retrying).toBe(false);
    expect(snap.pending).toBe(true);
    expect(snap.flush()).toBe(false);
    faults.state.failing = false;
    expect(snap.flush()).toBe(true);
    expect(readFileSync(join(dir, "backoff"), "utf8")).toBe("x");
  });
});

/** A real tmpfs of `size`, or undefined (with a loud message) when it cannot be mounted. */
function mountTmpfs(size: string): string | undefined {
  if (process.getuid?.() !== 0) {
    console.warn("\n*** SKIPPED: writeFileAtomic on a full / read-only filesystem needs root to mount a tmpfs ***\n");
    return undefined;
  }
  const m = mkdtempSync(join(tmpdir(), "promts-atomic-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", m], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) {
    console.warn(`\n*** SKIPPED: mounting a tmpfs failed: ${r.stderr.toString().trim()} ***\n`);
    rmSync(m, { recursive: true, force: true });
    return undefined;
  }
  return m;
}

function unmount(m: string): void {
  Bun.spawnSync(["umount", "-l", m]);
  rmSync(m, { recursive: true, force: true });
}

describe("writeFileAtomic on a real filesystem", () => {
  test("ENOSPC and a read-only filesystem keep the previous file and leave no temporary file", () => {
    const m = mountTmpfs("256k");
    if (!m) return;
    try {
      const file = join(m, "silences");
      writeFileAtomic(file, "old snapshot");
      // Fill the rest of the filesystem.
      let filled = false;
      try {
        writeFileSync(join(m, "fill"), new Uint8Array(1 << 20));
      } catch (e) {
        filled = (e as { code?: string }).code === "ENOSPC";
      }
      expect(filled).toBe(true);
      let err: unknown;
      try {
        writeFileAtomic(file, "n".repeat(64 * 1024));
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe("ENOSPC");
      expect(readFileSync(file, "utf8")).toBe("old snapshot");
      expect(readdirSync(m).sort()).toEqual(["fill", "silences"]);

      rmSync(join(m, "fill"));
      expect(Bun.spawnSync(["mount", "-o", "remount,ro", m]).exitCode).toBe(0);
      err = undefined;
      try {
        writeFileAtomic(file, "new snapshot");
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe("EROFS");
      expect(readFileSync(file, "utf8")).toBe("old snapshot");
      expect(readdirSync(m)).toEqual(["silences"]);
    } finally {
      unmount(m);
    }
  });
});
