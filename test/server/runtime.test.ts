/**
 * The runtime every long-running role shares (src/server/runtime.ts):
 * ordered start and reverse stop of named components, serialized reloads
 * that keep the old config on error, readiness, the web config around every
 * route, and the exit codes. Listens on 127.0.0.1 with port 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { newLogger, nopLogger } from "../../src/log/index.ts";
import { Reloads, runRole, type Component, type RoleSpec, type RuntimeControl } from "../../src/server/index.ts";
import { waitUntil } from "../support/processes.ts";

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-runtime-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config file holding one number; "bad" makes loading fail. */
function configFile(value: string): { path: string; write(v: string): void } {
  const path = join(dir, `cfg-${Math.random().toString(36).slice(2)}.txt`);
  const write = (v: string) => writeFileSync(path, v);
  write(value);
  return { path, write };
}

function loadNumber(file: string): { config: number; warnings: string[] } {
  const text = readFileSync(file, "utf8").trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) throw new Error(`${file}: not a number: ${JSON.stringify(text)}`);
  return { config: n, warnings: n > 100 ? [`${n} is large`] : [] };
}

/** A component that records what happens to it in `events`. */
function recorder(name: string, events: string[], opts: { failStart?: boolean; refuse?: number; gate?: () => Promise<void> } = {}): Component<number> {
  return {
    name,
    start: (config) => {
      if (opts.failStart) throw new Error(`${name} cannot start`);
      events.push(`${name} start ${config}`);
    },
    reload: async (config) => {
      events.push(`${name} reload ${config}`);
      if (opts.gate) await opts.gate();
      if (config === opts.refuse) throw new Error(`${name} refuses ${config}`);
    },
    stop: () => { events.push(`${name} stop`); },
  };
}

interface Running {
  url: string;
  control: RuntimeControl;
  exit: Promise<number>;
  stop: AbortController;
  logs: string[];
}

async function run(spec: Partial<RoleSpec<number>> & { components: Component<number>[] }, configPath?: string): Promise<Running> {
  const logs: string[] = [];
  const stop = new AbortController();
  let url = "";
  let control!: RuntimeControl;
  const exit = runRole<number>({
    logger: newLogger({ level: "debug", write: (line) => logs.push(line) }),
    listen: { hostname: "127.0.0.1", port: 0, webConfigFile: "", idleTimeoutS: 10 },
    config: configPath === undefined ? undefined : { file: configPath, load: loadNumber },
    app: (c) => {
      control = c;
      const app = new Hono();
      app.get("/-/ready", (ctx) => (c.isReady() ? ctx.text("ready") : ctx.text("not ready", 503)));
      app.post("/-/reload", async (ctx) => {
        try {
          await c.reload();
          return ctx.text("ok");
        } catch (err) {
          return ctx.text(String(err), 500);
        }
      });
      return app;
    },
    onListening: (u) => { url = u; },
    handleSignals: false,
    stop: stop.signal,
    ...spec,
  });
  await Promise.race([
    waitUntil("the role to listen", () => url !== "" || undefined, 10_000),
    exit.then((code) => { if (url === "") throw new Error(`exited ${code} before listening:\n${logs.join("\n")}`); }),
  ]);
  return { url, control, exit, stop, logs };
}

describe("runRole", () => {
  test("starts components in order with the loaded config, turns ready, stops them in reverse", async () => {
    const cfg = configFile("7");
    const events: string[] = [];
    let releaseB!: () => void;
    const bStarted = new Promise<void>((resolve) => { releaseB = resolve; });
    const slowB: Component<number> = { ...recorder("b", events), start: async (c) => { await bStarted; events.push(`b start ${c}`); } };
    const r = await run({ components: [recorder("a", events), slowB, recorder("c", events)] }, cfg.path);
    expect((await fetch(`${r.url}/-/ready`)).status).toBe(503);
    expect(events).toEqual(["a start 7"]);
    releaseB();
    await waitUntil("ready", async () => (await fetch(`${r.url}/-/ready`)).status === 200 || undefined, 10_000);
    expect(events).toEqual(["a start 7", "b start 7", "c start 7"]);
    r.stop.abort();
    expect(await r.exit).toBe(0);
    expect(events.slice(3)).toEqual(["c stop", "b stop", "a stop"]);
    expect(r.logs.join("\n")).toContain("See you next time!");
  });

  test("a reload reaches every component; a bad file or a refusing component keeps the old config", async () => {
    const cfg = configFile("1");
    const events: string[] = [];
    const loaded: [boolean, number | undefined][] = [];
    const r = await run({
      components: [recorder("a", events, { refuse: 3 }), recorder("b", events)],
      onConfigLoaded: (ok, config) => loaded.push([ok, config]),
    }, cfg.path);
    await waitUntil("ready", () => r.control.isReady() || undefined, 10_000);

    cfg.write("2");
    await r.control.reload();
    cfg.write("bad");
    await expect(r.control.reload()).rejects.toThrow("not a number");
    cfg.write("3");
    // a refuses; b still gets the config (as Prometheus runs every reloader), and the reload fails.
    await expect(r.control.reload()).rejects.toThrow("a refuses 3");
    cfg.write("500");
    await r.control.reload();
    expect(events.filter((e) => e.includes("reload"))).toEqual(["a reload 2", "b reload 2", "a reload 3", "b reload 3", "a reload 500", "b reload 500"]);
    expect(loaded).toEqual([[true, 1], [true, 2], [false, undefined], [false, undefined], [true, 500]]);
    expect(r.logs.join("\n")).toContain("500 is large");
    const res = await fetch(`${r.url}/-/reload`, { method: "POST" });
    expect(res.status).toBe(200);
    r.stop.abort();
    expect(await r.exit).toBe(0);
  });

  test("reloads run one at a time, in order, and wait for startup", async () => {
    const cfg = configFile("1");
    const events: string[] = [];
    const gates: (() => void)[] = [];
    let releaseStart!: () => void;
    const startGate = new Promise<void>((resolve) => { releaseStart = resolve; });
    const gated: Component<number> = {
      ...recorder("g", events, { gate: () => new Promise<void>((open) => gates.push(open)) }),
      start: async () => { await startGate; events.push("g start"); },
    };
    const r = await run({ components: [gated] }, cfg.path);
    cfg.write("2");
    const first = r.control.reload();
    const second = r.control.reload();
    await Bun.sleep(0);
    expect(events).toEqual([]);
    releaseStart();
    await waitUntil("the first reload to start", () => gates.length === 1 || undefined, 10_000);
    expect(events).toEqual(["g start", "g reload 2"]);
    // While the first reload is held open, the second must not begin.
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(gates.length).toBe(1);
    gates[0]!();
    await waitUntil("the second reload to start", () => gates.length === 2 || undefined, 10_000);
    gates[1]!();
    await Promise.all([first, second]);
    expect(events).toEqual(["g start", "g reload 2", "g reload 2"]);
    r.stop.abort();
    expect(await r.exit).toBe(0);
  });

  test("a component that fails to start: exit 1, the ones started before it stop in reverse", async () => {
    const cfg = configFile("4");
    const events: string[] = [];
    const logs: string[] = [];
    const code = await runRole<number>({
      logger: newLogger({ level: "info", write: (line) => logs.push(line) }),
      listen: { hostname: "127.0.0.1", port: 0, webConfigFile: "", idleTimeoutS: 10 },
      config: { file: cfg.path, load: loadNumber },
      app: () => new Hono(),
      components: [recorder("a", events), recorder("b", events), recorder("c", events, { failStart: true }), recorder("d", events)],
      handleSignals: false,
    });
    expect(code).toBe(1);
    expect(events).toEqual(["a start 4", "b start 4", "b stop", "a stop"]);
    expect(logs.join("\n")).toContain("c cannot start");
  });

  test("an unreadable config or web config ends startup before listening, with exit 1", async () => {
    const events: string[] = [];
    let listened = false;
    const base = {
      logger: nopLogger, app: () => new Hono(), components: [recorder("a", events)], handleSignals: false, onListening: () => { listened = true; },
    };
    expect(await runRole<number>({ ...base, listen: { hostname: "127.0.0.1", port: 0, webConfigFile: "", idleTimeoutS: 10 }, config: { file: join(dir, "missing.txt"), load: loadNumber } })).toBe(1);
    const badWeb = join(dir, "web-bad.yml");
    writeFileSync(badWeb, "basic_auth_users: [1, 2]\n");
    expect(await runRole<number>({ ...base, listen: { hostname: "127.0.0.1", port: 0, webConfigFile: badWeb, idleTimeoutS: 10 } })).toBe(1);
    expect(listened).toBe(false);
    expect(events).toEqual([]);
  });

  test("the web config's basic auth and headers cover every route of the role", async () => {
    const web = join(dir, "web.yml");
    const hash = await Bun.password.hash("secret", { algorithm: "bcrypt", cost: 4 });
    writeFileSync(web, `basic_auth_users:\n  alice: ${JSON.stringify(hash)}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`);
    const r = await run({ components: [], listen: { hostname: "127.0.0.1", port: 0, webConfigFile: web, idleTimeoutS: 10 } });
    const anonymous = await fetch(`${r.url}/-/ready`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Basic");
    const authed = await fetch(`${r.url}/-/ready`, { headers: { Authorization: `Basic ${btoa("alice:secret")}` } });
    expect(authed.status).toBe(200);
    expect(authed.headers.get("x-frame-options")).toBe("deny");
    expect((await fetch(`${r.url}/-/ready`, { headers: { Authorization: `Basic ${btoa("alice:wrong")}` } })).status).toBe(401);
    r.stop.abort();
    expect(await r.exit).toBe(0);
  });

  test("a role without a config file runs its components with undefined and reloads as a no-op", async () => {
    const events: string[] = [];
    const r = await run({ components: [recorder("a", events)] });
    await waitUntil("ready", () => r.control.isReady() || undefined, 10_000);
    await r.control.reload();
    r.stop.abort();
    expect(await r.exit).toBe(0);
    expect(events).toEqual(["a start undefined", "a stop"]);
  });
});

describe("Reloads", () => {
  test("a failed reload keeps the config in effect and later reloads still run", async () => {
    let next = 2;
    const reloads = new Reloads<number>(1, async (current) => {
      const n = next;
      if (n < 0) throw new Error(`refused ${n} (keeping ${current})`);
      return n;
    });
    reloads.start();
    await reloads.reload();
    expect(reloads.current).toBe(2);
    next = -1;
    await expect(reloads.reload()).rejects.toThrow("refused -1 (keeping 2)");
    expect(reloads.current).toBe(2);
    next = 9;
    await reloads.reload();
    expect(reloads.current).toBe(9);
  });
});
