import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SilenceError, Silences, type PostableSilence } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-silences-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

function silence(over: Partial<PostableSilence> = {}): PostableSilence {
  return {
    matchers: [{ name: "alertname", value: "A", isRegex: false, isEqual: true }],
    startsAt: T0, endsAt: T0 + HOUR, createdBy: "me", comment: "c", ...over,
  };
}

let ids = 0;
const newStore = (path?: string) => new Silences({ path, retention: 120 * HOUR, newID: () => `id-${++ids}` });

describe("silences", () => {
  test("states and muting", () => {
    const s = newStore();
    const id = s.set(silence({ startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR }), T0);
    const labels = labelsFromRecord({ alertname: "A", x: "1" });
    expect(s.mutes(labels, T0)).toEqual([]);
    expect(s.countByState(T0)).toEqual({ pending: 1, active: 0, expired: 0 });
    expect(s.mutes(labels, T0 + HOUR)).toEqual([id]);
    expect(s.mutes(labelsFromRecord({ alertname: "B" }), T0 + HOUR)).toEqual([]);
    expect(s.mutes(labels, T0 + 2 * HOUR)).toEqual([]);
  });

  test("regex and negative matchers", () => {
    const s = newStore();
    const id = s.set(silence({ matchers: [
      { name: "job", value: "node|api", isRegex: true, isEqual: true },
      { name: "env", value: "dev", isRegex: false, isEqual: false },
    ] }), T0);
    expect(s.mutes(labelsFromRecord({ job: "api", env: "prod" }), T0)).toEqual([id]);
    expect(s.mutes(labelsFromRecord({ job: "api", env: "dev" }), T0)).toEqual([]);
    expect(s.mutes(labelsFromRecord({ job: "apis" }), T0)).toEqual([]);
  });

  test("comment and endsAt changes update an active silence in place", () => {
    const s = newStore();
    const id = s.set(silence(), T0);
    const again = s.set({ ...silence({ comment: "longer", endsAt: T0 + 3 * HOUR }), id }, T0 + 1000);
    expect(again).toBe(id);
    expect(s.get(id)!.comment).toBe("longer");
    expect(s.list().length).toBe(1);
  });

  test("changing matchers of an active silence expires it and creates a new one", () => {
    const s = newStore();
    const id = s.set(silence(), T0);
    const next = s.set({ ...silence({ matchers: [{ name: "alertname", value: "B", isRegex: false, isEqual: true }] }), id }, T0 + 1000);
    expect(next).not.toBe(id);
    expect(s.get(id)!.endsAt).toBe(T0 + 1000);
    expect(s.get(next)!.startsAt).toBe(T0 + 1000);
  });

  test("expire: active ends now, pending becomes expired, twice is an error", () => {
    const s = newStore();
    const active = s.set(silence(), T0);
    const pending = s.set(silence({ startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR }), T0);
    s.expire(active, T0 + 5);
    s.expire(pending, T0 + 5);
    expect(s.get(active)!.endsAt).toBe(T0 + 5);
    expect(s.get(pending)!.startsAt).toBe(T0 + 5);
    expect(s.countByState(T0 + 5)).toEqual({ pending: 0, active: 0, expired: 2 });
    expect(() => s.expire(active, T0 + 6)).toThrow(`silence ${active} already expired`);
    expect(() => s.expire("nope", T0)).toThrow(SilenceError);
  });

  test("validation errors as Alertmanager words them", () => {
    const s = newStore();
    expect(() => s.set(silence({ endsAt: T0 - 1 }), T0)).toThrow("end time must not be before start time");
    expect(() => s.set(silence({ matchers: [] }), T0)).toThrow("at least one matcher required");
    expect(() => s.set(silence({ matchers: [{ name: "a", value: ".*", isRegex: true }] }), T0))
      .toThrow("at least one matcher must not match the empty string");
    expect(() => s.set(silence({ matchers: [{ name: "a", value: "(", isRegex: true }] }), T0))
      .toThrow("invalid label matcher 0: invalid regular expression");
    expect(() => s.set(silence({ matchers: [{ name: "1a", value: "x", isRegex: false }] }), T0))
      .toThrow('invalid label matcher 0: invalid label name "1a"');
    expect(() => s.set({ ...silence(), id: "missing" }, T0)).toThrow("silence missing not found");
  });

  test("persisted on every change and loaded back; corrupt files are reported", () => {
    const path = join(dir, "silences");
    const s = newStore(path);
    const id = s.set(silence(), T0);
    expect(JSON.parse(readFileSync(path, "utf8"))[0].id).toBe(id);
    const reloaded = newStore(path);
    expect(reloaded.load()).toBeUndefined();
    expect(reloaded.get(id)?.comment).toBe("c");
    writeFileSync(join(dir, "bad"), "{not json");
    expect(newStore(join(dir, "bad")).load()).toContain("reading silences snapshot");
  });

  test("retention drops silences long expired", () => {
    const s = newStore();
    s.set(silence(), T0);
    expect(s.gc(T0 + HOUR + 119 * HOUR)).toBe(0);
    expect(s.gc(T0 + HOUR + 120 * HOUR)).toBe(1);
    expect(s.list()).toEqual([]);
  });

  test("merge keeps the newer version and does not notify listeners", () => {
    const s = newStore();
    let changes = 0;
    s.onChange(() => changes++);
    const id = s.set(silence(), T0);
    expect(changes).toBe(1);
    const newer = { ...s.get(id)!, comment: "peer", updatedAt: T0 + 10 };
    expect(s.merge([newer], T0 + 20)).toEqual([newer]);
    expect(s.merge([{ ...newer, comment: "old", updatedAt: T0 + 5 }], T0 + 20)).toEqual([]);
    expect(s.get(id)!.comment).toBe("peer");
    expect(changes).toBe(1);
  });

  test("merge drops silences past retention and keeps the rest of the batch", () => {
    const s = newStore();
    const old = { id: "old", matchers: silence().matchers, startsAt: T0, endsAt: T0 + HOUR, updatedAt: T0, createdBy: "a", comment: "" };
    const live = { ...old, id: "live", endsAt: T0 + 200 * HOUR };
    const now = T0 + HOUR + 120 * HOUR;
    expect(s.merge([old, live], now).map((x) => x.id)).toEqual(["live"]);
    expect(s.list().map((x) => x.id)).toEqual(["live"]);
  });
});
