/**
 * RE2 interop with the real Alertmanager 0.25: the same regex silences
 * (pathological ones included), alerts and `filter`/`receiver` parameters go
 * to /usr/bin/prometheus-alertmanager and to `promts alertmanager`; which
 * alerts are silenced and which each filter lists must be the same, and a
 * refused pattern must be refused by both with the same message. Without the
 * binary the test passes with a loud SKIPPED message, unless
 * PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";
import { peerAvailable } from "../support/peers.ts";

const ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager";
const NAMES = ["a".repeat(30), "a".repeat(30) + "!", "aaa!", "foo", "FOO", "a\nb", "x_total", "é", "ab", "b"];
const SILENCES = ["(a+)+", "(a|a?)+!", "(?i)foo", "a.b", ".*_total", "f)|(o", "(a", "((a{1000}){1000}){1000}"];
const FILTERS = ['alertname=~"(a+)+"', 'alertname!~"(.*a){12}"', 'alertname=~".+"', 'alertname=~"(?s).+"', 'alertname=~"a+!|b"'];
const RECEIVERS = ["(a+)+|null", "nul+", "(n|n?)+ull"];
const REFUSED_FILTERS = ['alertname=~"(a"', 'alertname=~"((a{1000}){1000}){1000}"', 'alertname=~"a(?=b)"'];

interface Side {
  name: string;
  child: Child;
  url: string;
}

let dir = "";
const sides: Side[] = [];
/** Per side, the status and (for a refusal) body of each silence POST. */
const silenceAnswers: Record<string, string[]> = {};
const ready = existsSync(ALERTMANAGER_BINARY);

beforeAll(async () => {
  if (!peerAvailable(ready, ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} not installed: RE2 interop with Alertmanager not compared`)) return;
  dir = mkdtempSync(join(tmpdir(), "promts-regex-am-"));
  const config = join(dir, "am.yml");
  writeFileSync(config, "route:\n  receiver: 'null'\n  group_by: [alertname]\nreceivers:\n  - name: 'null'\n");
  for (const [name, cmd] of [["alertmanager", [ALERTMANAGER_BINARY]], ["promts", [PROMTS_BINARY, "alertmanager"]]] as const) {
    const port = freePort();
    const child = spawnChild(name, [...cmd, `--config.file=${config}`, `--storage.path=${join(dir, name)}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="]);
    const url = `http://127.0.0.1:${port}`;
    await waitForOK(`${url}/-/ready`, child, 30_000);
    sides.push({ name, child, url });
  }
  const now = Date.now();
  for (const side of sides) {
    silenceAnswers[side.name] = [];
    for (const value of SILENCES) {
      const res = await fetch(`${side.url}/api/v2/silences`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          matchers: [{ name: "alertname", value, isRegex: true, isEqual: true }],
          startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), createdBy: "t", comment: value,
        }),
      });
      silenceAnswers[side.name]!.push(`${value}: ${res.status}${res.status === 200 ? "" : ` ${(await res.text()).trim()}`}`);
    }
    const res = await fetch(`${side.url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(NAMES.map((alertname) => ({ labels: { alertname } }))) });
    if (res.status !== 200) throw new Error(`${side.name}: post alerts: ${res.status}`);
  }
}, 90_000);

afterAll(async () => {
  for (const s of sides) await s.child.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

type AlertView = { labels: { alertname: string }; status: { state: string; silencedBy: string[] } };

async function alerts(side: Side, query = ""): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${side.url}/api/v2/alerts${query}`, { signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, body: text.trim() };
  return { status: 200, body: (JSON.parse(text) as AlertView[]).map((a) => `${JSON.stringify(a.labels.alertname)}:${a.status.state}:${a.status.silencedBy.length}`).sort() };
}

describe("RE2 in Alertmanager silences and filters, against Alertmanager 0.25", () => {
  test("the same silences are accepted or refused, with the same message", () => {
    if (sides.length < 2) return;
    expect(silenceAnswers.promts).toEqual(silenceAnswers.alertmanager!);
  });
  test("the same alerts are silenced, by as many silences", async () => {
    if (sides.length < 2) return;
    // Both process alerts asynchronously: wait until each shows a state for all of them.
    const settled = (side: Side) => waitUntil(`${side.name} to mark alerts`, async () => {
      const a = await alerts(side);
      return (a.body as string[]).every((s) => !s.includes(":unprocessed:")) && a.body;
    }, 20_000, [side.child]);
    const [real, ours] = await Promise.all(sides.map(settled));
    expect(ours).toEqual(real);
  });
  test("filter and receiver parameters list the same alerts", async () => {
    if (sides.length < 2) return;
    for (const f of FILTERS) {
      for (const r of RECEIVERS) {
        const q = `?filter=${encodeURIComponent(f)}&receiver=${encodeURIComponent(r)}`;
        const [real, ours] = await Promise.all(sides.map((s) => alerts(s, q)));
        expect({ q, ...ours }).toEqual({ q, ...real });
      }
    }
  });
  test("refused filter patterns are refused alike", async () => {
    if (sides.length < 2) return;
    for (const f of REFUSED_FILTERS) {
      const q = `?filter=${encodeURIComponent(f)}`;
      const [real, ours] = await Promise.all(sides.map((s) => alerts(s, q)));
      expect({ q, ...ours }).toEqual({ q, ...real });
    }
  });
});
