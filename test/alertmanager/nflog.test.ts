import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotificationLog, receiverKeyString } from "../../src/alertmanager/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-nflog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recv = { groupName: "team", integration: "webhook", idx: 0 };
const HOUR = 3_600_000;

describe("notification log", () => {
  test("log, query, persist and reload", () => {
    const path = join(dir, "nflog");
    const log = new NotificationLog({ path, retention: HOUR });
    log.log("{}:{a=\"1\"}", recv, ["b", "a"], ["c"], 1000);
    const e = log.query("{}:{a=\"1\"}", receiverKeyString(recv))!;
    expect(e).toMatchObject({ timestamp: 1000, firingAlerts: ["a", "b"], resolvedAlerts: ["c"], expiresAt: 1000 + HOUR });
    expect(log.query("{}:{a=\"1\"}", "team/webhook/1")).toBeUndefined();
    const reloaded = new NotificationLog({ path, retention: HOUR });
    expect(reloaded.load(2000)).toBeUndefined();
    expect(reloaded.query("{}:{a=\"1\"}", "team/webhook/0")?.timestamp).toBe(1000);
    const late = new NotificationLog({ path, retention: HOUR });
    late.load(1000 + HOUR);
    expect(late.list()).toEqual([]);
  });

  test("gc drops expired entries", () => {
    const log = new NotificationLog({ retention: HOUR });
    log.log("g1", recv, ["a"], [], 0);
    log.log("g2", recv, ["a"], [], HOUR / 2);
    expect(log.gc(HOUR)).toBe(1);
    expect(log.list().map((e) => e.groupKey)).toEqual(["g2"]);
  });

  test("merge takes newer entries from peers; change hook fires only for local logs", () => {
    const log = new NotificationLog({ retention: HOUR });
    const seen: string[] = [];
    log.onChange((e) => seen.push(e.groupKey));
    const local = log.log("g", recv, ["a"], [], 100);
    expect(log.merge([{ ...local, timestamp: 50, firingAlerts: ["old"] }], 200)).toEqual([]);
    expect(log.merge([{ ...local, timestamp: 150, firingAlerts: ["peer"] }], 200)).toHaveLength(1);
    expect(log.query("g", "team/webhook/0")!.firingAlerts).toEqual(["peer"]);
    expect(log.merge([{ ...local, groupKey: "expired", expiresAt: 10 }], 200)).toEqual([]);
    expect(seen).toEqual(["g"]);
  });
});
