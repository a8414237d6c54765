import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alertmanagerConfigToYAML, ConfigError, loadAlertmanagerConfigFile, parseAlertmanagerConfig,
} from "../../src/config/index.ts";
import { checkAlertmanagerConfigFiles } from "../../src/cli/index.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-amconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const parse = (text: string) => parseAlertmanagerConfig(text, "am.yml").config;

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

const FULL = `
global:
  resolve_timeout: 1m
  smtp_smarthost: localhost:25
templates: ['tmpl/*.tmpl']
route:
  receiver: team
  group_by: [alertname, cluster]
  routes:
    - matchers: ['severity=~"critical|page"', '{team="db", env!=dev}']
      receiver: pager
      continue: true
      group_wait: 10s
      mute_time_intervals: [weekends]
    - match: {team: web}
      match_re: {service: "api|www"}
      receiver: team
      active_time_intervals: [office]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [alertname]
  - source_match: {a: b}
    target_match_re: {c: "d.*"}
time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/Berlin
mute_time_intervals:
  - name: weekends
    time_intervals: [{weekdays: [saturday, sunday]}]
receivers:
  - name: team
    webhook_configs:
      - url: http://example.com/hook
        max_alerts: 5
        http_config:
          bearer_token: tok
  - name: pager
    webhook_configs:
      - url: https://user:pw@pager.example.com/
        send_resolved: false
`;

describe("alertmanager.yml", () => {
  test("a full config decodes with Alertmanager's defaults", () => {
    const c = parse(FULL);
    expect(c.global.resolve_timeout).toBe(60_000);
    expect(c.global.smtp_hello).toBe("localhost");
    expect(c.global.smtp_require_tls).toBe(true);
    expect(c.global.pagerduty_url).toBe("https://events.pagerduty.com/v2/enqueue");
    expect(c.route.group_wait).toBe(30_000);
    expect(c.route.group_interval).toBe(300_000);
    expect(c.route.repeat_interval).toBe(4 * 3_600_000);
    expect(c.route.routes[0]!.group_interval).toBeUndefined();
    expect(c.route.routes[0]!.group_wait).toBe(10_000);
    expect(c.route.routes[0]!.continue).toBe(true);
    expect(c.inhibit_rules.length).toBe(2);
    expect(c.receivers[0]!.webhook_configs[0]).toMatchObject({
      send_resolved: true, max_alerts: 5, http_config: { authorization: { type: "Bearer", credentials: "tok" }, follow_redirects: true },
    });
    expect(c.receivers[1]!.webhook_configs[0]!.send_resolved).toBe(false);
    expect(c.receivers[1]!.webhook_configs[0]!.http_config.enable_http2).toBe(true);
    expect(c.templates).toEqual([join(".", "tmpl/*.tmpl")]);
  });

  test("the encoded config hides secrets and parses back to the same config", () => {
    const c = parse(FULL);
    const yaml = alertmanagerConfigToYAML(c);
    expect(yaml).not.toContain("tok");
    expect(yaml).not.toContain("pw@");
    expect(yaml).toContain("<secret>");
    expect(yaml).toContain("resolve_timeout: 1m");
    // Secret URLs print as <secret>; put a URL back in to check the rest round-trips.
    const again = parse(yaml.replaceAll("url: <secret>", "url: http://x"));
    expect(again.route).toEqual(c.route);
    expect(again.time_intervals).toEqual(c.time_intervals);
  });

  test("validation errors point at the file, line and column", () => {
    const receivers = "receivers: [{name: a}]\n";
    expect(errorOf(`route: {receiver: x}\n${receivers}`)).toBe('am.yml:1:19: field route.receiver: undefined receiver "x" used in route');
    expect(errorOf(receivers)).toBe("am.yml:1:1: field route: no routes provided");
    expect(errorOf(`route: {group_by: [a]}\n${receivers}`)).toBe("am.yml:1:8: field route.receiver: root route must specify a default receiver");
    expect(errorOf(`route:\n  receiver: a\n  matchers: [a=b]\n${receivers}`)).toBe("am.yml:3:13: field route.matchers: root route must not have any matchers");
    expect(errorOf(`route: {receiver: a, group_interval: 0}\n${receivers}`)).toBe("am.yml:1:38: field route.group_interval: group_interval cannot be zero");
    expect(errorOf(`route: {receiver: a, routes: [{repeat_interval: 0}]}\n${receivers}`)).toContain("repeat_interval cannot be zero");
    expect(errorOf(`route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n`)).toBe('am.yml:2:31: field receivers[1].name: notification config name "a" is not unique');
    expect(errorOf(`route: {receiver: a, routes: [{receiver: a, mute_time_intervals: [nope]}]}\n${receivers}`))
      .toContain('undefined time interval "nope" used in route');
    expect(errorOf(`route: {receiver: a, group_by: ['...', a]}\n${receivers}`)).toContain("cannot have wildcard group_by (`...`) and other other labels at the same time");
    expect(errorOf(`route: {receiver: a, group_by: [a, a]}\n${receivers}`)).toContain('duplicated label "a" in group_by');
    expect(errorOf(`route: {receiver: a, routes: [{matchers: ['a=~"("']}]}\n${receivers}`)).toContain("route.routes[0].matchers[0]: invalid regular expression");
    expect(errorOf(`route: {receiver: a, routes: [{match_re: {a: "("}}]}\n${receivers}`)).toContain("error parsing regexp");
    expect(errorOf(`route: {receiver: a, routs: []}\n${receivers}`)).toBe("am.yml:1:22: field route.routs not found in type config.Route");
  });

  test("receivers: webhook url rules and integrations needing global settings", () => {
    const route = "route: {receiver: a}\n";
    expect(errorOf(`${route}receivers:\n  - name: a\n    webhook_configs: [{max_alerts: 1}]\n`)).toContain("one of url or url_file must be configured");
    expect(errorOf(`${route}receivers:\n  - name: a\n    webhook_configs: [{url: "ftp://x"}]\n`)).toContain('unsupported scheme "ftp" for URL');
    expect(errorOf(`${route}receivers:\n  - name: a\n    webhook_configs: [{url: "http://x", url_file: f}]\n`)).toContain("at most one of url & url_file must be configured");
    expect(errorOf(`${route}receivers:\n  - name: a\n    email_configs: [{to: x@example.com}]\n`))
      .toBe("am.yml:4:21: field receivers[0].email_configs[0].smarthost: no global SMTP smarthost set");
    expect(errorOf(`${route}receivers:\n  - webhook_configs: []\n`)).toContain("missing name in receiver");
  });

  test("time interval errors", () => {
    const base = "route: {receiver: a}\nreceivers: [{name: a}]\n";
    expect(errorOf(`${base}time_intervals:\n  - name: t\n    time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]\n`))
      .toContain("start time cannot be equal or greater than end time");
    expect(errorOf(`${base}time_intervals:\n  - name: t\n    time_intervals: [{location: Nowhere/City}]\n`)).toContain("unknown time zone Nowhere/City");
    expect(errorOf(`${base}time_intervals: [{name: t}]\nmute_time_intervals: [{name: t}]\n`)).toContain('time interval "t" is not unique');
  });

  test("YAML syntax errors and unreadable files", () => {
    expect(errorOf("route: [\n")).toMatch(/^am\.yml:\d+:\d+: yaml: /);
    expect(() => loadAlertmanagerConfigFile(join(dir, "missing.yml"))).toThrow("no such file or directory");
  });
});

describe("checkAlertmanagerConfigFiles", () => {
  test("amtool check-config output", () => {
    write("t.tmpl", '{{ define "x" }}x{{ end }}');
    const good = write("good.yml", FULL.replace("tmpl/*.tmpl", "*.tmpl"));
    const bad = write("bad.yml", "route: {receiver: nope}\nreceivers: [{name: a}]\n");
    const lines: string[] = [];
    const code = checkAlertmanagerConfigFiles([good, bad], (l) => lines.push(l));
    expect(code).toBe(1);
    expect(lines).toEqual([
      `Checking '${good}'  SUCCESS`,
      "Found:",
      " - global config",
      " - route",
      " - 2 inhibit rules",
      " - 2 receivers",
      " - 1 templates",
      "  SUCCESS",
      "",
      `Checking '${bad}'  FAILED: ${bad}:1:19: field route.receiver: undefined receiver "nope" used in route`,
      "",
    ]);
    const okLines: string[] = [];
    expect(checkAlertmanagerConfigFiles([good], (l) => okLines.push(l))).toBe(0);
    write("broken.tmpl", '{{ define "x" }}{{ .Foo ');
    const broken = write("broken.yml", FULL.replace("tmpl/*.tmpl", "broken.tmpl"));
    const brokenLines: string[] = [];
    expect(checkAlertmanagerConfigFiles([broken], (l) => brokenLines.push(l))).toBe(1);
    expect(brokenLines.at(-2)).toStartWith("  FAILED: ");
  });
});

describe("http_config is prometheus/common's HTTPClientConfig, as in prometheus.yml", () => {
  const global = (http: string) => `global:\n  http_config:\n${http}\nroute: {receiver: a}\nreceivers: [{name: a}]\n`;

  test("oauth2 and proxy settings are decoded and checked like Prometheus's", () => {
    const c = parse(global("    oauth2: {client_id: id, client_secret: s, token_url: 'http://auth/token'}\n    proxy_from_environment: true"));
    expect(c.global.http_config.oauth2).toEqual(expect.objectContaining({ client_id: "id", token_url: "http://auth/token" }));
    expect(c.global.http_config.proxy_from_environment).toBe(true);
    expect(errorOf(global("    oauth2: {client_secret: s, token_url: 'http://auth/token'}"))).toContain("oauth2 client_id must be configured");
    expect(errorOf(global("    proxy_url: 'http://proxy:3128'\n    proxy_from_environment: true"))).toContain(
      "if proxy_from_environment is configured, proxy_url must not be configured",
    );
  });

  test("a client certificate needs its key, and TLS versions are checked", () => {
    expect(errorOf(global("    tls_config: {cert_file: c.pem}"))).toContain("exactly one of key or key_file must be configured");
    expect(errorOf(global("    tls_config: {min_version: TLS99}"))).toContain("unknown TLS version: TLS99");
  });
});
