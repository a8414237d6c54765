/**
 * The data directory lock (`<storage.tsdb.path>/lock`): keeps two servers
 * from writing one WAL. As in Prometheus, it is an advisory `flock(2)`
 * (exclusive, non-blocking) on that file, reached through bun:ffi: the
 * kernel releases it when the holder dies, however it dies, so a restart
 * right after `kill -9` finds the directory free, and a stale file or a
 * recycled PID never blocks startup. The file also holds the owner's PID,
 * for the error message of the one that loses.
 *
 * Fallback, only where flock cannot be used (libc not loadable through
 * bun:ffi, or a filesystem that refuses flock with ENOLCK/EINVAL/ENOTSUP):
 * the old PID-file lock, which counts as held while the PID in the file
 * names a live process (so a recycled PID can block it, and a dead owner's
 * file is taken over). The returned lock says which `method` holds it.
 * Turned off altogether with
 * --storage.tsdb.no-lockfile.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";

/** The lock file's name inside the data directory, as in Prometheus. */
export const LOCK_FILE = "lock";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** errno values (Linux; macOS in parentheses where they differ) meaning "this filesystem cannot flock". */
const NO_FLOCK_ERRNOS = new Set([37 /* ENOLCK (77) */, 77, 22 /* EINVAL */, 95 /* ENOTSUP (45) */, 45]);
/** errno of "another process holds the lock": EWOULDBLOCK/EAGAIN (Linux 11, macOS 35). */
const HELD_ERRNOS = new Set([11, 35]);

interface LibcFlock {
  flock(fd: number, op: number): number;
  errno(): number;
}

let libc: LibcFlock | null | undefined;

/** libc's flock and errno through bun:ffi; null where they cannot be loaded. */
function loadLibc(): LibcFlock | null {
  if (libc !== undefined) return libc;
  libc = null;
  try {
    const names = process.platform === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libc.so"];
    const errnoSymbol = process.platform === "darwin" ? "__error" : "__errno_location";
    for (const name of names) {
      try {
        const lib = dlopen(name, {
          flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
          [errnoSymbol]: { args: [], returns: FFIType.ptr },
        });
        const errnoPtr = lib.symbols[errnoSymbol] as unknown as () => Pointer | null;
        libc = {
          flock: (fd, op) => lib.symbols.flock(fd, op) as number,
          errno: () => {
            const p = errnoPtr();
            return p === null ? 0 : read.i32(p, 0);
          },
        };
        break;
      } catch {
        // Try the next name.
      }
    }
  } catch {
    libc = null;
  }
  return libc;
}

/** A held lock. */
export interface DataDirLock {
  /** How the lock is held: the kernel's flock, or the PID-file fallback. */
  readonly method: "flock" | "pidfile";
  /** Releases the lock (removes the file); safe to call twice. */
  (): void;
}

function ownerOf(path: string): string {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? ` (held by running process ${pid})` : "";
  } catch {
    return "";
  }
}

/**
 * flock(LOCK_EX|LOCK_NB) on `path`: the release function, "held" when
 * another process holds it, or "unsupported" when flock cannot be used here.
 */
function tryFlock(path: string, dir: string, c: LibcFlock): DataDirLock | "unsupported" {
  for (let attempt = 0; attempt < 10; attempt++) {
    const fd = openSync(path, "a+", 0o644);
    if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      const errno = c.errno();
      closeSync(fd);
      if (NO_FLOCK_ERRNOS.has(errno) && !HELD_ERRNOS.has(errno)) return "unsupported";
      throw new Error(`lock DB directory ${dir}: resource temporarily unavailable${ownerOf(path)}`);
    }
    // The holder before us may have removed the file between our open and our flock: then we
    // hold a lock on an unlinked file and must lock the file now at the path instead.
    let current: number | undefined;
    try {
      current = statSync(path).ino;
    } catch {
      current = undefined;
    }
    if (current !== fstatSync(fd).ino) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      // Remove while still holding the lock, so no one locks a file we are about to unlink.
      rmSync(path, { force: true });
      c.flock(fd, LOCK_UN);
      closeSync(fd);
    };
    return Object.assign(release, { method: "flock" as const });
  }
  throw new Error(`lock DB directory ${dir}: the lock file keeps being replaced`);
}

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

/** The PID-file fallback: held while the PID in the file names a live process. */
function pidFileLock(path: string, dir: string): DataDirLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path)) {
      return Object.assign(() => rmSync(path, { force: true }), { method: "pidfile" as const });
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

/**
 * Takes the lock of `dir` (creating the directory), returning the function
 * that releases it.
 *
 * @throws Error "lock DB directory DIR: resource temporarily unavailable
 * (held by running process PID)" when another process holds it.
 *
 * @example
 * const release = lockDataDir("data/");
 * try { ... } finally { release(); }
 */
export function lockDataDir(dir: string, opts: { forcePidFile?: boolean } = {}): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const c = opts.forcePidFile ? null : loadLibc();
  if (c) {
    const lock = tryFlock(path, dir, c);
    if (lock !== "unsupported") return lock;
  }
  return pidFileLock(path, dir);
}
