/**
 * Hostile bodies for the Alertmanager API v2, answered as Alertmanager 0.25
 * answers them (measured with the real binary): JSON nested deeper than Go's
 * 10000 levels is a 400 "exceeded max depth" (not a stack overflow or a 500),
 * escaped lone surrogates decode as U+FFFD like Go's encoding/json, and the
 * sliced decoder used for POST /alerts gives exactly the answer of the
 * one-piece decoder while letting the event loop run.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Alertmanager } from "../../../src/alertmanager/index.ts";
import { alertmanagerAPIv2, APIError, decodePostableAlerts, decodePostableAlertsSliced } from "../../../src/alertmanager/api/index.ts";
import { parseAlertmanagerConfig } from "../../../src/config/index.ts";
import { labelsToRecord, Registry } from "../../../src/model/index.ts";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function setup() {
  const am = new Alertmanager({ config: parseAlertmanagerConfig('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n', "am.yml").config, registry: new Registry() });
  stops.push(() => am.stop());
  const app = alertmanagerAPIv2({ alertmanager: () => am, versionInfo: { branch: "", buildDate: "", buildUser: "", goVersion: "", revision: "", version: "" } });
  const post = async (path: string, body: string) => {
    const res = await app.request(path, { method: "POST", body, headers: { "Content-Type": "application/json" } });
    return { status: res.status, text: await res.text() };
  };
  return { am, app, post };
}

const depthError = (what: string, c: string) =>
  JSON.stringify({ code: 400, message: `parsing ${what} body from "" failed, because invalid character '${c}' exceeded max depth` });

describe("deep nesting", () => {
  test("100k levels of arrays or objects answer 400 exceeded max depth, quickly", async () => {
    const { post } = setup();
    const cases: [string, string, string][] = [
      ["/alerts", "[".repeat(100_000) + "]".repeat(100_000), depthError("alerts", "[")],
      ["/alerts", '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000), depthError("alerts", "{")],
      ["/alerts", "[".repeat(100_000), depthError("alerts", "[")],
      ["/alerts", '[{"labels":' + '{"a":'.repeat(100_000) + '"x"' + "}".repeat(100_000) + "}]", depthError("alerts", "{")],
      ["/silences", '{"matchers":' + "[".repeat(100_000) + "]".repeat(100_000) + "}", depthError("silence", "[")],
    ];
    for (const [path, body, message] of cases) {
      const start = performance.now();
      const r = await post(path, body);
      const ms = performance.now() - start;
      expect({ path, status: r.status, text: r.text.trim() }).toEqual({ path, status: 400, text: message });
      expect(ms).toBeLessThan(2000);
    }
  });

  test("Go's limit is exactly 10000 levels", async () => {
    const { post } = setup();
    const at = await post("/alerts", "[".repeat(10_000) + "]".repeat(10_000));
    expect(at.status).toBe(400);
    expect(at.text).toContain("json: cannot unmarshal array into Go value of type struct");
    const over = await post("/alerts", "[".repeat(10_001) + "]".repeat(10_001));
    expect(over.text.trim()).toBe(depthError("alerts", "["));
  });
});

describe("UTF-8", () => {
  test("raw invalid bytes and escaped lone surrogates become U+FFFD; an invalid name is refused naming it", async () => {
    const { am, app } = setup();
    const send = async (path: string, bytes: string) => {
      const res = await app.request(path, { method: "POST", body: Buffer.from(bytes, "latin1"), headers: { "Content-Type": "application/json" } });
      return { status: res.status, text: await res.text() };
    };
    expect((await send("/alerts", '[{"labels":{"alertname":"U1","v":"a\xff\xfeb"}}]')).status).toBe(200);
    expect((await send("/alerts", '[{"labels":{"alertname":"U2","v":"a\\ud800b","w":"\\udc00"}}]')).status).toBe(200);
    expect((await send("/alerts", '[{"labels":{"alertname":"U3","v":"\\ud83d\\ude00"}}]')).status).toBe(200);
    const badName = await send("/alerts", '[{"labels":{"alertname":"U4","\xffn":"x"}}]');
    expect(badName).toEqual({ status: 400, text: '"invalid label set: invalid name \\"\ufffdn\\""\n' });
    const byName = Object.fromEntries(am.alerts.list().map(([, a]) => [labelsToRecord(a.labels).alertname!, labelsToRecord(a.labels)]));
    expect(byName.U1!.v).toBe("a\ufffd\ufffdb");
    expect(byName.U2).toMatchObject({ v: "a\ufffdb", w: "\ufffd" });
    expect(byName.U3!.v).toBe("\u{1f600}");
    const silence = await send("/silences", `{"matchers":[{"name":"a","value":"x\\udc00","isRegex":false}],"startsAt":"${new Date().toISOString()}","endsAt":"${new Date(Date.now() + 3_600_000).toISOString()}","createdBy":"me","comment":"c"}`);
    expect(silence.status).toBe(200);
    expect(am.silences.list()[0]!.matchers[0]!.value).toBe("x\ufffd");
  });
});

describe("sliced decoding", () => {
  const alert = (i: number) => ({ labels: { alertname: "A", i: String(i) }, annotations: { s: "x" }, startsAt: "2024-01-01T00:00:00Z" });
  const bodies = [
    JSON.stringify(Array.from({ length: 3000 }, (_, i) => alert(i))),
    "[]", "", "  ", "{}", "[1]", "[null]", "[{}]", '[{"labels":"x"}]', '[{"labels":{"a":1}}]', "[5]", "nonsense",
    '[{"labels":{"a":"b"}', '[{"labels":{"a":"b"},"annotations":[]}]', '[{"labels":{"a":"b"},"generatorURL":"not a url"}]',
    '[{"labels":{"a":"b"},"startsAt":"soon"}]', '[{"labels":{"alertname":"T"}}] trailing', "[1,]", "[,1]", '[{"labels":{"a":"b"}},{"labels":5}]',
    JSON.stringify([...Array.from({ length: 600 }, (_, i) => alert(i)), { labels: 5 }]),
    JSON.stringify([...Array.from({ length: 600 }, (_, i) => alert(i)), null]),
    '[{"labels":{"a":"\\ud800"}}]',
  ];
  const outcome = async (f: () => unknown) => {
    try {
      return { ok: await f() };
    } catch (e) {
      if (!(e instanceof APIError)) throw e;
      return { status: e.status, body: e.body };
    }
  };

  test("gives the same alerts and errors as the one-piece decoder", async () => {
    for (const body of bodies) {
      const whole = await outcome(() => decodePostableAlerts(body));
      const sliced = await outcome(() => decodePostableAlertsSliced(body));
      expect({ body: body.slice(0, 60), ...sliced }).toEqual({ body: body.slice(0, 60), ...whole });
    }
  });

  test("lets the event loop run while it decodes a large body", async () => {
    const body = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => alert(i)));
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    try {
      const alerts = await decodePostableAlertsSliced(body);
      expect(alerts.length).toBe(20_000);
    } finally {
      clearInterval(timer);
    }
    expect(turns).toBeGreaterThan(1);
  });
});
