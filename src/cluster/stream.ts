/**
 * The cluster's TCP side (Bun.listen / Bun.connect): one request per
 * connection, each way one frame — a 4-byte big-endian length, then that
 * many bytes (a packet, see ./wire.ts). Frames over the size limit close
 * the connection; every connection is bounded by the TCP timeout.
 */
import type { Socket, TCPSocketListener } from "bun";
import { DropError } from "./wire.ts";

const INITIAL_FRAME_BUFFER = 1 << 20;
/** Inbound streams handled at once; more are closed at once (each may hold up to the frame limit). */
export const MAX_INBOUND_STREAMS = 64;

/**
 * Collects one length-prefixed frame from a byte stream: every chunk is
 * copied in as it arrives (no big copy at the end), into a buffer that
 * grows up to the announced length.
 */
export class FrameReader {
  private head: Uint8Array[] = [];
  private headLen = 0;
  private buf: Uint8Array | undefined;
  private need = 0;
  private filled = 0;
  constructor(private readonly maxBytes: number) {}

  /** Adds bytes; returns the payload once complete; throws when the announced length is over the limit. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (!this.buf) {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen < 4) return undefined;
      const first = this.head.length === 1 ? this.head[0]! : concat(this.head, this.headLen);
      const need = new DataView(first.buffer, first.byteOffset, 4).getUint32(0);
      if (need > this.maxBytes) throw new DropError("too_large", `frame of ${need} bytes exceeds ${this.maxBytes}`);
      this.need = need;
      // Grown as bytes arrive, so a peer announcing a huge frame and sending little holds little memory.
      this.buf = new Uint8Array(Math.min(need, INITIAL_FRAME_BUFFER));
      this.head = [];
      chunk = first.subarray(4);
    }
    const n = Math.min(chunk.length, this.need - this.filled);
    if (this.filled + n > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.need, Math.max(this.filled + n, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.filled));
      this.buf = grown;
    }
    this.buf.set(n === chunk.length ? chunk : chunk.subarray(0, n), this.filled);
    this.filled += n;
    return this.filled === this.need ? this.buf : undefined;
  }
}

function concat(list: Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let o = 0;
  for (const c of list) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A frame: length prefix plus payload. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

interface ConnState {
  reader: FrameReader;
  pending: Uint8Array | undefined;
  endAfterWrite: boolean;
  done: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  onFrame?: (payload: Uint8Array) => void;
  onClose?: () => void;
}

/** Writes what it can now and the rest on drain; ends the socket afterwards when asked. */
function writeAll(socket: Socket<ConnState>, data: Uint8Array, end: boolean): void {
  const st = socket.data;
  const n = socket.write(data);
  st.pending = n < data.length ? data.subarray(Math.max(n, 0)) : undefined;
  st.endAfterWrite = end;
  if (!st.pending && end) socket.end();
}

function drain(socket: Socket<ConnState>): void {
  const st = socket.data;
  if (!st.pending) return;
  const n = socket.write(st.pending);
  st.pending = n < st.pending.length ? st.pending.subarray(Math.max(n, 0)) : undefined;
  if (!st.pending && st.endAfterWrite) socket.end();
}

export interface StreamServerOptions {
  hostname: string;
  port: number;
  maxFrameBytes: number;
  timeoutMs: number;
  /** Handles one request frame's payload; resolves with the reply frame (length prefix included), if any. Failing closes the connection. */
  handle(payload: Uint8Array): Promise<Uint8Array | undefined>;
  /** A connection that broke the protocol (over-long frame, timeout, handler error). */
  onError(err: Error): void;
}

/** Listens for cluster streams. */
export function listenStream(opts: StreamServerOptions): TCPSocketListener<ConnState> {
  let open = 0;
  return Bun.listen<ConnState>({
    hostname: opts.hostname,
    port: opts.port,
    socket: {
      open(socket) {
        if (++open > MAX_INBOUND_STREAMS) {
          opts.onError(new Error(`more than ${MAX_INBOUND_STREAMS} cluster streams at once; closing the one from ${socket.remoteAddress}`));
          socket.data = { reader: new FrameReader(0), pending: undefined, endAfterWrite: false, done: true, timer: undefined };
          socket.terminate();
          return;
        }
        socket.data = { reader: new FrameReader(opts.maxFrameBytes), pending: undefined, endAfterWrite: false, done: false, timer: undefined };
        socket.data.timer = setTimeout(() => {
          if (!socket.data.done) opts.onError(new Error(`stream from ${socket.remoteAddress} timed out after ${opts.timeoutMs}ms`));
          socket.terminate();
        }, opts.timeoutMs);
      },
      data(socket, chunk) {
        const st = socket.data;
        if (st.done) return;
        let payload: Uint8Array | undefined;
        try {
          payload = st.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } catch (err) {
          st.done = true;
          opts.onError(err as Error);
          socket.terminate();
          return;
        }
        if (!payload) return;
        st.done = true;
        opts.handle(payload).then((reply) => {
          if (reply) writeAll(socket, reply, true);
          else socket.end();
        }, (err: Error) => {
          opts.onError(err);
          socket.terminate();
        });
      },
      drain,
      close(socket) {
        open--;
        clearTimeout(socket.data?.timer);
      },
      error(socket) {
        clearTimeout(socket.data?.timer);
      },
    },
  });
}

/**
 * Sends one frame (length prefix included) to host:port and, when
 * `expectReply`, reads one frame back and resolves with its payload.
 * Rejects on connection failure, timeout or an over-long reply.
 */
export function requestStream(host: string, port: number, framed: Uint8Array, expectReply: boolean, maxFrameBytes: number, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise<Uint8Array | undefined>((resolve, reject) => {
    let settled = false;
    let sock: Socket<ConnState> | undefined;
    const finish = (err: Error | undefined, v?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        sock?.terminate();
        reject(err);
      } else resolve(v);
    };
    const timer = setTimeout(() => finish(new Error(`stream to ${host}:${port} timed out after ${timeoutMs}ms`)), timeoutMs);
    Bun.connect<ConnState>({
      hostname: host,
      port,
      data: { reader: new FrameReader(maxFrameBytes), pending: undefined, endAfterWrite: false, done: false, timer: undefined },
      socket: {
        open(socket) {
          sock = socket;
          if (settled) {
            socket.terminate();
            return;
          }
          writeAll(socket, framed, !expectReply);
          if (!expectReply && !socket.data.pending) finish(undefined);
        },
        data(socket, chunk) {
          try {
            const reply = socket.data.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if (reply) {
              finish(undefined, reply);
              socket.end();
            }
          } catch (err) {
            finish(err as Error);
          }
        },
        drain(socket) {
          drain(socket);
          if (!expectReply && !socket.data.pending) finish(undefined);
        },
        close() {
          finish(expectReply ? new Error(`stream to ${host}:${port} closed before a reply`) : undefined);
        },
        error(_socket, err) {
          finish(err);
        },
        connectError(_socket, err) {
          finish(err);
        },
      },
    }).then((s) => { sock = s; }, (err: Error) => finish(err));
  });
}
