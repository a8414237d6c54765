/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, random port) for
 * wire-level dns_sd tests: answers SRV and A questions from a table and
 * NXDOMAIN for anything else. Only what node's resolver sends is parsed.
 */
import { createSocket, type Socket } from "node:dgram";

const TYPE_A = 1;
const TYPE_SRV = 33;

/** Records served, by lower-case name. */
export interface DNSTable {
  srv: Map<string, { target: string; port: number; priority: number; weight: number }[]>;
  a: Map<string, string[]>;
}

/** A running test DNS server; `close()` frees the socket. */
export interface TestDNSServer {
  address: string;
  table: DNSTable;
  queries: number;
  close(): Promise<void>;
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter((p) => p !== "");
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.of(p.length), Buffer.from(p, "ascii")])), Buffer.of(0)]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Reads the question name at offset 12; returns it and the offset after it. */
function readQuestionName(msg: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let off = 12;
  while (off < msg.length && msg[off]! !== 0) {
    const len = msg[off]!;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString("ascii"));
    off += 1 + len;
  }
  return { name: labels.join(".").toLowerCase(), end: off + 1 };
}

function answer(query: Buffer, table: DNSTable): Buffer {
  const { name, end } = readQuestionName(query);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const records: Buffer[] = [];
  let known = false;
  if (qtype === TYPE_SRV && table.srv.has(name)) {
    known = true;
    for (const r of table.srv.get(name)!) {
      const rdata = Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), encodeName(r.target)]);
      records.push(Buffer.concat([u16(0xc00c), u16(TYPE_SRV), u16(1), Buffer.of(0, 0, 0, 30), u16(rdata.length), rdata]));
    }
  } else if (qtype === TYPE_A && table.a.has(name)) {
    known = true;
    for (const ip of table.a.get(name)!) {
      const rdata = Buffer.from(ip.split(".").map(Number));
      records.push(Buffer.concat([u16(0xc00c), u16(TYPE_A), u16(1), Buffer.of(0, 0, 0, 30), u16(4), rdata]));
    }
  }
  const flags = known ? 0x8580 : 0x8583; // response, authoritative, RD+RA; rcode NXDOMAIN when unknown
  const header = Buffer.concat([query.subarray(0, 2), u16(flags), u16(1), u16(records.length), u16(0), u16(0)]);
  return Buffer.concat([header, question, ...records]);
}

/** Starts a server answering from `table` (mutable while running). */
export async function startDNSServer(table: DNSTable): Promise<TestDNSServer> {
  const socket: Socket = createSocket("udp4");
  const server: TestDNSServer = {
    address: "",
    table,
    queries: 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (msg, rinfo) => {
    server.queries++;
    try {
      socket.send(answer(msg, server.table), rinfo.port, rinfo.address);
    } catch {
      // A query this fake cannot parse gets no answer; the resolver times out.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  server.address = `127.0.0.1:${socket.address().port}`;
  return server;
}
