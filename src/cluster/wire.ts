/**
 * The cluster's wire format: how one UDP packet or one TCP frame is built
 * and read back, with every read bounded and validated.
 *
 * A packet (UDP datagram, or the payload of a TCP frame) is one format byte
 * followed by the body:
 *
 *   0x50 'P'  plain:  body = CBOR envelope
 *   0x53 'S'  sealed: body = 12-byte random nonce | AES-256-GCM ciphertext | 16-byte tag,
 *                     whose plaintext is the CBOR envelope
 *
 * The envelope is the CBOR map `{v: 1, l: <cluster label>, f: <sender name>,
 * m: [<message>…]}` where each message is itself a CBOR-encoded byte string
 * (so a sender can pack queued, already-encoded gossip until the packet is
 * full). A TCP frame is a 4-byte big-endian length, then one packet.
 *
 * Messages (`t` names the type):
 *   ping    {t, s: seq, n: target name}              → ack {t, s}
 *   preq    {t, s: seq, n: target, a: target address} (indirect probe) → ack or nack {t, s}
 *   alive   {t, n: name, i: incarnation, a: address, m: meta}
 *   suspect {t, n, i, f: from}     dead {t, n, i, f}  (f = n: the node left)
 *   user    {t, k: state key, d: bytes}              (ClusterChannel.broadcast)
 *   pp      {t, j: join?, n: [{n, a, i, s: state, m}], s: {key: bytes}} (TCP push/pull)
 *
 * Anything that does not decode, fails to open, carries another label or
 * has a field of the wrong type throws a {@link DropError} naming the reason
 * the caller counts under promts_cluster_packets_dropped_total{reason}.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
// The pure-JavaScript entry points: cbor-x's "node" entry loads the optional
// native cbor-extract addon, which aborts the whole Bun process on some
// malformed input (found by test/cluster/fuzz.test.ts).
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";

/** The largest UDP packet promts sends or accepts (memberlist's UDP budget). */
export const MAX_UDP_PACKET = 1400;
/** The largest TCP frame (push/pull of every state, or one oversized broadcast). */
export const MAX_STREAM_FRAME = 64 << 20;
/** The largest metadata a member may announce, encoded (memberlist's MetaMaxSize). */
export const MAX_META_BYTES = 512;
/** Bound on names, addresses, keys and labels. */
const MAX_STRING = 512;
/** Bound on the members one push/pull may list. */
const MAX_NODES = 10_000;
/** Bound on messages in one envelope. */
const MAX_MESSAGES = 4096;

const FORMAT_PLAIN = 0x50;
const FORMAT_SEALED = 0x53;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes sealing adds to a packet (format byte excluded). */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/** Why a packet was dropped: the `reason` label of promts_cluster_packets_dropped_total. */
export type DropReason = "too_large" | "malformed" | "decrypt" | "unencrypted" | "label";
export const DROP_REASONS: readonly DropReason[] = ["too_large", "malformed", "decrypt", "unencrypted", "label"];

/** A packet that must be dropped, with the reason to count. */
export class DropError extends Error {
  constructor(readonly reason: DropReason, message: string) {
    super(message);
  }
}

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, pack: false } as ConstructorParameters<typeof Encoder>[0]);
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Decoder>[0]);

/** CBOR-encodes a value (plain objects, arrays, strings, numbers, booleans, Uint8Array). */
export function cborEncode(v: unknown): Uint8Array {
  return encoder.encode(v);
}

/** CBOR-decodes one value, turning every decoder failure into a malformed drop. */
export function cborDecode(b: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(b);
  } catch (err) {
    throw new DropError("malformed", `${what}: invalid CBOR: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// Validation helpers

function fail(what: string, msg: string): never {
  throw new DropError("malformed", `${what}: ${msg}`);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === Object.prototype;
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (!isRecord(v)) fail(what, "expected a map");
  return v;
}

function str(v: unknown, what: string, max = MAX_STRING): string {
  if (typeof v !== "string") fail(what, `expected a string, got ${typeName(v)}`);
  if (v.length > max) fail(what, `string longer than ${max}`);
  return v;
}

function uint(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail(what, `expected an unsigned integer, got ${typeName(v)}`);
  return v;
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(what, `expected a byte string, got ${typeName(v)}`);
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "bytes";
  return typeof v;
}

function meta(v: unknown, what: string): Record<string, string> {
  const m = record(v ?? {}, what);
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, val] of Object.entries(m)) {
    if (++n > 64) fail(what, "more than 64 metadata entries");
    out[str(k, what + " key")] = str(val, `${what}[${k}]`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Messages

export type MemberWireState = "alive" | "suspect" | "dead" | "left";
const WIRE_STATES = new Set<string>(["alive", "suspect", "dead", "left"]);

export interface NodeRecord {
  name: string;
  addr: string;
  inc: number;
  state: MemberWireState;
  meta: Record<string, string>;
}

export type Message =
  | { t: "ping"; seq: number; target: string }
  | { t: "ack"; seq: number }
  | { t: "nack"; seq: number }
  | { t: "preq"; seq: number; target: string; addr: string }
  | { t: "alive"; node: string; inc: number; addr: string; meta: Record<string, string> }
  | { t: "suspect"; node: string; inc: number; from: string }
  | { t: "dead"; node: string; inc: number; from: string }
  | { t: "user"; key: string; data: Uint8Array }
  | { t: "pp"; join: boolean; nodes: NodeRecord[]; states: Map<string, Uint8Array> };

const textEncoder = new TextEncoder();

/** A CBOR head: major type and argument (lengths up to 2^32 - 1). */
function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >>> 8, n & 0xff);
  if (n <= 0xffffffff) return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  throw new Error(`CBOR item of ${n} bytes is too large`);
}

/**
 * CBOR assembled from pieces without copying them: big byte strings (the
 * states of a push/pull) are referenced, and copied once, into the frame.
 */
export class CborParts {
  readonly list: Uint8Array[] = [];
  length = 0;
  raw(b: Uint8Array): this {
    this.list.push(b);
    this.length += b.length;
    return this;
  }
  head(major: number, n: number): this {
    return this.raw(cborHead(major, n));
  }
  text(s: string): this {
    const b = textEncoder.encode(s);
    return this.head(3, b.length).raw(b);
  }
  bytes(b: Uint8Array | CborParts): this {
    this.head(2, b.length);
    if (b instanceof CborParts) for (const x of b.list) this.raw(x);
    else this.raw(b);
    return this;
  }
}

/** A push/pull message as parts (the states are not copied). */
export function encodePushPull(m: Extract<Message, { t: "pp" }>): CborParts {
  const p = new CborParts().head(5, 4).text("t").text("pp").text("j").raw(Uint8Array.of(m.join ? 0xf5 : 0xf4)).text("n");
  p.raw(cborEncode(m.nodes.map((r) => ({ n: r.name, a: r.addr, i: r.inc, s: r.state, m: r.meta }))));
  p.text("s").head(5, m.states.size);
  for (const [k, v] of m.states) p.text(k).bytes(v);
  return p;
}

/** Encodes one message (the inner byte string of an envelope). */
export function encodeMessage(m: Message): Uint8Array {
  switch (m.t) {
    case "ping": return cborEncode({ t: m.t, s: m.seq, n: m.target });
    case "ack":
    case "nack": return cborEncode({ t: m.t, s: m.seq });
    case "preq": return cborEncode({ t: m.t, s: m.seq, n: m.target, a: m.addr });
    case "alive": return cborEncode({ t: m.t, n: m.node, i: m.inc, a: m.addr, m: m.meta });
    case "suspect":
    case "dead": return cborEncode({ t: m.t, n: m.node, i: m.inc, f: m.from });
    case "user": return cborEncode({ t: m.t, k: m.key, d: m.data });
    case "pp": {
      const states: Record<string, Uint8Array> = {};
      for (const [k, v] of m.states) states[k] = v;
      return cborEncode({ t: m.t, j: m.join, n: m.nodes.map((r) => ({ n: r.name, a: r.addr, i: r.inc, s: r.state, m: r.meta })), s: states });
    }
  }
}

/** Decodes and validates one message; throws DropError("malformed") on anything unexpected. */
export function decodeMessage(b: Uint8Array): Message {
  const o = record(cborDecode(b, "message"), "message");
  const t = o.t;
  switch (t) {
    case "ping": return { t, seq: uint(o.s, "ping.s"), target: str(o.n, "ping.n") };
    case "ack":
    case "nack": return { t, seq: uint(o.s, `${t}.s`) };
    case "preq": return { t, seq: uint(o.s, "preq.s"), target: str(o.n, "preq.n"), addr: checkAddress(str(o.a, "preq.a"), "preq.a") };
    case "alive": return { t, node: nodeName(o.n, "alive.n"), inc: uint(o.i, "alive.i"), addr: checkAddress(str(o.a, "alive.a"), "alive.a"), meta: meta(o.m, "alive.m") };
    case "suspect":
    case "dead": return { t, node: nodeName(o.n, `${t}.n`), inc: uint(o.i, `${t}.i`), from: str(o.f, `${t}.f`) };
    case "user": return { t, key: str(o.k, "user.k"), data: bytes(o.d, "user.d") };
    case "pp": {
      if (typeof o.j !== "boolean") fail("pp.j", `expected a boolean, got ${typeName(o.j)}`);
      if (!Array.isArray(o.n)) fail("pp.n", `expected an array, got ${typeName(o.n)}`);
      if (o.n.length > MAX_NODES) fail("pp.n", `more than ${MAX_NODES} members`);
      const nodes = o.n.map((r: unknown, i: number): NodeRecord => {
        const rr = record(r, `pp.n[${i}]`);
        const state = str(rr.s, `pp.n[${i}].s`);
        if (!WIRE_STATES.has(state)) fail(`pp.n[${i}].s`, `unknown state ${JSON.stringify(state)}`);
        return {
          name: nodeName(rr.n, `pp.n[${i}].n`), addr: checkAddress(str(rr.a, `pp.n[${i}].a`), `pp.n[${i}].a`),
          inc: uint(rr.i, `pp.n[${i}].i`), state: state as MemberWireState, meta: meta(rr.m, `pp.n[${i}].m`),
        };
      });
      const states = new Map<string, Uint8Array>();
      for (const [k, v] of Object.entries(record(o.s, "pp.s"))) states.set(str(k, "pp.s key"), bytes(v, `pp.s[${k}]`));
      return { t, join: o.j, nodes, states };
    }
    default:
      fail("message.t", `unknown message type ${JSON.stringify(typeof t === "string" ? t.slice(0, 32) : typeName(t))}`);
  }
}

function nodeName(v: unknown, what: string): string {
  const s = str(v, what, 256);
  if (s === "") fail(what, "empty node name");
  return s;
}

/** Splits `host:port` (IPv6 in brackets); throws on anything else. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.%\w-]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`invalid address ${JSON.stringify(addr)}: expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid address ${JSON.stringify(addr)}: port out of range`);
  return { host: m[1] ?? m[2] ?? "", port };
}

/** host:port with IPv6 literals bracketed. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkAddress(a: string, what: string): string {
  try {
    const { host, port } = splitHostPort(a);
    if (host === "" || port === 0) fail(what, `address ${JSON.stringify(a)} has no host or port`);
  } catch (err) {
    if (err instanceof DropError) throw err;
    fail(what, (err as Error).message);
  }
  return a;
}

// ---------------------------------------------------------------------------
// Envelopes and sealing

/** What every packet carries besides its messages. */
export interface Envelope {
  label: string;
  from: string;
  messages: Uint8Array[];
}

/** Bytes a packet adds around its messages: format byte, map header, label, sender, sealing. */
export function envelopeOverhead(label: string, from: string, sealed: boolean): number {
  // 1 format + ~16 CBOR structure + the two strings (utf-8 upper bound) + sealing.
  return 1 + 16 + 3 * label.length + 3 * from.length + (sealed ? SEAL_OVERHEAD : 0);
}

/** Bytes one message adds inside an envelope (its byte-string header). */
export function messageOverhead(len: number): number {
  return len < 24 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5;
}

/** Builds one packet: the envelope, sealed with `key` when given. */
export function buildPacket(env: Envelope, key: Uint8Array | undefined): Uint8Array {
  const body = cborEncode({ v: 1, l: env.label, f: env.from, m: env.messages });
  if (!key) {
    const out = new Uint8Array(1 + body.length);
    out[0] = FORMAT_PLAIN;
    out.set(body, 1);
    return out;
  }
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const ct = cipher.update(body);
  const fin = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(1 + NONCE_BYTES + ct.length + fin.length + TAG_BYTES);
  out[0] = FORMAT_SEALED;
  out.set(nonce, 1);
  out.set(ct, 1 + NONCE_BYTES);
  out.set(fin, 1 + NONCE_BYTES + ct.length);
  out.set(tag, 1 + NONCE_BYTES + ct.length + fin.length);
  return out;
}

/** Checks size and format and removes the seal; returns the CBOR envelope bytes. */
function unseal(packet: Uint8Array, key: Uint8Array | undefined, maxBytes: number): Uint8Array {
  checkFormat(packet, key, maxBytes);
  if (packet[0] === FORMAT_PLAIN) return packet.subarray(1);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key!, packet.subarray(1, 1 + NONCE_BYTES));
    decipher.setAuthTag(packet.subarray(packet.length - TAG_BYTES));
    const a = decipher.update(packet.subarray(1 + NONCE_BYTES, packet.length - TAG_BYTES));
    const b = decipher.final();
    return b.length === 0 ? a : Buffer.concat([a, b]);
  } catch (err) {
    throw new DropError("decrypt", `packet failed to open: ${(err as Error).message}`);
  }
}

function checkFormat(packet: Uint8Array, key: Uint8Array | undefined, maxBytes: number): void {
  if (packet.length > maxBytes) throw new DropError("too_large", `packet of ${packet.length} bytes exceeds ${maxBytes}`);
  if (packet.length < 2) throw new DropError("malformed", `packet of ${packet.length} bytes is too short`);
  const format = packet[0];
  if (format === FORMAT_SEALED) {
    if (!key) throw new DropError("decrypt", "sealed packet but no --cluster.key-file is configured");
    if (packet.length < 1 + SEAL_OVERHEAD + 1) throw new DropError("decrypt", "sealed packet too short");
  } else if (format === FORMAT_PLAIN) {
    if (key) throw new DropError("unencrypted", "plain packet but --cluster.key-file requires sealed ones");
  } else {
    throw new DropError("malformed", `unknown packet format byte 0x${(format ?? 0).toString(16)}`);
  }
}

function decodeEnvelope(body: Uint8Array, label: string): Envelope {
  const o = record(cborDecode(body, "envelope"), "envelope");
  if (o.v !== 1) fail("envelope.v", `unsupported version ${JSON.stringify(typeof o.v === "number" ? o.v : typeName(o.v))}`);
  const l = str(o.l, "envelope.l");
  if (l !== label) throw new DropError("label", `packet for cluster label ${JSON.stringify(l)}, this one is ${JSON.stringify(label)}`);
  const from = nodeName(o.f, "envelope.f");
  if (!Array.isArray(o.m)) fail("envelope.m", `expected an array, got ${typeName(o.m)}`);
  if (o.m.length > MAX_MESSAGES) fail("envelope.m", `more than ${MAX_MESSAGES} messages`);
  const messages = o.m.map((m: unknown, i: number) => bytes(m, `envelope.m[${i}]`));
  return { label: l, from, messages };
}

/**
 * Opens one packet: checks its size, format and seal (a key configured
 * means plain packets are refused, as memberlist's GossipVerifyIncoming),
 * decodes the envelope and checks the label. The messages are returned
 * still encoded; decode each with {@link decodeMessage}.
 */
export function openPacket(packet: Uint8Array, key: Uint8Array | undefined, label: string, maxBytes: number): Envelope {
  return decodeEnvelope(unseal(packet, key, maxBytes), label);
}

/** Bytes copied, sealed or opened between two yields to the event loop. */
const CRYPTO_SLICE = 256 << 10;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * {@link openPacket} for a TCP frame: a sealed frame is opened in slices,
 * yielding to the event loop between them, so a large push/pull does not
 * hold it.
 */
export async function openStreamPacket(packet: Uint8Array, key: Uint8Array | undefined, label: string, maxBytes: number): Promise<Envelope> {
  checkFormat(packet, key, maxBytes);
  if (packet[0] === FORMAT_PLAIN) return decodeEnvelope(packet.subarray(1), label);
  const ct = packet.subarray(1 + NONCE_BYTES, packet.length - TAG_BYTES);
  const body = new Uint8Array(ct.length);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key!, packet.subarray(1, 1 + NONCE_BYTES));
    decipher.setAuthTag(packet.subarray(packet.length - TAG_BYTES));
    let off = 0;
    for (let i = 0; i < ct.length; i += CRYPTO_SLICE) {
      const out = decipher.update(ct.subarray(i, i + CRYPTO_SLICE));
      body.set(out, off);
      off += out.length;
      if (i + CRYPTO_SLICE < ct.length) await nextTurn();
    }
    const fin = decipher.final();
    body.set(fin, off);
  } catch (err) {
    throw new DropError("decrypt", `packet failed to open: ${(err as Error).message}`);
  }
  return decodeEnvelope(body, label);
}

/**
 * One TCP frame (4-byte big-endian length, then the packet) carrying one
 * message, built in a single allocation; sealing runs in slices with
 * yields to the event loop.
 */
export async function buildStreamFrame(label: string, from: string, message: Uint8Array | CborParts, key: Uint8Array | undefined): Promise<Uint8Array> {
  const body = new CborParts().head(5, 4).text("v").head(0, 1).text("l").text(label).text("f").text(from).text("m").head(4, 1).bytes(message);
  const packetLen = 1 + body.length + (key ? SEAL_OVERHEAD : 0);
  if (packetLen > 0xffffffff) throw new Error(`cluster message of ${packetLen} bytes is too large`);
  const out = new Uint8Array(4 + packetLen);
  new DataView(out.buffer).setUint32(0, packetLen);
  let off = 5;
  if (!key) {
    // Copied in slices too: on a loaded machine one 8 MiB copy takes tens of milliseconds.
    out[4] = FORMAT_PLAIN;
    let sinceYield = 0;
    for (const b of body.list) {
      for (let i = 0; i < b.length; i += CRYPTO_SLICE) {
        const piece = b.length <= CRYPTO_SLICE ? b : b.subarray(i, i + CRYPTO_SLICE);
        out.set(piece, off);
        off += piece.length;
        sinceYield += piece.length;
        if (sinceYield >= CRYPTO_SLICE) {
          sinceYield = 0;
          await nextTurn();
        }
      }
    }
    return out;
  }
  out[4] = FORMAT_SEALED;
  const nonce = randomBytes(NONCE_BYTES);
  out.set(nonce, off);
  off += NONCE_BYTES;
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  let sinceYield = 0;
  for (const b of body.list) {
    for (let i = 0; i < b.length; i += CRYPTO_SLICE) {
      const piece = b.subarray(i, i + CRYPTO_SLICE);
      const ct = cipher.update(piece);
      out.set(ct, off);
      off += ct.length;
      sinceYield += piece.length;
      if (sinceYield >= CRYPTO_SLICE) {
        sinceYield = 0;
        await nextTurn();
      }
    }
  }
  const fin = cipher.final();
  out.set(fin, off);
  off += fin.length;
  out.set(cipher.getAuthTag(), off);
  return out;
}
