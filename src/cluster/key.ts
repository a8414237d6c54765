/**
 * The shared gossip key of `--cluster.key-file`: 32 bytes (AES-256). The
 * file holds either the 32 raw bytes (exactly 32 bytes long, nothing else),
 * or their text form: 64 hexadecimal digits, or standard base64 (44
 * characters with padding) — surrounding whitespace and a trailing newline
 * are ignored in the text forms.
 *
 * @example
 * // openssl rand -hex 32 > gossip.key
 * const key = readClusterKeyFile("gossip.key"); // Uint8Array(32)
 */
import { readFileSync } from "node:fs";

export const CLUSTER_KEY_BYTES = 32;

/** Parses a key file's contents; throws naming what is wrong. */
export function parseClusterKey(raw: Uint8Array, what = "cluster key"): Uint8Array {
  if (raw.length === CLUSTER_KEY_BYTES) return new Uint8Array(raw);
  const text = new TextDecoder().decode(raw).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, "hex"));
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const b = Buffer.from(text, "base64");
    if (b.length === CLUSTER_KEY_BYTES) return new Uint8Array(b);
  }
  throw new Error(`${what}: expected ${CLUSTER_KEY_BYTES} raw bytes, 64 hex digits or 44 base64 characters, got ${raw.length} bytes`);
}

/** Reads and parses `--cluster.key-file`. */
export function readClusterKeyFile(path: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new Error(`--cluster.key-file=${path}: ${(err as Error).message}`);
  }
  return parseClusterKey(raw, `--cluster.key-file=${path}`);
}
