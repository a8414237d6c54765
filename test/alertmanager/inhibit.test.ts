import { describe, expect, test } from "bun:test";
import { fingerprint, Inhibitor, type Alert } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";

function alert(labels: Record<string, string>, endsAt = 0): Alert {
  return { labels: labelsFromRecord(labels), annotations: [], startsAt: 1, endsAt, generatorURL: "", updatedAt: 1, timeout: false };
}

function observed(inh: Inhibitor, ...alerts: Alert[]): Inhibitor {
  for (const a of alerts) inh.observe(a, fingerprint(a.labels));
  return inh;
}

describe("inhibitor", () => {
  test("a firing source with equal labels mutes the target", () => {
    const src = alert({ alertname: "Down", severity: "critical", dc: "eu" });
    const inh = observed(new Inhibitor([{ source_matchers: ["severity=critical"], target_matchers: ["severity=warning"], equal: ["dc"] }]), src);
    expect(inh.mutes(labelsFromRecord({ severity: "warning", dc: "eu" }), 10)).toBe(fingerprint(src.labels));
    expect(inh.mutes(labelsFromRecord({ severity: "warning", dc: "us" }), 10)).toBeUndefined();
    expect(inh.mutes(labelsFromRecord({ severity: "info", dc: "eu" }), 10)).toBeUndefined();
  });

  test("missing equal labels compare as empty on both sides", () => {
    const inh = observed(new Inhibitor([{ source_match: { s: "a" }, target_match: { s: "b" }, equal: ["zone"] }]), alert({ s: "a" }));
    expect(inh.mutes(labelsFromRecord({ s: "b" }), 10)).toBeDefined();
    expect(inh.mutes(labelsFromRecord({ s: "b", zone: "z" }), 10)).toBeUndefined();
  });

  test("only firing sources inhibit", () => {
    const inh = observed(new Inhibitor([{ source_match_re: { s: "a.*" }, target_match: { s: "b" } }]), alert({ s: "ax" }, 5));
    expect(inh.mutes(labelsFromRecord({ s: "b" }), 4)).toBeDefined();
    expect(inh.mutes(labelsFromRecord({ s: "b" }), 5)).toBeUndefined();
  });

  test("an alert matching both sides does not inhibit itself or its kind", () => {
    const rule = { source_matchers: ["alertname=X"], target_matchers: ["alertname=X"], equal: [] };
    const a = alert({ alertname: "X", i: "1" });
    const inh = observed(new Inhibitor([rule]), a, alert({ alertname: "X", i: "2" }));
    expect(inh.mutes(a.labels, 10)).toBeUndefined();
  });

  test("a source matching only the source side still mutes a two-sided target", () => {
    const rule = { source_matchers: ['severity=~"critical|warning"'], target_matchers: ["severity=warning"], equal: [] };
    const inh = observed(new Inhibitor([rule]), alert({ severity: "critical" }), alert({ severity: "warning" }));
    expect(inh.mutes(labelsFromRecord({ severity: "warning" }), 10)).toBe(fingerprint(labelsFromRecord({ severity: "critical" })));
  });
});
