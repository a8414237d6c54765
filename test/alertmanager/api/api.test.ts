/**
 * The API v2 sub-app against an in-memory Alertmanager on a manual clock:
 * JSON shapes, filters, the silence lifecycle and the error answers.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Alertmanager, fingerprint, ManualClock } from "../../../src/alertmanager/index.ts";
import {
  alertmanagerAPIv2, APIError, parseDateTime, parseFilterMatcher, readBodyText,
  type GettableAlert, type GettableSilence, type VersionInfo,
} from "../../../src/alertmanager/api/index.ts";
import { alertmanagerWebApp } from "../../../src/server/index.ts";
import { parseAlertmanagerConfig } from "../../../src/config/index.ts";
import { labelsFromRecord, Registry } from "../../../src/model/index.ts";

const START = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const VERSION: VersionInfo = { branch: "main", buildDate: "d", buildUser: "u", goVersion: "bun", revision: "r", version: "0.27.0" };

const CONFIG = `
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: team-db
      matchers: ['team="db"']
receivers:
  - name: default
  - name: team-db
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
`;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function setup(yaml = CONFIG) {
  const clock = new ManualClock(START);
  const am = new Alertmanager({ config: parseAlertmanagerConfig(yaml, "am.yml").config, clock, registry: new Registry() });
  stops.push(() => am.stop());
  const app = alertmanagerAPIv2({ alertmanager: () => am, versionInfo: VERSION });
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, text, json: text === "" ? undefined : JSON.parse(text) };
  };
  return { am, clock, app, call };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("alerts", () => {
  test("posted alerts come back as gettableAlert with Alertmanager's keys, times and receivers", async () => {
    const { call } = setup();
    const post = await call("POST", "/alerts", [
      { labels: { alertname: "DiskFull", team: "db", empty: "" }, annotations: { summary: "disk full" }, generatorURL: "http://prom/graph" },
    ]);
    expect(post.status).toBe(200);
    expect(post.text).toBe("");
    const res = await call("GET", "/alerts");
    expect(res.status).toBe(200);
    const alerts = res.json as GettableAlert[];
    expect(alerts).toHaveLength(1);
    expect(Object.keys(alerts[0]!)).toEqual([
      "annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status", "updatedAt", "generatorURL", "labels",
    ]);
    expect(alerts[0]).toEqual({
      annotations: { summary: "disk full" },
      endsAt: iso(START + 5 * 60_000),
      fingerprint: fingerprint(labelsFromRecord({ alertname: "DiskFull", team: "db" })),
      receivers: [{ name: "team-db" }],
      startsAt: iso(START),
      status: { inhibitedBy: [], silencedBy: [], state: "active" },
      updatedAt: iso(START),
      generatorURL: "http://prom/graph",
      labels: { alertname: "DiskFull", team: "db" },
    });
  });

  test("filters by matchers, receiver regex and state", async () => {
    const { call } = setup();
    await call("POST", "/alerts", [
      { labels: { alertname: "A", team: "db", severity: "critical" } },
      { labels: { alertname: "A", team: "db", severity: "warning" } },
      { labels: { alertname: "B", team: "web" } },
    ]);
    const names = async (q: string) =>
      ((await call("GET", `/alerts${q}`)).json as GettableAlert[]).map((a) => `${a.labels.alertname}/${a.labels.severity ?? "-"}`).sort();
    expect(await names("")).toEqual(["A/critical", "A/warning", "B/-"]);
    expect(await names(`?filter=${encodeURIComponent('alertname="A"')}`)).toEqual(["A/critical", "A/warning"]);
    expect(await names(`?filter=alertname%3DA&filter=${encodeURIComponent("severity=~crit.*")}`)).toEqual(["A/critical"]);
    expect(await names("?receiver=team-.*")).toEqual(["A/critical", "A/warning"]);
    expect(await names("?receiver=team")).toEqual([]);
    // The warning is inhibited by the critical alert with the same alertname.
    expect(await names("?inhibited=false")).toEqual(["A/critical", "B/-"]);
    expect(await names("?active=false")).toEqual(["A/warning"]);
    const warning = ((await call("GET", "/alerts?active=false")).json as GettableAlert[])[0]!;
    expect(warning.status.state).toBe("suppressed");
    expect(warning.status.inhibitedBy).toHaveLength(1);
  });

  test("resolved alerts are not listed", async () => {
    const { call, clock } = setup();
    await call("POST", "/alerts", [{ labels: { alertname: "Gone" }, startsAt: iso(START - HOUR), endsAt: iso(START + 1000) }]);
    expect((await call("GET", "/alerts")).json).toHaveLength(1);
    clock.advance(2000);
    expect((await call("GET", "/alerts")).json).toEqual([]);
  });

  test("invalid alerts answer 400 with Alertmanager's messages; valid ones in the batch are kept", async () => {
    const { call } = setup();
    const res = await call("POST", "/alerts", [
      { labels: { alertname: "Ok" } },
      { labels: { alertname: "Backwards" }, startsAt: iso(START), endsAt: iso(START - 1000) },
      { labels: {} },
      { labels: { "bad-name": "x" } },
      { labels: { alertname: "x" }, annotations: { "0bad": "y" } },
    ]);
    expect(res.status).toBe(400);
    expect(res.json).toBe(
      'start time must be before end time; at least one label pair required; invalid label set: invalid name "bad-name"; invalid annotations: invalid name "0bad"',
    );
    const listed = (await call("GET", "/alerts")).json as GettableAlert[];
    expect(listed.map((a) => a.labels.alertname)).toEqual(["Ok"]);
  });

  test("malformed bodies answer like go-swagger", async () => {
    const { call } = setup();
    const notJSON = await call("POST", "/alerts", "[{");
    expect(notJSON.status).toBe(400);
    expect(notJSON.json.code).toBe(400);
    expect(notJSON.json.message).toStartWith('parsing alerts body from "" failed, because');

    const object = await call("POST", "/alerts", {});
    expect(object).toMatchObject({
      status: 400,
      json: { code: 400, message: 'parsing alerts body from "" failed, because json: cannot unmarshal object into Go value of type models.PostableAlerts' },
    });
    const noLabels = await call("POST", "/alerts", [{ labels: { a: "b" } }, { annotations: {} }]);
    expect(noLabels).toMatchObject({ status: 422, json: { code: 602, message: "1.labels in body is required" } });
    const numberValue = await call("POST", "/alerts", [{ labels: { a: 1 } }]);
    expect(numberValue.status).toBe(400);
    expect(numberValue.json.message).toContain("cannot unmarshal number");
    const badTime = await call("POST", "/alerts", [{ labels: { a: "b" }, startsAt: "yesterday" }]);
    expect(badTime.status).toBe(400);
    expect(badTime.json.message).toContain('"yesterday"');
    const empty = await call("POST", "/alerts", "");
    expect(empty).toMatchObject({ status: 422, json: { code: 602, message: "alerts in body is required" } });
  });

  test("bad query parameters answer 400; unknown booleans read as false", async () => {
    const { am, call } = setup();
    const badFilter = await call("GET", `/alerts?filter=${encodeURIComponent("alertname")}`);
    expect(badFilter.status).toBe(400);
    expect(typeof badFilter.json).toBe("string");
    expect(badFilter.json).toContain("bad matcher format");
    const badRegex = await call("GET", `/alerts?filter=${encodeURIComponent('a=~"("')}`);
    expect(badRegex.status).toBe(400);
    const badReceiver = await call("GET", `/alerts?receiver=${encodeURIComponent("(")}`);
    expect(badReceiver.status).toBe(400);
    expect(badReceiver.json).toBe("failed to parse receiver param: error parsing regexp: missing closing ): `^(?:()$`");
    // go-openapi reads any word it does not know as false, never as an error.
    am.putAlerts([{ labels: labelsFromRecord({ alertname: "Visible" }) }]);
    expect((await call("GET", "/alerts?active=maybe")).json).toEqual([]);
    expect((await call("GET", "/alerts?active=")).json).toHaveLength(1);
  });

  test("groups list each aggregation group with its receiver and alerts", async () => {
    const { call } = setup();
    await call("POST", "/alerts", [
      { labels: { alertname: "B", instance: "2" } },
      { labels: { alertname: "B", instance: "1" } },
      { labels: { alertname: "A", team: "db" } },
    ]);
    const res = await call("GET", "/alerts/groups");
    expect(res.status).toBe(200);
    const groups = res.json as { alerts: GettableAlert[]; labels: Record<string, string>; receiver: { name: string } }[];
    expect(groups.map((g) => Object.keys(g))).toEqual([["alerts", "labels", "receiver"], ["alerts", "labels", "receiver"]]);
    expect(groups.map((g) => [g.labels, g.receiver.name, g.alerts.map((a) => a.labels.instance ?? "")])).toEqual([
      [{ alertname: "A" }, "team-db", [""]],
      [{ alertname: "B" }, "default", ["1", "2"]],
    ]);
    const filtered = (await call("GET", "/alerts/groups?receiver=default")).json as typeof groups;
    expect(filtered.map((g) => g.labels.alertname)).toEqual(["B"]);
    const byMatcher = (await call("GET", `/alerts/groups?filter=${encodeURIComponent("instance=2")}`)).json as typeof groups;
    expect(byMatcher.map((g) => g.alerts.length)).toEqual([1]);
  });
});

describe("silences", () => {
  const matcher = { name: "alertname", value: "DiskFull", isRegex: false, isEqual: true };
  const silence = (extra: Record<string, unknown> = {}) => ({
    matchers: [matcher], startsAt: iso(START), endsAt: iso(START + HOUR), createdBy: "me", comment: "maintenance", ...extra,
  });

  test("create, get, list, update in place, update into a new silence, expire", async () => {
    const { call, clock } = setup();
    await call("POST", "/alerts", [{ labels: { alertname: "DiskFull" } }]);
    const created = await call("POST", "/silences", silence());
    expect(created.status).toBe(200);
    const id = created.json.silenceID as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const got = await call("GET", `/silence/${id}`);
    expect(got.status).toBe(200);
    expect(Object.keys(got.json)).toEqual(["id", "status", "updatedAt", "comment", "createdBy", "endsAt", "matchers", "startsAt"]);
    expect(got.json as GettableSilence).toEqual({
      id, status: { state: "active" }, updatedAt: iso(START), comment: "maintenance", createdBy: "me",
      endsAt: iso(START + HOUR), matchers: [matcher], startsAt: iso(START),
    });
    const alert = ((await call("GET", "/alerts")).json as GettableAlert[])[0]!;
    expect(alert.status).toEqual({ inhibitedBy: [], silencedBy: [id], state: "suppressed" });

    clock.advance(1000);
    const extended = await call("POST", "/silences", silence({ id, endsAt: iso(START + 2 * HOUR), comment: "longer" }));
    expect(extended).toMatchObject({ status: 200, json: { silenceID: id } });
    expect((await call("GET", `/silence/${id}`)).json).toMatchObject({ comment: "longer", endsAt: iso(START + 2 * HOUR), updatedAt: iso(START + 1000) });

    const changed = await call("POST", "/silences", silence({ id, matchers: [{ ...matcher, value: "Other" }] }));
    expect(changed.status).toBe(200);
    const newID = changed.json.silenceID as string;
    expect(newID).not.toBe(id);
    expect((await call("GET", `/silence/${id}`)).json.status.state).toBe("expired");

    const list = (await call("GET", "/silences")).json as GettableSilence[];
    expect(list.map((s) => [s.id, s.status.state])).toEqual([[newID, "active"], [id, "expired"]]);
    const filtered = (await call("GET", `/silences?filter=${encodeURIComponent('alertname="Other"')}`)).json as GettableSilence[];
    expect(filtered.map((s) => s.id)).toEqual([newID]);

    expect((await call("DELETE", `/silence/${newID}`)).status).toBe(200);
    expect((await call("GET", `/silence/${newID}`)).json.status.state).toBe("expired");
    // Alertmanager answers 200 for a silence that has already expired.
    const again = await call("DELETE", `/silence/${newID}`);
    expect(again.status).toBe(200);
  });

  test("pending silences are listed after active ones", async () => {
    const { call } = setup();
    const later = (await call("POST", "/silences", silence({ startsAt: iso(START + HOUR), endsAt: iso(START + 3 * HOUR) }))).json.silenceID;
    const now = (await call("POST", "/silences", silence())).json.silenceID;
    const list = (await call("GET", "/silences")).json as GettableSilence[];
    expect(list.map((s) => [s.id, s.status.state])).toEqual([[now, "active"], [later, "pending"]]);
  });

  test("refused silences", async () => {
    const { call } = setup();
    expect(await call("POST", "/silences", silence({ endsAt: iso(START - HOUR) }))).toMatchObject({
      status: 400, json: "Failed to create silence: start time must be before end time",
    });
    expect(await call("POST", "/silences", silence({ startsAt: iso(START - 2 * HOUR), endsAt: iso(START - HOUR) }))).toMatchObject({
      status: 400, json: "Failed to create silence: end time can't be in the past",
    });
    expect(await call("POST", "/silences", silence({ matchers: [] }))).toMatchObject({
      status: 422, json: { code: 612, message: "matchers in body should have at least 1 items" },
    });
    expect(await call("POST", "/silences", silence({ comment: undefined }))).toMatchObject({
      status: 422, json: { code: 602, message: "comment in body is required" },
    });
    expect(await call("POST", "/silences", silence({ matchers: [{ name: "a", value: "b" }] }))).toMatchObject({
      status: 422, json: { code: 602, message: "matchers.0.isRegex in body is required" },
    });
    const regex = await call("POST", "/silences", silence({ matchers: [{ name: "a", value: "(", isRegex: true }] }));
    expect(regex.status).toBe(400);
    expect(regex.json).toContain("invalid label matcher 0");
    const empty = await call("POST", "/silences", silence({ matchers: [{ name: "a", value: "", isRegex: false }] }));
    expect(empty).toMatchObject({ status: 400, json: "silence invalid: at least one matcher must not match the empty string" });
    const unknown = await call("POST", "/silences", silence({ id: "0b4e4a3c-2f7b-4d4e-9f3a-000000000000" }));
    expect(unknown).toMatchObject({ status: 404, json: "silence not found" });
    expect((await call("POST", "/silences", "{nope")).status).toBe(400);
  });

  test("unknown and malformed silence ids", async () => {
    const { call } = setup();
    const missing = "0b4e4a3c-2f7b-4d4e-9f3a-000000000000";
    expect(await call("GET", `/silence/${missing}`)).toMatchObject({ status: 404, text: "" });
    expect((await call("DELETE", `/silence/${missing}`)).status).toBe(404);
    expect(await call("GET", "/silence/not-a-uuid")).toMatchObject({
      status: 422, json: { code: 601, message: 'silenceID in path must be of type uuid: "not-a-uuid"' },
    });
  });
});

describe("status and receivers", () => {
  test("status has cluster, config, uptime and version info", async () => {
    const { call } = setup();
    const res = await call("GET", "/status");
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(["cluster", "config", "uptime", "versionInfo"]);
    expect(res.json.cluster).toEqual({ peers: [], status: "disabled" });
    expect(res.json.config.original).toContain("receiver: default");
    expect(res.json.uptime).toBe(iso(START));
    expect(res.json.versionInfo).toEqual(VERSION);
  });

  test("receivers in config order", async () => {
    const { call } = setup();
    expect((await call("GET", "/receivers")).json).toEqual([{ name: "default" }, { name: "team-db" }]);
  });

  test("answers 503 while no Alertmanager runs", async () => {
    const app = alertmanagerAPIv2({ alertmanager: () => undefined, versionInfo: VERSION });
    expect((await app.request("/alerts")).status).toBe(503);
  });
});

describe("standalone web app", () => {
  test("lifecycle, metrics, v1 gone and the API under the route prefix", async () => {
    const { am } = setup();
    let reloads = 0;
    let fail = false;
    const registry = new Registry();
    registry.gauge("test_gauge", "A test gauge.").set(3);
    const app = alertmanagerWebApp({
      alertmanager: () => am, versionInfo: VERSION, registry, routePrefix: "/am/",
      reload: async () => {
        reloads++;
        if (fail) throw new Error("bad config");
      },
    });
    expect(await (await app.request("/am/-/healthy")).text()).toBe("OK");
    expect((await app.request("/am/-/ready")).status).toBe(200);
    expect((await app.request("/am/-/reload", { method: "POST" })).status).toBe(200);
    fail = true;
    const failed = await app.request("/am/-/reload", { method: "POST" });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe("failed to reload config: bad config\n");
    expect(reloads).toBe(2);
    expect(await (await app.request("/am/metrics")).text()).toContain("test_gauge 3");
    expect((await app.request("/am/api/v1/alerts")).status).toBe(410);
    expect((await app.request("/am/api/v2/receivers")).status).toBe(200);
    expect((await app.request("/api/v2/receivers")).status).toBe(404);
  });
});

describe("reload failures", () => {
  test("a reload that fails before applying drops alertmanager_config_last_reload_successful to 0", async () => {
    const registry = new Registry();
    const am = new Alertmanager({ config: parseAlertmanagerConfig(CONFIG, "am.yml").config, clock: new ManualClock(START), registry });
    stops.push(() => am.stop());
    const app = alertmanagerWebApp({
      alertmanager: () => am, versionInfo: VERSION, registry,
      reload: async () => {
        throw new Error("am.yml:1:1: yaml: bad");
      },
    });
    expect(registry.render()).toContain("alertmanager_config_last_reload_successful 1");
    expect((await app.request("/-/reload", { method: "POST" })).status).toBe(500);
    expect(registry.render()).toContain("alertmanager_config_last_reload_successful 0");
  });
});

describe("parseDateTime", () => {
  test("RFC 3339 with zones and fractions; zero and empty are unset", () => {
    expect(parseDateTime("2024-01-01T00:00:00.5+01:00")).toBe(Date.UTC(2023, 11, 31, 23, 0, 0, 500));
    expect(parseDateTime("2024-01-01T00:00:00.123456789Z")).toBe(Date.UTC(2024, 0, 1, 0, 0, 0, 123));
    expect(parseDateTime("0001-01-01T00:00:00Z")).toBe(0);
    expect(parseDateTime("")).toBe(0);
    expect(parseDateTime("2024-02-30T00:00:00Z")).toBeUndefined();
    expect(parseDateTime("2024-01-01")).toBeUndefined();
  });
});

describe("readBodyText", () => {
  test("reads up to the limit and refuses larger bodies, declared or streamed", async () => {
    expect(await readBodyText(new Request("http://x/", { method: "POST", body: "12345" }), 5)).toBe("12345");
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(4));
        controller.enqueue(new Uint8Array(4));
        controller.close();
      },
    });
    const err = await readBodyText(new Request("http://x/", { method: "POST", body: streamed }), 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(413);
    const declared = new Request("http://x/", { method: "POST", body: "123456", headers: { "content-length": "6" } });
    await expect(readBodyText(declared, 5)).rejects.toThrow("request body larger than 5 bytes");
  });
});

describe("Go's wording for bad bodies", () => {
  test("syntax errors, type mismatches and unreadable date-times", async () => {
    const { call } = setup();
    const message = async (path: string, body: string) => (await call("POST", path, body)).json.message as string;
    expect(await message("/alerts", "[{")).toBe('parsing alerts body from "" failed, because unexpected EOF');
    expect(await message("/alerts", "nonsense")).toBe(`parsing alerts body from "" failed, because invalid character 'o' in literal null (expecting 'u')`);
    expect(await message("/silences", '{"a":}')).toBe(`parsing silence body from "" failed, because invalid character '}' looking for beginning of value`);
    expect(await message("/alerts", '[{"labels":{"a":"b"},"annotations":[]}]'))
      .toBe('parsing alerts body from "" failed, because json: cannot unmarshal array into Go struct field .annotations of type models.LabelSet');
    expect(await message("/silences", '{"id":5}')).toBe('parsing silence body from "" failed, because json: cannot unmarshal number into Go struct field .id of type string');
    expect(await message("/silences", '{"matchers":[{"name":5}]}'))
      .toBe('parsing silence body from "" failed, because json: cannot unmarshal number into Go struct field Matcher.matchers.name of type string');
    expect(await message("/silences", '{"startsAt":"2024-1-01T00:00:00Z"}'))
      .toBe('parsing silence body from "" failed, because parsing time "2024-1-01T00:00:00Z" as "2006-01-02 15:04:05": cannot parse "1-01T00:00:00Z" as "01"');
    expect(await message("/silences", '{"startsAt":"2024-13-01T00:00:00Z"}'))
      .toBe('parsing silence body from "" failed, because parsing time "2024-13-01T00:00:00Z": month out of range');
    // A json.Decoder reads the first value only.
    expect((await call("POST", "/alerts", '[{"labels":{"a":"b"}}] trailing')).status).toBe(200);
  });
});

describe("parseFilterMatcher", () => {
  test("reads Alertmanager's filter syntax", () => {
    const read = (text: string) => {
      const m = parseFilterMatcher(text);
      return [m.name, m.type, m.value];
    };
    expect(read(' team = "db" ')).toEqual(["team", "=", "db"]);
    expect(read("team!~db|ops")).toEqual(["team", "!~", "db|ops"]);
    expect(read('a="x\\"y\\\\z\\n\\q"')).toEqual(["a", "=", 'x"y\\z\n\\q']);
    expect(read('a=""')).toEqual(["a", "=", ""]);
  });

  test("refuses what Alertmanager refuses, in its words", () => {
    expect(() => parseFilterMatcher('{a="b"}')).toThrow('bad matcher format: {a="b"}');
    expect(() => parseFilterMatcher("0a=b")).toThrow("bad matcher format: 0a=b");
    expect(() => parseFilterMatcher('a="b",c="d"')).toThrow('matcher value contains unescaped double quote: "b",c="d"');
    expect(() => parseFilterMatcher('a="b')).toThrow('matcher value contains unescaped double quote: "b');
    expect(() => parseFilterMatcher("a=~(b")).toThrow("error parsing regexp: missing closing ): `^(?:(b)$`");
  });
});
