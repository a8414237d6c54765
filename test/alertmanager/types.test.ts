import { describe, expect, test } from "bun:test";
import { alertStatus, fingerprint, formatTime, isResolved, type Alert } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";

describe("fingerprint", () => {
  test("matches prometheus/common's labelSetToFingerprint", () => {
    expect(fingerprint([])).toBe("cbf29ce484222325");
    // 5799056148416392346 in prometheus/common's signature tests.
    expect(fingerprint(labelsFromRecord({ name: "garland, briggs", fear: "love is not enough" }))).toBe("507a62d79ee76c9a");
  });

  test("does not depend on input order and is 16 lowercase hex digits", () => {
    const a = fingerprint([{ name: "b", value: "2" }, { name: "a", value: "1" }]);
    expect(a).toBe(fingerprint(labelsFromRecord({ a: "1", b: "2" })));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).not.toBe(fingerprint(labelsFromRecord({ a: "1", b: "3" })));
  });
});

describe("formatTime", () => {
  test("RFC3339 like Go's time JSON", () => {
    expect(formatTime(0)).toBe("0001-01-01T00:00:00Z");
    expect(formatTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe("2024-01-02T03:04:05Z");
    expect(formatTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120))).toBe("2024-01-02T03:04:05.12Z");
    expect(formatTime(Date.UTC(2024, 0, 2, 3, 4, 10, 5))).toBe("2024-01-02T03:04:10.005Z");
  });
});

describe("status", () => {
  const base: Alert = { labels: labelsFromRecord({ a: "1" }), annotations: [], startsAt: 1000, endsAt: 5000, generatorURL: "", updatedAt: 1000, timeout: false };
  test("resolved once endsAt has passed", () => {
    expect(isResolved(base, 4999)).toBe(false);
    expect(alertStatus(base, 5000)).toBe("resolved");
    expect(alertStatus({ ...base, endsAt: 0 }, 1e12)).toBe("firing");
  });
});
