/**
 * The cluster's TCP side (Bun.listen / Bun.connect): one request per
 * connection, each way one frame — a 4-byte big-endian length, then that
 * many bytes (a packet, see ./wire.ts). Frames over the size limit close
 * the connection; every connection is bounded by the TCP timeout.
 */
import type { Socket, TCPSocketListener } from "bun";
import { DropError } from "./wire.ts";

/** Collects one length-prefixed frame from a byte stream. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private have = 0;
  private need = -1;
  constructor(private readonly maxBytes: number) {}

  /** Adds bytes; returns the frame once complete; throws when the announced length is over the limit. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.need < 0 && this.have >= 4) {
      const head = this.concat();
      this.need = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (this.need > this.maxBytes) throw new DropError("too_large", `frame of ${this.need} bytes exceeds ${this.maxBytes}`);
    }
    if (this.need >= 0 && this.have >= 4 + this.need) {
      const all = this.concat();
      return all.subarray(4, 4 + this.need);
    }
    return undefined;
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.have);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [out];
    return out;
  }
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
  /** Handles one request frame; returns the reply frame's payload, if any. Throwing closes the connection. */
  handle(payload: Uint8Array): Uint8Array | undefined;
  /** A connection that broke the protocol (over-long frame, timeout, handler error). */
  onError(err: Error): void;
}

/** Listens for cluster streams. */
export function listenStream(opts: StreamServerOptions): TCPSocketListener<ConnState> {
  return Bun.listen<ConnState>({
    hostname: opts.hostname,
    port: opts.port,
    socket: {
      open(socket) {
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
          if (!payload) return;
          st.done = true;
          const reply = opts.handle(payload);
          if (reply) writeAll(socket, frame(reply), true);
          else socket.end();
        } catch (err) {
          st.done = true;
          opts.onError(err as Error);
          socket.terminate();
        }
      },
      drain,
      close(socket) {
        clearTimeout(socket.data?.timer);
      },
      error(socket) {
        clearTimeout(socket.data?.timer);
      },
    },
  });
}

/**
 * Sends one frame to host:port and, when `expectReply`, reads one frame
 * back. Rejects on connection failure, timeout or an over-long reply.
 */
export function requestStream(host: string, port: number, payload: Uint8Array, expectReply: boolean, maxFrameBytes: number, timeoutMs: number): Promise<Uint8Array | undefined> {
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
          writeAll(socket, frame(payload), !expectReply);
          if (!expectReply && !socket.data.pending) finish(undefined);
        },
        data(socket, chunk) {
          try {
            const reply = socket.data.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if (reply) {
              finish(undefined, reply.slice());
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
