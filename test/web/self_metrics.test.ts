import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Registry } from "../../src/model/index.ts";
import {
  parseMaxOpenFiles,
  parseProcStat,
  parseResidentBytes,
  registerBuildInfo,
  registerProcessMetrics,
} from "../../src/web/index.ts";

describe("/proc parsers", () => {
  test("parseProcStat counts fields after the last ')' of the command name", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[11] = "250"; // utime (field 14)
    fields[12] = "150"; // stime (field 15)
    fields[19] = "12345"; // starttime (field 22)
    fields[20] = "987654321"; // vsize (field 23)
    const stat = parseProcStat(`4242 (we ird) (name) ${fields.join(" ")}\n`);
    expect(stat.cpuSeconds).toBe(4);
    expect(stat.startSecondsSinceBoot).toBe(123.45);
    expect(stat.virtualMemoryBytes).toBe(987654321);
  });

  test("parseProcStat rejects truncated input with a message naming the file", () => {
    expect(() => parseProcStat("1 (x) S 1 2")).toThrow("/proc/self/stat");
    expect(() => parseProcStat("garbage")).toThrow("/proc/self/stat");
  });

  test("parseMaxOpenFiles reads the soft limit", () => {
    const limits = "Limit                     Soft Limit           Hard Limit           Units\n" +
      "Max open files            1024                 524288               files\n";
    expect(parseMaxOpenFiles(limits)).toBe(1024);
    expect(parseMaxOpenFiles("Max open files            unlimited            unlimited            files\n")).toBe(Infinity);
    expect(parseMaxOpenFiles("nothing here")).toBeUndefined();
  });

  test("parseResidentBytes converts kB", () => {
    expect(parseResidentBytes("Name:\tbun\nVmRSS:\t   2048 kB\n")).toBe(2048 * 1024);
    expect(parseResidentBytes("Name:\tbun\n")).toBeUndefined();
  });
});

describe("registered self-metrics", () => {
  test("process metrics have plausible values", () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const text = registry.render();
    const value = (name: string): number => {
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
      if (!m) throw new Error(`${name} missing from:\n${text}`);
      return Number(m[1]);
    };
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
    expect(value("process_virtual_memory_bytes")).toBeGreaterThanOrEqual(value("process_resident_memory_bytes"));
    const start = value("process_start_time_seconds");
    expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    expect(start).toBeGreaterThan(Date.now() / 1000 - 3600);
    if (existsSync("/proc/self/fd")) {
      expect(value("process_open_fds")).toBeGreaterThan(2);
      expect(value("process_max_fds")).toBeGreaterThanOrEqual(value("process_open_fds"));
    }
  });

  test("build info is a constant 1 with sorted labels", () => {
    const registry = new Registry();
    registerBuildInfo(registry, {
      version: "0.1.0", revision: "abc", branch: "main", goversion: "bun1.4.5", goos: "linux", goarch: "amd64", tags: "",
    });
    expect(registry.render()).toContain(
      'prometheus_build_info{branch="main",goarch="amd64",goos="linux",goversion="bun1.4.5",revision="abc",tags="",version="0.1.0"} 1\n',
    );
  });
});
