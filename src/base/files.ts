/**
 * Replacing a file so that a crash leaves either the old or the new content,
 * written once for every room that keeps state in a file (the Pushgateway's
 * persistence, silences, the notification log, dashboards).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** Writes `text` to `file` atomically: a temporary file beside it, fsynced, then renamed over it. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

