/**
 * The data directory lock (`<storage.tsdb.path>/lock`): keeps two servers
 * from writing one WAL. Prometheus holds an flock on that file; Bun has no
 * flock, so the lock file holds the owner's PID and counts as held while that
 * process lives. A lock left by a crashed process is taken over. Turned off
 * with --storage.tsdb.no-lockfile.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The lock file's name inside the data directory, as in Prometheus. */
export const LOCK_FILE = "lock";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryCreate(path: string): boolean {
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * Takes the lock of `dir` (creating the directory), returning the function
 * that releases it.
 *
 * @throws Error "lock DB directory DIR: held by running process PID" when
 * another live process holds it.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path)) {
      return () => rmSync(path, { force: true });
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    } catch {
      // Removed between our attempt and this read: try again.
    }
    // Our own PID in the file is a stale lock from an earlier run (PID 1 in a restarted container).
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new Error(`lock DB directory ${dir}: held by running process ${owner}`);
    }
    rmSync(path, { force: true });
  }
  throw new Error(`lock DB directory ${dir}: could not create ${path}`);
}
