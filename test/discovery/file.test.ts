import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDiscoverer, parseTargetGroupFile } from "../../src/discovery/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import { GroupRecorder, metricValue, plain, waitFor } from "./helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "promts-filesd-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes via a temp file and rename, so a watcher never sees a half-written file. */
function writeAtomic(path: string, text: string): void {
  writeFileSync(path + ".tmp", text);
  renameSync(path + ".tmp", path);
}

function start(files: string[], refreshMs = 3_600_000): { rec: GroupRecorder; registry: Registry; done: Promise<void> } {
  const registry = new Registry();
  const rec = new GroupRecorder();
  const abort = new AbortController();
  const d = new FileDiscoverer({ files, refresh_interval: refreshMs }, { logger: nopLogger, registry });
  const done = d.run(rec.update, abort.signal);
  cleanups.push(async () => {
    abort.abort();
    await done;
  });
  return { rec, registry, done };
}

describe("parseTargetGroupFile", () => {
  test("JSON and YAML give the same groups, sourced path:index with __meta_filepath", () => {
    const json = parseTargetGroupFile("/sd/a.json", JSON.stringify([{ targets: ["a:1", "b:2"], labels: { env: "prod" } }, { targets: ["c:3"] }]));
    const yaml = parseTargetGroupFile("/sd/a.yml", "- targets: ['a:1', 'b:2']\n  labels: {env: prod}\n- targets: ['c:3']\n");
    expect(json.map(plain)).toEqual([
      { source: "/sd/a.json:0", targets: [{ __address__: "a:1" }, { __address__: "b:2" }], labels: { __meta_filepath: "/sd/a.json", env: "prod" } },
      { source: "/sd/a.json:1", targets: [{ __address__: "c:3" }], labels: { __meta_filepath: "/sd/a.json" } },
    ]);
    expect(yaml.map(plain).map((g) => g.targets)).toEqual(json.map(plain).map((g) => g.targets));
    expect(yaml[0]!.source).toBe("/sd/a.yml:0");
  });

  test("empty file means no groups", () => {
    expect(parseTargetGroupFile("/sd/e.yaml", "")).toEqual([]);
    expect(parseTargetGroupFile("/sd/e.json", "[]")).toEqual([]);
  });

  test("malformed content is rejected with the file and index named", () => {
    expect(() => parseTargetGroupFile("/sd/a.txt", "[]")).toThrow("retrieval target groups from /sd/a.txt: invalid file extension");
    expect(() => parseTargetGroupFile("/sd/a.json", "[{")).toThrow("retrieval target groups from /sd/a.json");
    expect(() => parseTargetGroupFile("/sd/a.json", '{"targets": []}')).toThrow("/sd/a.json: expected a list of target groups");
    expect(() => parseTargetGroupFile("/sd/a.json", "[null]")).toThrow("nil target group item found (index 0)");
    expect(() => parseTargetGroupFile("/sd/a.json", '[{"targets": ["a:1"]}, {"targets": [1]}]')).toThrow("target group 1: target 0 must be a string");
    expect(() => parseTargetGroupFile("/sd/a.yml", "- targets: [a]\n  labels: {n: 1}\n")).toThrow('label "n": value must be a string');
    expect(() => parseTargetGroupFile("/sd/a.yml", "- targets: a\n")).toThrow('"targets" must be a list of strings');
  });
});

describe("FileDiscoverer", () => {
  test("reads JSON and YAML files matched by a glob and a plain path", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.json"), JSON.stringify([{ targets: ["a:1"], labels: { env: "prod" } }]));
    writeFileSync(join(dir, "b.json"), JSON.stringify([{ targets: ["b:1"] }]));
    writeFileSync(join(dir, "c.yml"), "- targets: ['c:1']\n");
    writeFileSync(join(dir, "ignored.txt"), "not sd");
    const { rec } = start([join(dir, "*.json"), join(dir, "c.yml")]);
    await waitFor("three targets", () => rec.addresses().length === 3);
    expect(rec.addresses()).toEqual(["a:1", "b:1", "c:1"]);
    expect(rec.group(`${join(dir, "a.json")}:0`)?.labels).toEqual({ __meta_filepath: join(dir, "a.json"), env: "prod" });
    expect(rec.updates.length).toBe(1);
  });

  test("a modified file is re-read through the directory watch", async () => {
    const dir = tempDir();
    const file = join(dir, "t.json");
    writeFileSync(file, JSON.stringify([{ targets: ["old:1"] }]));
    const { rec } = start([join(dir, "*.json")]);
    await waitFor("initial target", () => rec.addresses().join() === "old:1");
    writeAtomic(file, JSON.stringify([{ targets: ["new:1", "new:2"] }]));
    await waitFor("modified targets", () => rec.addresses().join() === "new:1,new:2");
  });

  test("a new file matching the glob is picked up", async () => {
    const dir = tempDir();
    const { rec } = start([join(dir, "*.yaml")]);
    writeAtomic(join(dir, "late.yaml"), "- targets: ['late:1']\n");
    await waitFor("late file", () => rec.addresses().join() === "late:1");
  });

  test("a broken file keeps its last targets and counts a read error; a fix applies", async () => {
    const dir = tempDir();
    const file = join(dir, "t.json");
    writeFileSync(file, JSON.stringify([{ targets: ["good:1"] }]));
    const { rec, registry } = start([file]);
    await waitFor("initial target", () => rec.addresses().join() === "good:1");
    expect(metricValue(registry, "prometheus_sd_file_read_errors_total")).toBe(0);
    writeAtomic(file, "[{ not json");
    await waitFor("read error counted", () => (metricValue(registry, "prometheus_sd_file_read_errors_total") ?? 0) >= 1);
    expect(rec.addresses()).toEqual(["good:1"]);
    writeAtomic(file, JSON.stringify([{ targets: ["fixed:1"] }]));
    await waitFor("fixed target", () => rec.addresses().join() === "fixed:1");
  });

  test("a deleted file, or one listing fewer groups, has its groups removed", async () => {
    const dir = tempDir();
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    writeFileSync(a, JSON.stringify([{ targets: ["a0:1"] }, { targets: ["a1:1"] }]));
    writeFileSync(b, JSON.stringify([{ targets: ["b0:1"] }]));
    const { rec, registry } = start([join(dir, "*.json")]);
    await waitFor("three targets", () => rec.addresses().length === 3);
    writeAtomic(a, JSON.stringify([{ targets: ["a0:1"] }]));
    await waitFor("a's second group removed", () => !rec.current.has(`${a}:1`));
    expect(rec.addresses()).toEqual(["a0:1", "b0:1"]);
    unlinkSync(b);
    await waitFor("b removed", () => rec.addresses().join() === "a0:1");
    expect(metricValue(registry, `prometheus_sd_file_mtime_seconds{filename="${b}"}`)).toBeUndefined();
    expect(metricValue(registry, `prometheus_sd_file_mtime_seconds{filename="${a}"}`)).toBeGreaterThan(1e9);
    const removal = rec.updates.flat().find((g) => g.source === `${b}:0` && g.targets.length === 0);
    expect(removal).toBeDefined();
  });

  test("refresh_interval re-reads files without watch events (missing directory is not fatal)", async () => {
    const dir = tempDir();
    const missing = join(dir, "later");
    const { rec, registry } = start([join(missing, "*.json")], 30);
    expect(metricValue(registry, "prometheus_sd_file_watcher_errors_total")).toBe(1);
    mkdirSync(missing);
    writeFileSync(join(missing, "x.json"), JSON.stringify([{ targets: ["x:1"] }]));
    await waitFor("target found by periodic refresh", () => rec.addresses().join() === "x:1");
  });

  test("run resolves once aborted", async () => {
    const dir = tempDir();
    const abort = new AbortController();
    const d = new FileDiscoverer({ files: [join(dir, "*.json")], refresh_interval: 3_600_000 }, { logger: nopLogger });
    const done = d.run(() => {}, abort.signal);
    abort.abort();
    await done;
  });

  test("invalid configs are rejected", () => {
    expect(() => new FileDiscoverer({ files: [] }, { logger: nopLogger })).toThrow("at least one path name");
    expect(() => new FileDiscoverer({ files: ["a.json"], refresh_interval: 0 }, { logger: nopLogger })).toThrow("refresh_interval must be positive");
  });
});
