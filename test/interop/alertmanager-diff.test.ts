/**
 * Differential test: the real Alertmanager (Debian's
 * /usr/bin/prometheus-alertmanager, 0.25) and promts's Alertmanager (in
 * process, through the API door) run the same routing tree
 * (fixtures/alertmanager/diff.yml: nested routes, match/match_re/matchers,
 * group_by incl. '...', continue, inhibition, active and inactive mute and
 * active time intervals, max_alerts, a short repeat_interval) and get the same API calls; their
 * answers, the webhook notifications they send and amtool's view of them
 * must agree once the values that legitimately differ are normalized:
 *
 * - times within a minute of now (updatedAt, a silence's startsAt clamped to
 *   now, endsAt of expiry) become "<now>";
 * - silence IDs become S1, S2, … in the order each instance first returned
 *   them (so "updated in place" versus "replaced by a new ID" still shows);
 * - the webhook URL paths name the instance (/real/…, /promts/…);
 * - `versionInfo` values and `uptime` (only their presence is compared).
 *
 * Where Alertmanager changed after 0.25 and promts follows the newer
 * release (it reports 0.27), the test asserts each side's answer instead of
 * equality: webhook URLs are secrets in `config.original` (`<secret>`, so
 * amtool 0.25's `config routes` cannot read promts's config and is not
 * compared), and deleting an unknown silence answers 404, not 500.
 * Alertmanager sorts silences with an unstable sort over a map, so silences
 * here never tie on the time they are sorted by. Alertmanager 0.25 drops the connection for a `[null]` alerts body (a nil
 * dereference), so only promts gets that one.
 *
 * Without the Alertmanager binary the tests pass with a loud SKIPPED
 * message, unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYAML } from "yaml";
import { Alertmanager, type WebhookMessage } from "../../src/alertmanager/index.ts";
import { alertmanagerWebApp } from "../../src/server/index.ts";
import { checkAlertmanagerConfigFiles } from "../../src/cli/index.ts";
import { loadAlertmanagerConfigFile } from "../../src/config/index.ts";
import { Registry } from "../../src/model/index.ts";
import { freePort, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";
import { peerAvailable } from "../support/peers.ts";

const ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager";
const amtool = Bun.which("amtool");
const EXTERNAL_URL = "http://alertmanager.example:9093";
const FIXTURE = join(import.meta.dir, "fixtures/alertmanager/diff.yml");
/** Each step polls both instances; generous for a loaded 2-core machine. */
const STEP_TIMEOUT_MS = 30_000;

function available(): boolean {
  return peerAvailable(existsSync(ALERTMANAGER_BINARY), ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} not installed (apt-get install prometheus-alertmanager)`);
}

type Instance = "real" | "promts";
const INSTANCES: Instance[] = ["real", "promts"];

/** A notification the recorder received. */
interface Notification {
  receiver: string;
  body: WebhookMessage;
}

/** Everything one side of the comparison holds. */
interface Side {
  url: string;
  notifications: Notification[];
  /** Silence ID → S1, S2, … in the order this instance first returned it. */
  silenceIDs: Map<string, string>;
}

const sides = {} as Record<Instance, Side>;
const cleanups: (() => void | Promise<void>)[] = [];
let dir = "";
let skip = false;
let realChild: Child | undefined;

/** The config text for one instance: webhooks under /<instance>/<receiver> on the recorder. */
function configFor(instance: Instance, recorderPort: number): string {
  return readFileSync(FIXTURE, "utf8").replaceAll("RECORDER_PORT", String(recorderPort)).replaceAll("INSTANCE", instance);
}

beforeAll(async () => {
  if (!available()) {
    skip = true;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "promts-am-diff-"));
  for (const instance of INSTANCES) sides[instance] = { url: "", notifications: [], silenceIDs: new Map() };
  const recorder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const [, instance, receiver] = new URL(req.url).pathname.split("/");
      const side = sides[instance as Instance];
      if (!side || !receiver) return new Response("unknown path", { status: 404 });
      side.notifications.push({ receiver, body: (await req.json()) as WebhookMessage });
      return new Response("");
    },
  });
  cleanups.push(() => recorder.stop(true));

  const realConfig = join(dir, "real.yml");
  writeFileSync(realConfig, configFor("real", recorder.port!));
  const realPort = freePort();
  realChild = spawnChild("alertmanager", [
    ALERTMANAGER_BINARY, `--config.file=${realConfig}`, `--storage.path=${join(dir, "real-data")}`,
    `--web.listen-address=127.0.0.1:${realPort}`, "--cluster.listen-address=", `--web.external-url=${EXTERNAL_URL}`,
  ]);
  sides.real.url = `http://127.0.0.1:${realPort}`;

  const promtsConfig = join(dir, "promts.yml");
  writeFileSync(promtsConfig, configFor("promts", recorder.port!));
  const loaded = loadAlertmanagerConfigFile(promtsConfig);
  const registry = new Registry();
  const am = new Alertmanager({
    config: loaded.config, configText: loaded.text, storagePath: join(dir, "promts-data"), externalURL: EXTERNAL_URL, registry,
  });
  const app = alertmanagerWebApp({
    alertmanager: () => am, registry, reload: async () => undefined,
    versionInfo: { branch: "", buildDate: "", buildUser: "", goVersion: "", revision: "", version: "0.27.0" },
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  cleanups.push(async () => {
    server.stop(true);
    await am.stop();
  });
  sides.promts.url = `http://127.0.0.1:${server.port}`;
  await waitForOK(`${sides.real.url}/-/ready`, realChild);
});

afterAll(async () => {
  await realChild?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const NEAR_NOW_MS = 60_000;
/** global.resolve_timeout of the fixture: the end of alerts posted without one. */
const RESOLVE_TIMEOUT_MS = 300_000;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Replaces silence IDs (also inside strings) and times near now; see the module comment. */
function normalize(value: unknown, side: Side): unknown {
  if (typeof value === "string") {
    if (TIME_RE.test(value) && Math.abs(Date.parse(value) - Date.now()) < NEAR_NOW_MS) return "<now>";
    if (TIME_RE.test(value) && Math.abs(Date.parse(value) - Date.now() - RESOLVE_TIMEOUT_MS) < NEAR_NOW_MS) return "<now+resolve_timeout>";
    let out = value;
    for (const [id, name] of side.silenceIDs) out = out.replaceAll(id, name);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, side));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "updatedAt" ? "<updatedAt>" : normalize(v, side)]));
  }
  return value;
}

/** An answer reduced to what is compared: status, content type family and the (parsed) body. */
interface Answer {
  status: number;
  json: boolean;
  body: unknown;
}

async function call(side: Side, method: string, path: string, body?: string): Promise<Answer> {
  const res = await fetch(`${side.url}${path}`, {
    method, body, headers: body === undefined ? {} : { "Content-Type": "application/json" },
  });
  const text = await res.text();
  const json = (res.headers.get("content-type") ?? "").includes("application/json");
  let parsed: unknown = text;
  if (json && text !== "") parsed = JSON.parse(text);
  const silenceID = (parsed as { silenceID?: unknown } | null)?.silenceID;
  if (typeof silenceID === "string" && !side.silenceIDs.has(silenceID)) side.silenceIDs.set(silenceID, `S${side.silenceIDs.size + 1}`);
  return { status: res.status, json: json || text === "", body: normalize(parsed, side) };
}

/** Sends the same request to both instances (concurrently) and returns both answers. */
async function both(method: string, path: string, body?: string): Promise<Record<Instance, Answer>> {
  const [real, promts] = await Promise.all([call(sides.real, method, path, body), call(sides.promts, method, path, body)]);
  return { real, promts };
}

/** The paths where `a` and `b` differ, with both values. */
function differences(a: unknown, b: unknown, path = "$"): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}: length real ${a.length} ≠ promts ${b.length}: real ${JSON.stringify(a)} promts ${JSON.stringify(b)}`];
    return a.flatMap((v, i) => differences(v, b[i], `${path}[${i}]`));
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      if (!(k in a)) return [`${path}.${k}: only promts has it: ${JSON.stringify(b[k])}`];
      if (!(k in b)) return [`${path}.${k}: only real has it: ${JSON.stringify(a[k])}`];
      return differences(a[k], b[k], `${path}.${k}`);
    });
  }
  return Object.is(a, b) ? [] : [`${path}: real ${JSON.stringify(a)} ≠ promts ${JSON.stringify(b)}`];
}

/** Runs requests against both and collects every difference, labelled by request. */
async function compareRequests(requests: [method: string, path: string, body?: string][]): Promise<string[]> {
  const diffs: string[] = [];
  for (const [method, path, body] of requests) {
    const answers = await both(method, path, body);
    diffs.push(...differences(answers.real, answers.promts).map((d) => `${method} ${path} ${body ?? ""}: ${d}`));
  }
  return diffs;
}

const BASE = Math.floor(Date.now() / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const STARTS = iso(BASE - 3_600_000);
const ENDS = iso(BASE + 3_600_000);

function alert(labels: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { labels, annotations: { summary: `${labels.alertname} is happening` }, startsAt: STARTS, endsAt: ENDS, ...extra };
}

const ALERTS = [
  alert({ alertname: "DBDown", team: "db", cluster: "c1", severity: "critical", instance: "db1" }),
  alert({ alertname: "DBSlow", team: "db", cluster: "c1", severity: "warning" }),
  alert({ alertname: "DBSlow", team: "db", cluster: "c2", severity: "warning" }),
  alert({ alertname: "WebDown", service: "web", severity: "critical", cluster: "c3" }, { generatorURL: "http://prom:9090/graph?g0.expr=up" }),
  alert({ alertname: "WebSlow", service: "web", severity: "warning", cluster: "c3" }),
  alert({ alertname: "WebSlow", service: "web", severity: "warning", cluster: "c4" }),
  alert({ alertname: "WebDown", service: "frontend" }, { annotations: { summary: "front", runbook: "<a href=x>&</a>" } }),
  alert({ alertname: "OpsThing", team: "ops" }),
  alert({ alertname: "Ops2Thing", team: "ops2" }),
  alert({ alertname: "Ops3Thing", team: "ops3" }),
  alert({ alertname: "Ops4Thing", team: "ops4" }),
  alert({ alertname: "Quiet", team: "web2" }),
  alert({ alertname: "DBOld", team: "db", cluster: "c1" }, { endsAt: iso(BASE - 600_000) }),
  { labels: { alertname: "NoTimes", team: "none2" } },
  { labels: { alertname: "OnlyStart", team: "none2" }, startsAt: STARTS },
];

/**
 * The inhibited alerts, posted once both Alertmanagers have notified about
 * the others: Alertmanager's inhibitor learns of alerts asynchronously, and
 * alerts that started long ago flush at once, so posting sources and
 * targets together would race.
 */
const INHIBITION_TARGETS = ALERTS.filter((a) => (a.labels as Record<string, string>).severity === "warning");
const FIRST_ALERTS = ALERTS.filter((a) => !INHIBITION_TARGETS.includes(a));

const OLD_MATCHERS = [
  { name: "alertname", value: "Old.*", isRegex: true },
  { name: "team", value: "nobody", isRegex: false, isEqual: false },
];

function silence(matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ matchers, startsAt: iso(BASE - 60_000), endsAt: iso(BASE + 7_200_000), createdBy: "tester", comment: "diff", ...extra });
}

describe("promts Alertmanager versus Alertmanager 0.25", () => {
  test("status and receivers", async () => {
    if (skip) return;
    const { real, promts } = await both("GET", "/api/v2/status");
    const shape = (a: Answer) => {
      const s = a.body as { cluster: unknown; config: { original: string }; uptime: unknown; versionInfo: Record<string, unknown> };
      // Webhook URLs are secrets since Alertmanager 0.26.
      const original = parseYAML(s.config.original.replace(/(\n\s*- )?url: http:\/\/\S+/g, "$1url: <secret>")) as unknown;
      return { status: a.status, cluster: s.cluster, original, uptime: typeof s.uptime, versionInfo: Object.keys(s.versionInfo).sort() };
    };
    expect(differences(shape(real), shape(promts))).toEqual([]);
    expect(await compareRequests([["GET", "/api/v2/receivers"]])).toEqual([]);
  }, STEP_TIMEOUT_MS);

  test("silences: create, validate, update, get, delete", async () => {
    if (skip) return;
    const unknownID = "0b9e8c4e-1d0e-4a5a-9a3e-52b2d0c0a001";
    const diffs = await compareRequests([
      ["POST", "/api/v2/silences", silence([{ name: "team", value: "web2", isRegex: false }])],
      ["POST", "/api/v2/silences", silence(OLD_MATCHERS, { endsAt: iso(BASE + 3_000_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "alertname", value: "Old.*", isRegex: true, isEqual: false }], { startsAt: iso(BASE + 3_500_000), endsAt: iso(BASE + 6_000_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { startsAt: iso(BASE + 3_600_000), endsAt: iso(BASE + 7_000_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { endsAt: iso(BASE - 120_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { startsAt: iso(BASE + 60_000), endsAt: iso(BASE + 30_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "(", isRegex: true }])],
      ["POST", "/api/v2/silences", silence([{ name: "", value: "y", isRegex: false }])],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "", isRegex: false }])],
      ["POST", "/api/v2/silences", silence([])],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "b*", isRegex: true }])],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "", isRegex: false, isEqual: false }], { startsAt: iso(BASE + 3_610_000), endsAt: iso(BASE + 5_000_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "", isRegex: true }, { name: "y", value: ".+", isRegex: true }], { startsAt: iso(BASE + 3_620_000), endsAt: iso(BASE + 5_100_000) })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y" } as never])],
      ["POST", "/api/v2/silences", "{"],
      ["POST", "/api/v2/silences", "[]"],
      ["POST", "/api/v2/silences", JSON.stringify({ matchers: [{ name: "x", value: "y", isRegex: false }] })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { id: unknownID })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { startsAt: "yesterday" })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { startsAt: "2024-01-01T25:00:00Z" })],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { startsAt: "1700000000" })],
      ["POST", "/api/v2/silences", silence([{ name: 5, value: "y", isRegex: false } as never])],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: "yes" } as never])],
      ["POST", "/api/v2/silences", silence([5 as never])],
      ["POST", "/api/v2/silences", silence([{ name: "x", value: "y", isRegex: false }], { comment: 5 })],
      ["POST", "/api/v2/silences", '{"id":5}'],
      ["POST", "/api/v2/silences", '"text"'],
      ["POST", "/api/v2/silences", '{"matchers": ['],
      ["GET", "/api/v2/silences"],
    ]);
    const ids = () => [...sides.real.silenceIDs.keys()];
    const promtsIDs = () => [...sides.promts.silenceIDs.keys()];
    const realS2 = ids()[1]!;
    const promtsS2 = promtsIDs()[1]!;
    const pair = async (method: string, pathOf: (id: string) => string, bodyOf?: (id: string) => string) => {
      const [real, promts] = await Promise.all([
        call(sides.real, method, pathOf(realS2), bodyOf?.(realS2)),
        call(sides.promts, method, pathOf(promtsS2), bodyOf?.(promtsS2)),
      ]);
      diffs.push(...differences(real, promts).map((d) => `${method} ${pathOf("S2")}: ${d}`));
    };
    const s2 = (extra: Record<string, unknown>) => (id: string) => silence(OLD_MATCHERS, { id, ...extra });
    await pair("POST", () => "/api/v2/silences", s2({ endsAt: iso(BASE + 3_000_000), comment: "changed comment" }));
    const realPending = ids()[2]!;
    const promtsPending = promtsIDs()[2]!;
    const pendingUpdate = (id: string) => silence([{ name: "alertname", value: "Old.*", isRegex: true, isEqual: false }], { id, startsAt: iso(BASE + 3_400_000), endsAt: iso(BASE + 6_100_000) });
    const [realUpdated, promtsUpdated] = await Promise.all([
      call(sides.real, "POST", "/api/v2/silences", pendingUpdate(realPending)),
      call(sides.promts, "POST", "/api/v2/silences", pendingUpdate(promtsPending)),
    ]);
    diffs.push(...differences(realUpdated, promtsUpdated).map((d) => `update pending S3: ${d}`));
    await pair("GET", (id) => `/api/v2/silence/${id}`);
    await pair("POST", () => "/api/v2/silences", s2({ endsAt: iso(BASE + 3_100_000), comment: "longer" }));
    await pair("DELETE", (id) => `/api/v2/silence/${id}`);
    await pair("DELETE", (id) => `/api/v2/silence/${id}`);
    await pair("GET", (id) => `/api/v2/silence/${id}`);
    await pair("POST", () => "/api/v2/silences", s2({ endsAt: iso(BASE + 3_200_000), comment: "revived" }));
    diffs.push(...await compareRequests([
      ["GET", `/api/v2/silence/${unknownID}`],
      ["GET", "/api/v2/silence/not-a-uuid"],
      ["DELETE", "/api/v2/silence/not-a-uuid"],
      ["GET", "/api/v2/silences"],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent('team="web2"')}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("team=web2")}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent('alertname=~"Old.*"')}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("x=y")}&filter=${encodeURIComponent("team=web2")}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("{bad")}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("alertname=~O.*")}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("x!=y")}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent('team!=""')}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent('team=""')}`],
      ["GET", `/api/v2/silences?filter=${encodeURIComponent("team!~nob.*")}`],
    ]));
    expect(diffs).toEqual([]);
    // Alertmanager 0.26 made this 404; 0.25 answers 500 "silence not found".
    const deleted = await both("DELETE", `/api/v2/silence/${unknownID}`);
    expect(deleted.real).toEqual({ status: 500, json: true, body: "silence not found" });
    expect(deleted.promts).toEqual({ status: 404, json: true, body: "" });
  }, STEP_TIMEOUT_MS);

  test("posting alerts: valid, partially invalid, malformed", async () => {
    if (skip) return;
    const diffs = await compareRequests([["POST", "/api/v2/alerts", JSON.stringify(FIRST_ALERTS)]]);
    const notified = (side: Side) => ["db-critical", "team-web"].every((r) => side.notifications.some((n) => n.receiver === r));
    await waitUntil("both to notify about the inhibiting alerts", () => INSTANCES.every((i) => notified(sides[i])), STEP_TIMEOUT_MS / 2, realChild ? [realChild] : []);
    diffs.push(...await compareRequests([
      ["POST", "/api/v2/alerts", JSON.stringify(INHIBITION_TARGETS)],
      // Starting now, so group_wait (1s) holds the first notification back until after the update; an
      // alert that started long ago flushes at once and would race with it.
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "Updated", team: "none3" }, { startsAt: iso(Math.ceil(Date.now() / 1000) * 1000) })])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "Updated", team: "none3" }, { annotations: { summary: "updated" }, startsAt: iso(Math.ceil(Date.now() / 1000) * 1000 - 1000) })])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "Extra", team: "none" }), alert({ "0bad": "x" })])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({})])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "Backwards" }, { startsAt: ENDS, endsAt: STARTS })])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "BadAnnotation" }, { annotations: { "a-b": "x" } })])],
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "EmptyValue", empty: "" })])],
      ["POST", "/api/v2/alerts", "{"],
      ["POST", "/api/v2/alerts", "{}"],
      ["POST", "/api/v2/alerts", "[1]"],
      ["POST", "/api/v2/alerts", "[{}]"],
      ["POST", "/api/v2/alerts", '[{"labels":"x"}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":1}}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"startsAt":"soon"}]'],
      ["POST", "/api/v2/alerts", ""],
      ["POST", "/api/v2/alerts", "[]"],
      ["POST", "/api/v2/alerts", "[5]"],
      ["POST", "/api/v2/alerts", "nonsense"],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"}'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"annotations":[]}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"generatorURL":5}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"generatorURL":"not a url"}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"startsAt":"2024-13-01T00:00:00Z"}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"startsAt":5}]'],
      ["POST", "/api/v2/alerts", '[{"labels":{"alertname":"Trailing"},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T01:00:00Z"}] x'],
      // Go's encoding/json stops at 10000 levels of nesting.
      ["POST", "/api/v2/alerts", "[".repeat(100_000) + "]".repeat(100_000)],
      ["POST", "/api/v2/alerts", '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000)],
      ["POST", "/api/v2/alerts", "[".repeat(10_000) + "]".repeat(10_000)],
      ["POST", "/api/v2/alerts", "[".repeat(10_001) + "]".repeat(10_001)],
      ["POST", "/api/v2/alerts", '[{"labels":{"a":"b"},"annotations":{"x":' + "[".repeat(9_998) + "]".repeat(9_998) + "}}]"],
      ["POST", "/api/v2/alerts", '[{"labels":' + '{"a":'.repeat(100_000) + '"x"' + "}".repeat(100_000) + "}]"],
      // Escaped lone surrogates decode as U+FFFD, as Go's decoder does.
      ["POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "Surrogate", team: "none" })]).replace('"none"', '"n\\ud800"')],
    ]));
    expect(diffs).toEqual([]);
    const nullAlert = await call(sides.promts, "POST", "/api/v2/alerts", "[null]");
    expect(nullAlert).toEqual({ status: 422, json: true, body: { code: 602, message: "0.labels in body is required" } });
  }, STEP_TIMEOUT_MS);

  test("listing alerts and groups with filters", async () => {
    if (skip) return;
    // Inhibition needs the source alert seen by the inhibitor, which Alertmanager does asynchronously.
    await waitUntil("the real Alertmanager to inhibit DBSlow in c1", async () => {
      const alerts = (await call(sides.real, "GET", `/api/v2/alerts?filter=${encodeURIComponent("cluster=c1")}&filter=alertname=DBSlow`)).body as { status: { state: string } }[];
      return alerts[0]?.status.state === "suppressed";
    }, STEP_TIMEOUT_MS / 2, realChild ? [realChild] : []);
    const q = (...params: string[]) => params.map((p) => {
      const [k, ...v] = p.split("=");
      return `${k}=${encodeURIComponent(v.join("="))}`;
    }).join("&");
    const paths = [
      "",
      q('filter=team="db"'),
      q("filter=team=db", "filter=severity!=critical"),
      q('filter=alertname=~"DB.*"'),
      q("filter=alertname!~DB.*"),
      q('filter=service=~"web|frontend"'),
      q("filter=nosuch=value"),
      q('filter=team=""'),
      q("filter={bad"),
      q('filter={alertname="DBDown"}'),
      q('filter=alertname="DBDown",team="db"'),
      q("filter= team = db "),
      q('filter=team="d\\"b"'),
      q("filter=team=~db|ops"),
      q("filter=alertname=~(DB"),
      q("filter=team"),
      q("filter==db"),
      q("filter=0team=db"),
      q("active=false"),
      q("silenced=false"),
      q("inhibited=false"),
      q("unprocessed=false"),
      q("active=false", "silenced=false"),
      q("silenced=maybe"),
      q("receiver=team-.*"),
      q("receiver=default"),
      q("receiver=team"),
      q("receiver=(("),
    ];
    const diffs = await compareRequests(paths.map((p) => ["GET", `/api/v2/alerts${p === "" ? "" : `?${p}`}`] as [string, string]));
    diffs.push(...await compareRequests(paths.map((p) => ["GET", `/api/v2/alerts/groups${p === "" ? "" : `?${p}`}`] as [string, string])));
    expect(diffs).toEqual([]);
  }, STEP_TIMEOUT_MS);

  test("webhook notifications", async () => {
    if (skip) return;
    // Resolving before the firing notifications went out would leave nothing to notify about: wait for them first.
    const firingSent = (side: Side) => ["default", "team-db"].every((r) => side.notifications.some((n) =>
      n.receiver === r && n.body.alerts.some((a) => a.labels.alertname === "DBSlow" && a.labels.cluster === "c2")));
    await waitUntil("both to notify about DBSlow in c2", () => INSTANCES.every((i) => firingSent(sides[i])), STEP_TIMEOUT_MS / 3, realChild ? [realChild] : []);
    const resolvedAt = iso(BASE - 1000);
    await both("POST", "/api/v2/alerts", JSON.stringify([alert({ alertname: "DBSlow", team: "db", cluster: "c2", severity: "warning" }, { endsAt: resolvedAt })]));
    const resolvedSent = (side: Side) => side.notifications.some((n) => n.receiver === "team-db" && n.body.status === "resolved");
    const repeated = (side: Side) => side.notifications.filter((n) => n.receiver === "not-muted").length >= 2;
    await waitUntil(
      "both to send the resolved DBSlow notification and repeat not-muted's",
      () => INSTANCES.every((i) => resolvedSent(sides[i]) && repeated(sides[i])),
      STEP_TIMEOUT_MS - 5000, realChild ? [realChild] : [],
    );
    const view = (side: Side) => {
      const byReceiver: Record<string, unknown[]> = {};
      for (const n of side.notifications) {
        const body = normalize(JSON.parse(JSON.stringify(n.body).replaceAll("/real/", "/X/").replaceAll("/promts/", "/X/")), side) as WebhookMessage;
        (byReceiver[n.receiver] ??= []).push(body);
      }
      // Groups of one receiver flush in any order; a group's own sequence is kept (the sort is stable).
      // How many repeats have gone out depends on when we look, so repeated identical notifications count once.
      return Object.fromEntries(Object.entries(byReceiver).map(([receiver, list]) => {
        const key = (m: unknown) => (m as WebhookMessage).groupKey;
        const sorted = [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        return [receiver, sorted.filter((m, i) => i === 0 || JSON.stringify(m) !== JSON.stringify(sorted[i - 1]))];
      }));
    };
    const real = view(sides.real);
    // The comparison means something only if the scenario played out: the muted route sent nothing, max_alerts truncated.
    expect(Object.keys(real).sort()).toEqual(["db-critical", "default", "not-muted", "team-db", "team-web"]);
    expect((real["team-web"] as WebhookMessage[]).map((m) => m.truncatedAlerts)).toContain(1);
    expect(differences(real, view(sides.promts))).toEqual([]);
  }, STEP_TIMEOUT_MS);

  test("amtool reads both alike", async () => {
    if (skip || !amtool) return;
    // Asynchronous: promts answers from this process, so a synchronous spawn would block it.
    const runAmtool = async (side: Side, args: string[]) => {
      const p = Bun.spawn([amtool, `--alertmanager.url=${side.url}`, ...args], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
      let out = await new Response(p.stdout).text();
      await p.exited;
      for (const [id, name] of side.silenceIDs) out = out.replaceAll(id, name);
      out = out.replaceAll("/real/", "/X/").replaceAll("/promts/", "/X/");
      return { code: p.exitCode, stdout: args.includes("json") ? normalize(JSON.parse(out), side) : out };
    };
    const diffs: string[] = [];
    for (const args of [
      ["alert", "query"],
      ["alert", "query", "-o", "extended"],
      ["alert", "query", "team=db"],
      ["alert", "query", "--silenced", "--inhibited"],
      ["alert", "query", "-o", "json"],
      ["alert", "query", "--receiver=team-.*"],
      ["silence", "query"],
      ["silence", "query", "-o", "extended"],
      ["silence", "query", "team=web2"],
      ["silence", "query", "-q"],
      ["silence", "query", "--expired", "-q"],
    ]) {
      diffs.push(...differences(await runAmtool(sides.real, args), await runAmtool(sides.promts, args)).map((d) => `amtool ${args.join(" ")}: ${d}`));
    }
    expect(diffs).toEqual([]);
  }, STEP_TIMEOUT_MS);

  test("amtool check-config and promts's check agree on time intervals", async () => {
    if (skip || !amtool) return;
    const specs = [
      "weekdays: ['sunday:saturday']", "weekdays: ['monday:sunday']", "weekdays: ['funday']", "weekdays: ['a:b:c']",
      "months: ['may:march']", "months: ['foo']", "months: ['13']", "years: ['2002:2001']", "years: ['abc']",
      "days_of_month: ['5:3']", "days_of_month: ['-3:-5']", "days_of_month: ['0']", "days_of_month: ['3:-5']",
      "times: [{start_time: '10:00', end_time: '09:00'}]", "times: [{start_time: '25:00', end_time: '26:00'}]",
      "location: 'Mars/Base'",
    ];
    const diffs: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const path = join(dir, `ti-${i}.yml`);
      writeFileSync(path, `route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals:\n  - name: t\n    time_intervals:\n      - ${spec}\n`);
      const p = Bun.spawn([amtool, "check-config", path], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
      const real = (await new Response(p.stdout).text()).split("\n")[0]!;
      await p.exited;
      const lines: string[] = [];
      checkAlertmanagerConfigFiles([path], (line) => lines.push(line));
      // promts prefixes the reason with FILE:LINE:COL and the field; the reason itself must be Alertmanager's.
      const promts = lines[0]!.replace(/FAILED: .*: field [^:]+: /, "FAILED: ");
      if (promts !== real) diffs.push(`${spec}: real ${JSON.stringify(real)} ≠ promts ${JSON.stringify(promts)}`);
    }
    expect(diffs).toEqual([]);
  }, STEP_TIMEOUT_MS);
});
