/**
 * --web.max-connections: at most that many requests are handled at once;
 * the others wait in arrival order and are served when a slot frees (as
 * connections wait in the accept queue of Prometheus's LimitListener); a
 * client that gives up while waiting gives its turn away.
 */
import { afterEach, expect, test } from "bun:test";
import { nopLogger } from "../../src/log/index.ts";
import { limitInFlight, listen, type Listener } from "../../src/server/index.ts";
import { pollUntil } from "../support/wait.ts";

let listener: Listener | undefined;
afterEach(async () => {
  await listener?.stop();
  listener = undefined;
});

/** A handler whose /block/<n> requests wait until released; records which started. */
function gatedHandler() {
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const fetch = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    started.push(path);
    if (path.startsWith("/block/")) await new Promise<void>((resolve) => gates.set(path, resolve));
    return new Response(`done ${path}`);
  };
  const release = (path: string) => {
    const g = gates.get(path);
    if (!g) throw new Error(`${path} is not waiting`);
    g();
  };
  return { fetch, started, release };
}

test("requests beyond --web.max-connections wait for a slot and are then served", async () => {
  const h = gatedHandler();
  listener = listen(h.fetch, { hostname: "127.0.0.1", port: 0, webConfigFile: "", idleTimeoutS: 30, maxConnections: 2 }, undefined, nopLogger)!;
  const get = (path: string) => fetch(`${listener!.url}${path}`).then((r) => r.text());
  const a = get("/block/a");
  const b = get("/block/b");
  await pollUntil("two requests running", () => h.started.length === 2);
  const c = get("/healthy");
  const d = get("/block/d");
  // Both are queued; give the server a chance to (wrongly) start them.
  await pollUntil("the extra requests to reach the server", async () => {
    const r = await fetch(`${listener!.url}/metrics-probe`, { signal: AbortSignal.timeout(50) }).catch(() => undefined);
    return r === undefined;
  });
  expect(h.started.sort()).toEqual(["/block/a", "/block/b"]);
  h.release("/block/a");
  expect(await a).toBe("done /block/a");
  expect(await c).toBe("done /healthy");
  await pollUntil("d admitted", () => h.started.includes("/block/d"));
  // The probe that gave up while waiting was never handled.
  expect(h.started).not.toContain("/metrics-probe");
  h.release("/block/b");
  h.release("/block/d");
  expect(await b).toBe("done /block/b");
  expect(await d).toBe("done /block/d");
  expect(await get("/after")).toBe("done /after");
});

test("without a limit every request runs at once", async () => {
  const h = gatedHandler();
  listener = listen(h.fetch, { hostname: "127.0.0.1", port: 0, webConfigFile: "", idleTimeoutS: 30, maxConnections: 0 }, undefined, nopLogger)!;
  const pending = Array.from({ length: 5 }, (_, i) => fetch(`${listener!.url}/block/${i}`).then((r) => r.text()));
  await pollUntil("five requests running", () => h.started.length === 5);
  for (let i = 0; i < 5; i++) h.release(`/block/${i}`);
  expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4].map((i) => `done /block/${i}`));
});

test("waiting requests are admitted in arrival order; one aborted while waiting is skipped", async () => {
  const h = gatedHandler();
  const limited = limitInFlight(h.fetch, 1);
  const req = (path: string, signal?: AbortSignal) => new Request(`http://x${path}`, { signal });
  const first = limited(req("/block/1"));
  const gone = new AbortController();
  const queued = ["/q/a", "/q/b", "/q/c"].map((p) => limited(req(p, p === "/q/b" ? gone.signal : undefined)));
  expect(limited.inFlight()).toBe(1);
  expect(limited.waiting()).toBe(3);
  gone.abort();
  expect(limited.waiting()).toBe(2);
  h.release("/block/1");
  await first;
  const answers = await Promise.all(queued);
  expect(answers.map((r) => r.status)).toEqual([200, 499, 200]);
  expect(h.started).toEqual(["/block/1", "/q/a", "/q/c"]);
  expect(limited.inFlight()).toBe(0);
});
