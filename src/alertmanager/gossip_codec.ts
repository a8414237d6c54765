/**
 * The wire format of the Alertmanager's replicated state: silences, the
 * notification log and alerts, each a CBOR array `[version, [entry…]]`
 * whose entries are positional arrays (short on the wire, no field names
 * to trust). The same encoding carries a full state (push/pull) and a
 * delta (a broadcast of the entries that changed).
 *
 * Decoding first checks the bytes are well-formed, bounded CBOR (see
 * base/cbor_check.ts), then validates every field, and throws an Error
 * naming the entry and field at fault; the cluster drops and counts such
 * messages.
 *
 * @example
 * const bytes = encodeSilences([silence]);
 * decodeSilences(bytes); // [silence]
 */
// The self-contained build without eval and without the optional native string extractor (cbor-extract): that
// extractor aborts the whole Bun process on some malformed text strings, and the bundle keeps its own module state,
// so another room importing "cbor-x" (which loads the extractor when installed) cannot switch it on here.
import { Decoder, Encoder } from "cbor-x/index-no-eval";
import { checkCBOR } from "../base/index.ts";
import type { Labels } from "../model/index.ts";
import type { NflogEntry } from "./nflog.ts";
import type { Silence, SilenceMatcher } from "./silences.ts";
import type { Alert } from "./types.ts";

/** Version of the positional layout below; a message with another is refused. */
export const GOSSIP_FORMAT_VERSION = 1;

/** Largest state message decoded (a full state of many alerts over TCP fits well within it). */
export const MAX_STATE_BYTES = 64 << 20;

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

function encodeList(entries: unknown[]): Uint8Array {
  return encoder.encode([GOSSIP_FORMAT_VERSION, entries]);
}

/** Decodes `[version, entries]` and returns the entries; throws on anything else. */
function decodeList(data: Uint8Array, what: string): unknown[] {
  if (!(data instanceof Uint8Array)) throw new Error(`${what}: not bytes`);
  if (data.length > MAX_STATE_BYTES) throw new Error(`${what}: ${data.length} bytes, more than ${MAX_STATE_BYTES}`);
  let top: unknown;
  try {
    checkCBOR(data);
    top = decoder.decode(data);
  } catch (e) {
    throw new Error(`${what}: bad CBOR: ${(e as Error).message}`);
  }
  if (!Array.isArray(top) || top.length !== 2) throw new Error(`${what}: not a [version, entries] pair`);
  if (top[0] !== GOSSIP_FORMAT_VERSION) throw new Error(`${what}: unknown format version ${String(top[0])}`);
  if (!Array.isArray(top[1])) throw new Error(`${what}: entries are not a list`);
  return top[1];
}

/** Reads positional fields of one entry, naming the entry and field in every error. */
class Fields {
  constructor(private readonly v: unknown[], private readonly where: string) {}

  static of(v: unknown, length: number, where: string): Fields {
    if (!Array.isArray(v)) throw new Error(`${where}: not a list`);
    if (v.length !== length) throw new Error(`${where}: ${v.length} fields, want ${length}`);
    return new Fields(v, where);
  }

  string(i: number, name: string): string {
    const x = this.v[i];
    if (typeof x !== "string") throw new Error(`${this.where}: ${name} is not a string`);
    return x;
  }

  /** A finite number (Unix ms times may be 0, never NaN or ±Infinity). */
  number(i: number, name: string): number {
    const x = this.v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw new Error(`${this.where}: ${name} is not a finite number`);
    return x;
  }

  int(i: number, name: string): number {
    const x = this.number(i, name);
    if (!Number.isSafeInteger(x) || x < 0) throw new Error(`${this.where}: ${name} is not a non-negative integer`);
    return x;
  }

  bool(i: number, name: string): boolean {
    const x = this.v[i];
    if (typeof x !== "boolean") throw new Error(`${this.where}: ${name} is not a boolean`);
    return x;
  }

  strings(i: number, name: string): string[] {
    const x = this.v[i];
    if (!Array.isArray(x) || !x.every((s) => typeof s === "string")) throw new Error(`${this.where}: ${name} is not a list of strings`);
    return x as string[];
  }

  list(i: number, name: string): unknown[] {
    const x = this.v[i];
    if (!Array.isArray(x)) throw new Error(`${this.where}: ${name} is not a list`);
    return x;
  }
}

function flatLabels(ls: Labels): string[] {
  const out: string[] = [];
  for (const l of ls) out.push(l.name, l.value);
  return out;
}

/** Labels from `[name, value, …]`, which must be sorted by name without repeats (as {@link Labels} are). */
function labelsFromFlat(flat: string[], where: string): Labels {
  if (flat.length % 2 !== 0) throw new Error(`${where}: odd number of label strings`);
  const out: { name: string; value: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (out.length > 0 && out[out.length - 1]!.name >= name) throw new Error(`${where}: label names not sorted and unique at ${JSON.stringify(name)}`);
    out.push({ name, value: flat[i + 1]! });
  }
  return out;
}

/** Silences as a state message. */
export function encodeSilences(silences: readonly Silence[]): Uint8Array {
  return encodeList(silences.map((s) => [
    s.id,
    s.matchers.map((m) => [m.name, m.value, m.isRegex, m.isEqual ?? true]),
    s.startsAt, s.endsAt, s.updatedAt, s.createdBy, s.comment,
  ]));
}

/** Reads a silences state message; throws naming the bad silence and field. */
export function decodeSilences(data: Uint8Array): Silence[] {
  return decodeList(data, "silences").map((raw, i) => {
    const f = Fields.of(raw, 7, `silence ${i}`);
    const id = f.string(0, "id");
    if (id === "") throw new Error(`silence ${i}: empty id`);
    const matchers: SilenceMatcher[] = f.list(1, "matchers").map((m, j) => {
      const mf = Fields.of(m, 4, `silence ${id} matcher ${j}`);
      return { name: mf.string(0, "name"), value: mf.string(1, "value"), isRegex: mf.bool(2, "isRegex"), isEqual: mf.bool(3, "isEqual") };
    });
    if (matchers.length === 0) throw new Error(`silence ${id}: no matchers`);
    const silence: Silence = {
      id, matchers, startsAt: f.number(2, "startsAt"), endsAt: f.number(3, "endsAt"), updatedAt: f.number(4, "updatedAt"),
      createdBy: f.string(5, "createdBy"), comment: f.string(6, "comment"),
    };
    if (silence.endsAt < silence.startsAt) throw new Error(`silence ${id}: ends before it starts`);
    return silence;
  });
}

/** Notification-log entries as a state message. */
export function encodeNflog(entries: readonly NflogEntry[]): Uint8Array {
  return encodeList(entries.map((e) => [
    e.groupKey, e.receiver.groupName, e.receiver.integration, e.receiver.idx,
    e.timestamp, e.firingAlerts, e.resolvedAlerts, e.expiresAt,
  ]));
}

/** Reads a notification-log state message; throws naming the bad entry and field. */
export function decodeNflog(data: Uint8Array): NflogEntry[] {
  return decodeList(data, "notification log").map((raw, i) => {
    const f = Fields.of(raw, 8, `nflog entry ${i}`);
    return {
      groupKey: f.string(0, "groupKey"),
      receiver: { groupName: f.string(1, "receiver name"), integration: f.string(2, "integration"), idx: f.int(3, "integration index") },
      timestamp: f.number(4, "timestamp"),
      firingAlerts: f.strings(5, "firingAlerts"),
      resolvedAlerts: f.strings(6, "resolvedAlerts"),
      expiresAt: f.number(7, "expiresAt"),
    };
  });
}

/** Alerts as a state message. */
export function encodeAlerts(alerts: readonly Alert[]): Uint8Array {
  return encodeList(alerts.map((a) => [
    flatLabels(a.labels), flatLabels(a.annotations), a.startsAt, a.endsAt, a.generatorURL, a.updatedAt, a.timeout,
  ]));
}

/** Reads an alerts state message; throws naming the bad alert and field. */
export function decodeAlerts(data: Uint8Array): Alert[] {
  return decodeList(data, "alerts").map((raw, i) => {
    const where = `alert ${i}`;
    const f = Fields.of(raw, 7, where);
    const labels = labelsFromFlat(f.strings(0, "labels"), `${where} labels`);
    if (labels.length === 0) throw new Error(`${where}: no labels`);
    return {
      labels,
      annotations: labelsFromFlat(f.strings(1, "annotations"), `${where} annotations`),
      startsAt: f.number(2, "startsAt"),
      endsAt: f.number(3, "endsAt"),
      generatorURL: f.string(4, "generatorURL"),
      updatedAt: f.number(5, "updatedAt"),
      timeout: f.bool(6, "timeout"),
    };
  });
}
