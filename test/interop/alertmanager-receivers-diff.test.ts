/**
 * Differential test of the receiver integrations: the real Alertmanager
 * 0.25 (Debian's /usr/bin/prometheus-alertmanager) and promts's
 * Alertmanager (in process, through its API door) load the same
 * alertmanager.yml (fixtures/alertmanager/receivers.yml), whose slack,
 * pagerduty, opsgenie, victorops, wechat, telegram, webex, discord and sns
 * integrations all point at one local capture server (under /real/… and
 * /promts/…). The same alerts go to both, first firing, then resolved;
 * the requests each integration makes must agree on method, path, query,
 * headers and body (JSON compared field by field, form bodies parameter by
 * parameter).
 *
 * Not compared: Date, User-Agent and transport headers (Accept,
 * Accept-Encoding, Connection, Content-Length: Go's JSON encoder ends
 * bodies with a newline), SNS's X-Amz-Date and the signature part of its
 * Authorization (both depend on the second the request was signed).
 * Pushover's and PagerDuty v1's endpoints are fixed URLs in Alertmanager
 * 0.25, so those two are checked in test/alertmanager/notifiers/ instead.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYAML } from "yaml";
import { Alertmanager } from "../../src/alertmanager/index.ts";
import { alertmanagerWebApp } from "../../src/server/index.ts";
import { loadAlertmanagerConfigFile } from "../../src/config/index.ts";
import { Registry } from "../../src/model/index.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager";
const FIXTURE = join(import.meta.dir, "fixtures/alertmanager/receivers.yml");
const EXTERNAL_URL = "http://alertmanager.example:9093";
const INTEGRATIONS = ["slack", "pagerduty", "opsgenie", "victorops", "wechat", "telegram", "webex", "discord", "sns"] as const;
/** Headers that legitimately differ between Go's and Bun's HTTP clients, or with the clock. */
const IGNORED_HEADERS = new Set(["date", "user-agent", "accept", "accept-encoding", "connection", "content-length", "host", "x-amz-date"]);

type Instance = "real" | "promts";

interface Captured {
  integration: string;
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  body: unknown;
}

const captured: Record<Instance, Captured[]> = { real: [], promts: [] };
const cleanups: (() => void | Promise<void>)[] = [];
let dir = "";
let skip = false;
let realChild: Child | undefined;
const urls = {} as Record<Instance, string>;

function parseBody(contentType: string, text: string): unknown {
  if (contentType.includes("json") && text.trim() !== "") return JSON.parse(text);
  if (contentType.includes("x-www-form-urlencoded")) {
    const out: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(text)) (out[k] ??= []).push(v);
    return out;
  }
  return text;
}

/** What the capture server answers, per integration, so each client accepts it. */
function answer(integration: string, path: string): Response {
  switch (integration) {
    case "telegram":
      return Response.json({ ok: true, result: { message_id: 1, date: 0, chat: { id: -1001, type: "group" } } });
    case "wechat":
      return path.endsWith("/gettoken") ? Response.json({ access_token: "wx-token", errcode: 0 }) : Response.json({ errcode: 0, errmsg: "ok" });
    case "sns":
      return new Response(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`,
        { headers: { "content-type": "text/xml" } },
      );
    case "opsgenie":
    case "pagerduty":
      return Response.json({ status: "success", message: "Event processed", result: "request will be processed" }, { status: 202 });
    default:
      return new Response("ok", { headers: { "content-type": "text/plain" } });
  }
}

function normalizeHeaders(h: Headers, integration: string): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    if (IGNORED_HEADERS.has(k)) return;
    out[k] = integration === "sns" && k === "authorization" ? v.replace(/Signature=[0-9a-f]+/, "Signature=<sig>").replace(/\/\d{8}\//, "/<day>/") : v;
  });
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Set when the alerts are first posted: an older start would make both Alertmanagers flush before the second alert is in (a race in Go's dispatcher). */
let STARTS = "";

function alerts(endsAt: string): Record<string, unknown>[] {
  const base = { alertname: "DiskFull", job: "node", severity: "critical" };
  return [
    { labels: { ...base, instance: "a:9100" }, annotations: { summary: `Disk <b>"full"</b> & more`, runbook: "http://runbooks/disk?x=1&y=2" }, startsAt: STARTS, endsAt, generatorURL: "http://prom:9090/graph?g0.expr=disk" },
    { labels: { ...base, instance: "b:9100" }, annotations: { summary: `Disk <b>"full"</b> & more`, runbook: "http://runbooks/disk?x=1&y=2" }, startsAt: STARTS, endsAt },
  ];
}

beforeAll(async () => {
  if (!peerAvailable(existsSync(ALERTMANAGER_BINARY), ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} not installed (apt-get install prometheus-alertmanager)`)) {
    skip = true;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "promts-am-receivers-"));
  const capture = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const [, instance, integration] = u.pathname.split("/");
      if ((instance !== "real" && instance !== "promts") || !integration) return new Response("unknown path", { status: 404 });
      const text = await req.text();
      const query: Record<string, string[]> = {};
      for (const [k, v] of u.searchParams) (query[k] ??= []).push(v);
      captured[instance].push({
        integration, method: req.method, path: u.pathname.slice(instance.length + 1), query,
        headers: normalizeHeaders(req.headers, integration), body: parseBody(req.headers.get("content-type") ?? "", text),
      });
      return answer(integration, u.pathname);
    },
  });
  cleanups.push(() => capture.stop(true));
  const configFor = (instance: Instance) => readFileSync(FIXTURE, "utf8").replaceAll("CAPTURE", `http://127.0.0.1:${capture.port}/${instance}`);

  const realConfig = join(dir, "real.yml");
  writeFileSync(realConfig, configFor("real"));
  const realPort = freePort();
  realChild = spawnChild("alertmanager", [
    ALERTMANAGER_BINARY, `--config.file=${realConfig}`, `--storage.path=${join(dir, "real-data")}`,
    `--web.listen-address=127.0.0.1:${realPort}`, "--cluster.listen-address=", `--web.external-url=${EXTERNAL_URL}`,
  ]);
  urls.real = `http://127.0.0.1:${realPort}`;

  const promtsConfig = join(dir, "promts.yml");
  writeFileSync(promtsConfig, configFor("promts"));
  const loaded = loadAlertmanagerConfigFile(promtsConfig);
  const registry = new Registry();
  const am = new Alertmanager({ config: loaded.config, configText: loaded.text, storagePath: join(dir, "promts-data"), externalURL: EXTERNAL_URL, registry });
  const app = alertmanagerWebApp({
    alertmanager: () => am, registry, reload: async () => undefined,
    versionInfo: { branch: "", buildDate: "", buildUser: "", goVersion: "", revision: "", version: "0.27.0" },
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  cleanups.push(async () => {
    server.stop(true);
    await am.stop();
  });
  urls.promts = `http://127.0.0.1:${server.port}`;
  await waitForOK(`${urls.real}/-/ready`, realChild);
}, 60_000);

afterAll(async () => {
  await realChild?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function post(body: unknown): Promise<void> {
  await Promise.all((["real", "promts"] as Instance[]).map(async (i) => {
    const res = await fetch(`${urls[i]}/api/v2/alerts`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
  }));
}

/** Requests of one integration, in arrival order. */
const of = (i: Instance, integration: string) => captured[i].filter((c) => c.integration === integration);

/** Waits until each instance has at least `n(integration)` requests for every integration. */
async function waitForRequests(n: (integration: string) => number): Promise<void> {
  await waitUntil("both Alertmanagers notified every integration", () =>
    INTEGRATIONS.every((g) => of("real", g).length >= n(g) && of("promts", g).length >= n(g)), 60_000, realChild ? [realChild] : []);
}

/** Firing: one request each, except OpsGenie (create + 2 updates) and WeChat (token + message). */
const FIRING_COUNT = (g: string) => (g === "opsgenie" ? 3 : g === "wechat" ? 2 : 1);

describe("receiver integrations send what Alertmanager 0.25 sends", () => {
  test("the effective config in /api/v2/status is the same, secrets as <secret>", async () => {
    if (skip) return;
    const original = async (i: Instance) => {
      const status = (await (await fetch(`${urls[i]}/api/v2/status`)).json()) as { config: { original: string } };
      return parseYAML(status.config.original.replaceAll(`/${i}/`, "/<instance>/"), { version: "1.1" }) as unknown;
    };
    const [real, promts] = [await original("real"), await original("promts")];
    expect(JSON.stringify(promts)).toContain("<secret>");
    expect(JSON.stringify(promts)).not.toContain("secret-example");
    expect(promts).toEqual(real);
  });

  test("firing, then resolved", async () => {
    if (skip) return;
    STARTS = iso(Date.now());
    await post(alerts(iso(Date.now() + 3_600_000)));
    await waitForRequests(FIRING_COUNT);
    // Resolved: every integration sends again (the WeChat token is cached; OpsGenie closes).
    await post(alerts(iso(Date.now() - 1000)));
    await waitForRequests((g) => FIRING_COUNT(g) + 1);
    for (const g of INTEGRATIONS) {
      const real = of("real", g);
      const promts = of("promts", g);
      expect({ integration: g, count: promts.length }).toEqual({ integration: g, count: real.length });
      for (let k = 0; k < real.length; k++) {
        const strip = ({ integration: _i, ...rest }: Captured) => rest;
        expect({ integration: g, request: k, ...strip(promts[k]!) }).toEqual({ integration: g, request: k, ...strip(real[k]!) });
      }
    }
  }, 120_000);
});
