/**
 * The remote-read endpoint (`POST /api/v1/read`), as Prometheus serves it:
 *
 * - SAMPLES: one snappy-compressed `ReadResponse` with every query's series
 *   and samples, refused with 400 past --storage.remote.read-sample-limit;
 * - STREAMED_XOR_CHUNKS (when the client lists it first among the types it
 *   accepts): `ChunkedReadResponse` frames of at most
 *   --storage.remote.read-max-bytes-in-frame, each series' XOR chunks as
 *   stored, framed as uvarint length · CRC32C · message;
 * - at most --storage.remote.read-concurrent-limit requests at once (others
 *   wait);
 * - external labels: matchers that equal an external label are dropped from
 *   the query, and the external labels are added to every series returned.
 *
 * @example
 * const read = remoteReadHandler({ querier: (a, b) => db.querier(a, b), externalLabels: () => ({}), sampleLimit: 5e7, concurrencyLimit: 10, maxBytesInFrame: 1 << 20 });
 */
import type { Label, Labels, Matcher } from "../model/index.ts";
import type { StoredSeries } from "../tsdb/index.ts";
import { ProtoError, ProtoWriter, WIRE_VARINT } from "./protobuf.ts";
import { decodeReadRequest, frame, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS, writeChunkedSeries, writeSeriesSamples, type ReadQuery } from "./read_messages.ts";
import { SnappyError, snappyDecode, snappyEncode } from "./snappy.ts";

export const STREAMED_CONTENT_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/** Bound of a decompressed read request (Prometheus's decodeReadLimit). */
const MAX_READ_REQUEST_BYTES = 32 << 20;

export interface RemoteReadOptions {
  /** A querier over [mint, maxt]; closed (releasing block references) once the query's response is built. */
  querier: (mint: number, maxt: number) => { select(m: readonly Matcher[], mint: number, maxt: number): StoredSeries[] | Promise<StoredSeries[]>; close?(): void };
  externalLabels: () => Readonly<Record<string, string>>;
  /** 0 = no limit. */
  sampleLimit: number;
  /** 0 = no limit. */
  concurrencyLimit: number;
  maxBytesInFrame: number;
}

class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async enter(): Promise<void> {
    if (this.limit <= 0 || this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  leave(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

/** Drops matchers that equal an external label; returns the kept matchers. */
function withoutExternalMatchers(matchers: readonly Matcher[], ext: Readonly<Record<string, string>>): Matcher[] {
  return matchers.filter((m) => !(m.type === "=" && ext[m.name] !== undefined && ext[m.name] === m.value));
}

/** Series labels plus the external labels they lack, sorted. */
function withExternal(ls: Labels, ext: readonly Label[]): Labels {
  if (ext.length === 0) return ls;
  const have = new Set(ls.map((l) => l.name));
  const out = [...ls];
  for (const e of ext) if (!have.has(e.name)) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** The handler for POST /api/v1/read. */
export function remoteReadHandler(opts: RemoteReadOptions): (req: Request) => Promise<Response> {
  const gate = new Gate(opts.concurrencyLimit);
  return async (req) => {
    await gate.enter();
    try {
      let queries: ReadQuery[];
      let types: number[];
      try {
        const body = new Uint8Array(await req.arrayBuffer());
        const parsed = decodeReadRequest(snappyDecode(body, MAX_READ_REQUEST_BYTES));
        queries = parsed.queries;
        types = parsed.acceptedResponseTypes;
      } catch (err) {
        if (err instanceof SnappyError || err instanceof ProtoError) return text(400, err.message);
        throw err;
      }
      const extRec = opts.externalLabels();
      const ext = Object.entries(extRec).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
      const type = types.find((t) => t === RESPONSE_SAMPLES || t === RESPONSE_STREAMED_XOR_CHUNKS) ?? RESPONSE_SAMPLES;
      if (types.length > 0 && !types.some((t) => t === RESPONSE_SAMPLES || t === RESPONSE_STREAMED_XOR_CHUNKS)) {
        return text(400, `server does not support any of the requested response types: ${types.join(", ")}; supported: SAMPLES, STREAMED_XOR_CHUNKS`);
      }
      if (type === RESPONSE_STREAMED_XOR_CHUNKS) return streamed(opts, queries, extRec, ext);
      const w = new ProtoWriter(64 * 1024);
      let total = 0;
      for (const q of queries) {
        w.fork(1);
        const querier = opts.querier(q.startMs, q.endMs);
        try {
          let series: StoredSeries[];
          try {
            series = await querier.select(withoutExternalMatchers(q.matchers, extRec), q.startMs, q.endMs);
          } catch (err) {
            return text(500, (err as Error).message);
          }
          for (const s of series) {
            const b = s.samples();
            if (b.length === 0) continue;
            total += b.length;
            if (opts.sampleLimit > 0 && total > opts.sampleLimit) return text(400, `exceeded sample limit (${opts.sampleLimit})`);
            writeSeriesSamples(w, withExternal(s.labels, ext), b.t, b.v, b.length);
          }
        } finally {
          querier.close?.();
        }
        w.join();
      }
      return new Response(snappyEncode(w.finish()), {
        status: 200,
        headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" },
      });
    } finally {
      gate.leave();
    }
  };
}

async function streamed(opts: RemoteReadOptions, queries: ReadQuery[], extRec: Readonly<Record<string, string>>, ext: readonly Label[]): Promise<Response> {
  // The first query's select runs before the response starts, so a storage that cannot be read answers 500 (not a broken stream).
  let first: { querier: ReturnType<RemoteReadOptions["querier"]>; series: StoredSeries[] } | undefined;
  if (queries.length > 0) {
    const q = queries[0]!;
    const querier = opts.querier(q.startMs, q.endMs);
    try {
      first = { querier, series: await querier.select(withoutExternalMatchers(q.matchers, extRec), q.startMs, q.endMs) };
    } catch (err) {
      querier.close?.();
      return text(500, (err as Error).message);
    }
  }
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for (let qi = 0; qi < queries.length; qi++) {
          const q = queries[qi]!;
          let querier: ReturnType<RemoteReadOptions["querier"]>;
          let series: StoredSeries[];
          if (qi === 0 && first) {
            ({ querier, series } = first);
          } else {
            querier = opts.querier(q.startMs, q.endMs);
            try {
              series = await querier.select(withoutExternalMatchers(q.matchers, extRec), q.startMs, q.endMs);
            } catch (err) {
              querier.close?.();
              throw err;
            }
          }
          let w = new ProtoWriter(16 * 1024);
          let inFrame = 0;
          const flush = () => {
            if (inFrame === 0) return;
            w.tag(2, WIRE_VARINT);
            w.int64(qi);
            controller.enqueue(frame(w.finish()));
            w = new ProtoWriter(16 * 1024);
            inFrame = 0;
          };
          for (const s of series) {
            const chunks = s.chunks().filter((c) => c.maxt >= q.startMs && c.mint <= q.endMs);
            if (chunks.length === 0) continue;
            writeChunkedSeries(w, withExternal(s.labels, ext), chunks);
            inFrame++;
            if (w.pos >= opts.maxBytesInFrame) flush();
          }
          querier.close?.();
          flush();
        }
        controller.close();
      } catch (err) {
        controller.error(err);
      }
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": STREAMED_CONTENT_TYPE, "Content-Encoding": "" } });
}
