import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigReloader } from "../../src/cli/config_reloader.ts";
import type { ServerContext } from "../../src/cli/server.ts";
import { loadConfigFile, type PrometheusConfig } from "../../src/config/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-reloader-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(name: string) {
  const file = join(dir, name);
  const write = (seconds: number | string) => writeFileSync(file, `global:\n  scrape_interval: ${typeof seconds === "number" ? `${seconds}s` : seconds}\n`);
  write(10);
  const registry = new Registry();
  const reloader = new ConfigReloader(file, nopLogger, registry);
  const ctx = {
    config: loadConfigFile(file).config,
    reloadHooks: [] as ((c: PrometheusConfig) => void | Promise<void>)[],
  } as unknown as ServerContext;
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(registry.render())![1]);
  return { file, write, reloader, ctx, gauge };
}

/** Lets pending promise chains and I/O callbacks run once. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Yields until `cond` holds, at most `turns` times. */
async function turnsUntil(cond: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await turn();
}

describe("ConfigReloader", () => {
  test("reloads requested before attach() wait for it", async () => {
    const { write, reloader, ctx, gauge } = setup("early.yml");
    let done = false;
    const pending = reloader.reload().then(() => { done = true; });
    write(20);
    await turnsUntil(() => done, 20);
    expect(done).toBe(false);
    expect(gauge("prometheus_config_last_reload_successful")).toBe(0);
    reloader.attach(ctx);
    await pending;
    expect(ctx.config.global.scrape_interval).toBe(20000);
    expect(gauge("prometheus_config_last_reload_successful")).toBe(1);
    expect(gauge("prometheus_config_last_reload_success_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  test("reloads run one at a time, in order", async () => {
    const { write, reloader, ctx } = setup("serial.yml");
    const events: string[] = [];
    const gates: (() => void)[] = [];
    ctx.reloadHooks.push(async (config) => {
      events.push(`start ${config.global.scrape_interval}`);
      await new Promise<void>((open) => gates.push(open));
      events.push(`end ${config.global.scrape_interval}`);
    });
    reloader.attach(ctx);
    write(30);
    const first = reloader.reload();
    const second = reloader.reload();
    await turnsUntil(() => gates.length === 1);
    // While the first reload's hook is held open, the second must not start.
    await turnsUntil(() => gates.length > 1, 50);
    expect(events).toEqual(["start 30000"]);
    gates[0]!();
    await turnsUntil(() => gates.length === 2);
    expect(events).toEqual(["start 30000", "end 30000", "start 30000"]);
    gates[1]!();
    await Promise.all([first, second]);
    expect(events).toEqual(["start 30000", "end 30000", "start 30000", "end 30000"]);
  });

  test("a failed reload keeps the old config, reports 0, and later reloads still run", async () => {
    const { write, reloader, ctx, gauge } = setup("failing.yml");
    const seen: number[] = [];
    ctx.reloadHooks.push((config) => {
      if (config.global.scrape_interval === 50000) throw new Error("hook refuses 50s");
      seen.push(config.global.scrape_interval);
    });
    reloader.attach(ctx);

    write("never");
    await expect(reloader.reload()).rejects.toThrow("failing.yml:2:");
    expect(gauge("prometheus_config_last_reload_successful")).toBe(0);
    write(50);
    await expect(reloader.reload()).rejects.toThrow("hook refuses 50s");
    expect(ctx.config.global.scrape_interval).toBe(10000);

    write(40);
    await reloader.reload();
    expect(ctx.config.global.scrape_interval).toBe(40000);
    expect(seen).toEqual([40000]);
    expect(gauge("prometheus_config_last_reload_successful")).toBe(1);
  });
});
