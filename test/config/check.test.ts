import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfigFiles } from "../../src/cli/index.ts";
import { expandGlob } from "../../src/config/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-config-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function check(...paths: string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = checkConfigFiles(paths, (line) => lines.push(line));
  return { code, lines };
}

describe("checkConfigFiles", () => {
  test("a valid config with rule files", () => {
    write("rules/a.yml", "groups: []\n");
    write("rules/b.yml", "groups: []\n");
    write("explicit.rules", "groups: []\n");
    const path = write("good.yml", "rule_files: ['rules/*.yml', explicit.rules]\nscrape_configs:\n  - job_name: a\n");
    expect(check(path)).toEqual({
      code: 0,
      lines: [
        `Checking ${path}`,
        "  SUCCESS: 3 rule files found",
        `  SUCCESS: ${path} is valid prometheus config file syntax`,
        "",
      ],
    });
  });

  test("no rule files: only the syntax line", () => {
    const path = write("plain.yml", "global: {scrape_interval: 30s}\n");
    expect(check(path).lines).toEqual([`Checking ${path}`, `  SUCCESS: ${path} is valid prometheus config file syntax`, ""]);
  });

  test("an invalid config fails with the located error and exit code 1", () => {
    const path = write("bad.yml", "scrape_configs:\n  - job_name: a\n    scrape_intervl: 5s\n");
    expect(check(path)).toEqual({
      code: 1,
      lines: [
        `Checking ${path}`,
        `  FAILED: ${path}:3:5: field scrape_configs[0].scrape_intervl not found in type config.ScrapeConfig`,
        "",
      ],
    });
  });

  test("an explicit rule file that does not exist fails", () => {
    const path = write("missing-rule.yml", "rule_files: [nope.yml]\n");
    const { code, lines } = check(path);
    expect(code).toBe(1);
    expect(lines[1]).toBe(`  FAILED: ${path}:1:14: field rule_files[0]: "${join(dir, "nope.yml")}" does not point to an existing file`);
  });

  test("a missing file_sd file is only a warning", () => {
    const path = write("sd.yml", "scrape_configs:\n  - job_name: j\n    file_sd_configs: [{files: [targets/*.json]}]\n");
    const { code, lines } = check(path);
    expect(code).toBe(0);
    expect(lines[1]).toBe(`  WARNING: file "${join(dir, "targets/*.json")}" for file_sd in scrape job "j" does not exist`);
  });

  test("a client cert without a key fails", () => {
    const cert = write("certs/c.pem", "x");
    const path = write("tls.yml", "scrape_configs:\n  - job_name: j\n    tls_config: {cert_file: certs/c.pem, key_file: certs/missing.key}\n");
    const { code, lines } = check(path);
    expect(code).toBe(1);
    expect(lines[1]).toStartWith(`  FAILED: ${path}:3:58: field scrape_configs[0].tls_config.key_file: error checking client key file "${join(dir, "certs/missing.key")}"`);
    expect(cert).toBe(join(dir, "certs/c.pem"));
  });

  test("several files: one bad file makes the exit code 1, all are reported", () => {
    const good = write("g2.yml", "");
    const missing = join(dir, "absent.yml");
    const { code, lines } = check(good, missing);
    expect(code).toBe(1);
    expect(lines).toEqual([
      `Checking ${good}`,
      `  SUCCESS: ${good} is valid prometheus config file syntax`,
      "",
      `Checking ${missing}`,
      `  FAILED: ${missing}: open ${missing}: no such file or directory`,
      "",
    ]);
  });
});

describe("expandGlob", () => {
  test("matches like Go's filepath.Glob in the last element, sorted", () => {
    for (const name of ["g/b.yml", "g/a.yml", "g/c.yaml", "g/ab.yml", "g/a+b.yml"]) write(name, "");
    const g = (p: string) => expandGlob(join(dir, p)).map((f) => f.slice(dir.length + 3));
    expect(g("g/*.yml")).toEqual(["a+b.yml", "a.yml", "ab.yml", "b.yml"]);
    expect(g("g/?.yml")).toEqual(["a.yml", "b.yml"]);
    expect(g("g/[^a].yml")).toEqual(["b.yml"]);
    expect(g("g/a+b.yml")).toEqual(["a+b.yml"]);
    expect(g("g/nope.yml")).toEqual([]);
    expect(g("missing-dir/*.yml")).toEqual([]);
  });
});
