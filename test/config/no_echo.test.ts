/**
 * A located error names the file, line, column and field path, but never
 * echoes the contents of a file that is not a config at all (issue 9: with
 * `rule_files: ["/etc/shadow"]`, a reload answered with the file's first
 * line). Covers every loader that quotes input: prometheus.yml, rule files,
 * alertmanager.yml and the web config.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAlertmanagerConfigFile, loadConfigFile, parseConfig } from "../../src/config/index.ts";
import { loadRuleFiles } from "../../src/rules/index.ts";
import { loadWebConfig } from "../../src/web/index.ts";

const SECRET = "s3cr3tHash";
const FOREIGN: Record<string, string> = {
  shadow: `root:$6$${SECRET}$abcdefghijkl:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n`,
  passwd: `root:x:0:0:${SECRET}:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n`,
  hosts: `127.0.0.1 localhost ${SECRET}\n::1 localhost ip6-localhost\n`,
  binary: `\x7fELF\x02\x01\x01${SECRET}\n\tfoo: [bar\n`,
};

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "promts-no-echo-"));
  for (const [name, text] of Object.entries(FOREIGN)) writeFileSync(join(dir, name), text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the load to fail");
}

describe("errors about files that are not configs do not echo them", () => {
  const loaders: [string, (path: string) => unknown][] = [
    ["prometheus.yml", loadConfigFile],
    ["alertmanager.yml", loadAlertmanagerConfigFile],
    ["web config", loadWebConfig],
  ];
  for (const [what, load] of loaders) {
    test(`${what} loader`, () => {
      for (const name of Object.keys(FOREIGN)) {
        const path = join(dir, name);
        const message = errorOf(() => load(path));
        expect(message).toStartWith(path);
        expect(message).not.toContain(SECRET);
        expect(message).not.toContain("root:");
      }
    });
  }

  test("rule files", async () => {
    for (const name of Object.keys(FOREIGN)) {
      const path = join(dir, name);
      let message = "";
      try {
        await loadRuleFiles([path]);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain(`${path}:`);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain("root:");
    }
  });

  test("real config mistakes are still quoted as Prometheus quotes them", () => {
    expect(errorOf(() => parseConfig("global:\n  scrape_intervl: 1m\n", "p.yml"))).toBe("p.yml:2:3: field global.scrape_intervl not found in type config.GlobalConfig");
    expect(errorOf(() => parseConfig("scrape_configs:\n  - job_name: a\n    sample_limit: lots\n", "p.yml"))).toBe("p.yml:3:19: field scrape_configs[0].sample_limit: cannot unmarshal !!str `lots` into uint");
  });
});
