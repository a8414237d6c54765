/**
 * promts's default templates render what Alertmanager's do. For the names
 * Alertmanager 0.25 defines, the reference is Debian's copy of its
 * default.tmpl (/usr/share/prometheus/alertmanager/default.tmpl, read at
 * run time, executed by promts's Go-template engine); names added after
 * 0.25 (MS Teams, Jira, Rocket.Chat) are checked against the output their
 * definitions document, written out here.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { DEFAULT_TEMPLATE_TEXT } from "../../../src/alertmanager/notifiers/default_tmpl.ts";
import { alertmanagerFuncs, newAlertmanagerData, TemplateSet, type AlertInput } from "../../../src/template/index.ts";
import { peerAvailable } from "../../support/peers.ts";

const DEBIAN_TMPL = "/usr/share/prometheus/alertmanager/default.tmpl";

const firing: AlertInput = {
  status: "firing", labels: { alertname: "Down", job: "node", instance: "a:9100", severity: "warning" },
  annotations: { summary: "a is down", runbook: "http://r/x?a=1&b=<2>" }, startsAt: 1_700_000_000_000, generatorURL: "http://prom/graph?g0.expr=up",
};
const firing2: AlertInput = {
  status: "firing", labels: { alertname: "Down", job: "node", instance: "b:9100", severity: "critical" },
  annotations: { summary: "b is down", runbook: "http://r/x?a=1&b=<2>" }, startsAt: 1_700_000_000_000,
};
const resolved: AlertInput = {
  status: "resolved", labels: { alertname: "Down", job: "node", instance: "c:9100", severity: "info" },
  annotations: {}, startsAt: 1_700_000_000_000, endsAt: 1_700_000_100_000, generatorURL: "http://prom/x",
};

const DATASETS = [
  newAlertmanagerData("team a+b", { alertname: "Down" }, [firing], "http://am.example:9093"),
  newAlertmanagerData("team-x", { alertname: "Down", job: "node" }, [firing, firing2, resolved], "http://am.example:9093"),
  newAlertmanagerData("r", {}, [resolved], ""),
  newAlertmanagerData("r", { job: "node" }, [firing2, resolved], "http://x"),
];

function ours(): TemplateSet {
  return new TemplateSet(alertmanagerFuncs()).parse("default.tmpl", DEFAULT_TEMPLATE_TEXT);
}

describe("default.tmpl", () => {
  test("every name of Alertmanager 0.25's default.tmpl renders the same text", async () => {
    if (!peerAvailable(existsSync(DEBIAN_TMPL), DEBIAN_TMPL, `${DEBIAN_TMPL} missing (apt-get install prometheus-alertmanager)`)) return;
    const text = readFileSync(DEBIAN_TMPL, "utf8");
    const reference = new TemplateSet(alertmanagerFuncs()).parse("default.tmpl", text);
    const names = [...text.matchAll(/define "([^"]+)"/g)].map((m) => m[1]!).filter((n) => !n.startsWith("email.default.html"));
    expect(names.length).toBeGreaterThan(35);
    const mine = ours();
    for (const name of names) {
      expect(mine.has(name)).toBe(true);
      for (const data of DATASETS) {
        // Lists (e.g. pagerduty.default.instances) take alerts, not the whole data: both sides fail then.
        const run = (set: TemplateSet, arg: unknown) => set.execute(name, arg).catch(() => "<error>");
        for (const arg of [data, data.Alerts]) expect({ name, out: await run(mine, arg) }).toEqual({ name, out: await run(reference, arg) });
      }
    }
  });

  test("names added after 0.25 render their documented text", async () => {
    const mine = ours();
    const data = DATASETS[3]!;
    const md = "\n\n# Alerts Firing:\n\nLabels:\n  - alertname = Down\n  - instance = b:9100\n  - job = node\n  - severity = critical\n"
      + "\nAnnotations:\n  - runbook = http://r/x?a=1&b=<2>\n  - summary = b is down\n\nSource: \n\n\n\n"
      + "\n# Alerts Resolved:\n\nLabels:\n  - alertname = Down\n  - instance = c:9100\n  - job = node\n  - severity = info\n"
      + "\nAnnotations:\n\nSource: http://prom/x\n\n\n\n";
    for (const name of ["msteams.default.text", "msteamsv2.default.text", "jira.default.description"]) {
      expect(await mine.execute(name, data)).toBe(md);
    }
    expect(await mine.execute("msteams.default.title", data)).toBe("[FIRING:1] node (Down)");
    expect(await mine.execute("jira.default.priority", data)).toBe("High");
    expect(await mine.execute("jira.default.priority", DATASETS[0]!)).toBe("Medium");
    expect(await mine.execute("jira.default.priority", DATASETS[2]!)).toBe("Low");
    expect(await mine.execute("rocketchat.default.titlelink", DATASETS[0]!)).toBe("http://am.example:9093/#/alerts?receiver=team+a%5C%2Bb");
    expect(await mine.execute("rocketchat.default.alias", data)).toBe("Alertmanager");
    expect(await mine.execute("discord.default.content", data)).toBe("");
  });
});
