import { describe, expect, test } from "bun:test";
import { promises as dnsPromises } from "node:dns";
import { DNSDiscoverer, type DNSResolver } from "../../src/discovery/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import { startDNSServer } from "./dns_server.ts";
import { GroupRecorder, metricValue, plain, waitFor } from "./helpers.ts";

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed: ${code}`), { code });
}

/** Answers from a table; names missing from it are NXDOMAIN; a "fail" entry is a SERVFAIL. */
class TableResolver implements DNSResolver {
  srv = new Map<string, { name: string; port: number; priority: number; weight: number }[] | "fail">();
  a = new Map<string, string[]>();
  aaaa = new Map<string, string[]>();
  mx = new Map<string, { exchange: string; priority: number }[]>();
  ns = new Map<string, string[]>();
  queries: string[] = [];

  private answer<T>(table: Map<string, T[] | "fail">, kind: string, name: string): Promise<T[]> {
    this.queries.push(`${kind} ${name}`);
    const v = table.get(name);
    if (v === "fail") return Promise.reject(dnsError("ESERVFAIL"));
    if (v === undefined) return Promise.reject(dnsError("ENOTFOUND"));
    return Promise.resolve(v);
  }
  resolveSrv(name: string) { return this.answer(this.srv, "SRV", name); }
  resolve4(name: string) { return this.answer(this.a, "A", name); }
  resolve6(name: string) { return this.answer(this.aaaa, "AAAA", name); }
  resolveMx(name: string) { return this.answer(this.mx, "MX", name); }
  resolveNs(name: string) { return this.answer(this.ns, "NS", name); }
}

const never = new AbortController().signal;

describe("DNSDiscoverer", () => {
  test("SRV records become targets with their meta labels, one group per name", async () => {
    const r = new TableResolver();
    r.srv.set("_node._tcp.example.com", [
      { name: "n1.example.com.", port: 9100, priority: 1, weight: 1 },
      { name: "n2.example.com", port: 9101, priority: 1, weight: 1 },
    ]);
    r.srv.set("_other._tcp.example.com", []);
    const d = new DNSDiscoverer({ names: ["_node._tcp.example.com", "_other._tcp.example.com"] }, { logger: nopLogger, resolver: r });
    const groups = (await d.refresh(never)).map(plain);
    expect(groups).toEqual([
      {
        source: "_node._tcp.example.com",
        labels: {},
        targets: [
          { __address__: "n1.example.com:9100", __meta_dns_name: "_node._tcp.example.com", __meta_dns_srv_record_target: "n1.example.com", __meta_dns_srv_record_port: "9100" },
          { __address__: "n2.example.com:9101", __meta_dns_name: "_node._tcp.example.com", __meta_dns_srv_record_target: "n2.example.com", __meta_dns_srv_record_port: "9101" },
        ],
      },
      { source: "_other._tcp.example.com", labels: {}, targets: [] },
    ]);
    expect(r.queries.sort()).toEqual(["SRV _node._tcp.example.com", "SRV _other._tcp.example.com"]);
  });

  test("A, AAAA, MX and NS records use the configured port", async () => {
    const r = new TableResolver();
    r.a.set("web", ["10.0.0.1", "10.0.0.2"]);
    r.aaaa.set("web", ["::1"]);
    r.mx.set("mail", [{ exchange: "mx1.example.com.", priority: 10 }]);
    r.ns.set("zone", ["ns1.example.com."]);
    const run = async (type: "A" | "AAAA" | "MX" | "NS", name: string) =>
      (await new DNSDiscoverer({ names: [name], type, port: 80 }, { logger: nopLogger, resolver: r }).refresh(never)).map(plain)[0]!.targets;
    expect(await run("A", "web")).toEqual([
      { __address__: "10.0.0.1:80", __meta_dns_name: "web" },
      { __address__: "10.0.0.2:80", __meta_dns_name: "web" },
    ]);
    expect(await run("AAAA", "web")).toEqual([{ __address__: "[::1]:80", __meta_dns_name: "web" }]);
    expect(await run("MX", "mail")).toEqual([{ __address__: "mx1.example.com:80", __meta_dns_name: "mail", __meta_dns_mx_record_target: "mx1.example.com" }]);
    expect(await run("NS", "zone")).toEqual([{ __address__: "ns1.example.com:80", __meta_dns_name: "zone", __meta_dns_ns_record_target: "ns1.example.com" }]);
  });

  test("a missing name gives an empty group; a failed lookup is left out and counted", async () => {
    const r = new TableResolver();
    r.srv.set("broken", "fail");
    const registry = new Registry();
    const d = new DNSDiscoverer({ names: ["gone", "broken"] }, { logger: nopLogger, registry, resolver: r });
    const groups = await d.refresh(never);
    expect(groups.map(plain)).toEqual([{ source: "gone", targets: [], labels: {} }]);
    expect(metricValue(registry, "prometheus_sd_dns_lookups_total")).toBe(2);
    expect(metricValue(registry, "prometheus_sd_dns_lookup_failures_total")).toBe(1);
  });

  test("run refreshes every refresh_interval and keeps targets through a failure", async () => {
    const r = new TableResolver();
    r.srv.set("svc", [{ name: "h1", port: 1, priority: 0, weight: 0 }]);
    const registry = new Registry();
    const rec = new GroupRecorder();
    const abort = new AbortController();
    const d = new DNSDiscoverer({ names: ["svc"], refresh_interval: 10 }, { logger: nopLogger, registry, resolver: r });
    const done = d.run(rec.update, abort.signal);
    try {
      await waitFor("first answer", () => rec.addresses().join() === "h1:1");
      r.srv.set("svc", "fail");
      await waitFor("a failure", () => (metricValue(registry, "prometheus_sd_dns_lookup_failures_total") ?? 0) >= 1);
      expect(rec.addresses()).toEqual(["h1:1"]);
      r.srv.set("svc", [{ name: "h2", port: 2, priority: 0, weight: 0 }]);
      await waitFor("new answer", () => rec.addresses().join() === "h2:2");
    } finally {
      abort.abort();
      await done;
    }
  });

  test("node's resolver over the wire: SRV and A answers from a DNS server on 127.0.0.1", async () => {
    const server = await startDNSServer({
      srv: new Map([["_web._tcp.test.local", [{ target: "w1.test.local", port: 8080, priority: 1, weight: 1 }]]]),
      a: new Map([["w1.test.local", ["10.1.2.3"]]]),
    });
    try {
      const resolver = new dnsPromises.Resolver({ timeout: 500, tries: 1 });
      resolver.setServers([server.address]);
      const srv = new DNSDiscoverer({ names: ["_web._tcp.test.local", "_none._tcp.test.local"] }, { logger: nopLogger, resolver });
      expect((await srv.refresh(never)).map(plain)).toEqual([
        {
          source: "_web._tcp.test.local",
          labels: {},
          targets: [{ __address__: "w1.test.local:8080", __meta_dns_name: "_web._tcp.test.local", __meta_dns_srv_record_target: "w1.test.local", __meta_dns_srv_record_port: "8080" }],
        },
        { source: "_none._tcp.test.local", labels: {}, targets: [] },
      ]);
      const a = new DNSDiscoverer({ names: ["w1.test.local"], type: "A", port: 9100 }, { logger: nopLogger, resolver });
      expect((await a.refresh(never)).map(plain)[0]!.targets).toEqual([{ __address__: "10.1.2.3:9100", __meta_dns_name: "w1.test.local" }]);
      expect(server.queries).toBeGreaterThanOrEqual(3);
    } finally {
      await server.close();
    }
  });

  test("invalid configs are rejected", () => {
    expect(() => new DNSDiscoverer({ names: [] }, { logger: nopLogger })).toThrow("at least one SRV record name");
    expect(() => new DNSDiscoverer({ names: ["a"], type: "A" }, { logger: nopLogger })).toThrow("a port is required in DNS-SD configs for all record types except SRV");
    expect(() => new DNSDiscoverer({ names: ["a"], type: "TXT" as "A", port: 1 }, { logger: nopLogger })).toThrow('invalid DNS-SD records type "TXT"');
  });
});
