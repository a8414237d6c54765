/**
 * Differential test of e-mail: the real Alertmanager 0.25 and promts's
 * Alertmanager load the same alertmanager.yml (email receivers only) and
 * get the same alerts; each sends to its own local SMTP servers
 * (test/support/smtp_capture.py on Debian's python3-aiosmtpd): one plain,
 * and three requiring STARTTLS and AUTH, offering only CRAM-MD5, only
 * LOGIN and only PLAIN. For every receiver
 * the envelope (MAIL FROM with its options, every RCPT TO, TLS, the AUTH
 * mechanism and login), the headers (as a set: Alertmanager writes them
 * in map order) and each MIME part byte for byte must agree.
 *
 * Not compared: Date and Message-Id values (checked for their format),
 * the multipart boundary (random; checked for its form), and the body of
 * the default `email.default.html`, which is promts's own layout (see
 * docs/differences.md); its part headers are compared and its visible
 * facts checked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Alertmanager } from "../../src/alertmanager/index.ts";
import { alertmanagerWebApp } from "../../src/server/index.ts";
import { loadAlertmanagerConfigFile } from "../../src/config/index.ts";
import { Registry } from "../../src/model/index.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager";
const PYTHON = "/usr/bin/python3";
const AIOSMTPD = "/usr/lib/python3/dist-packages/aiosmtpd";
const SMTP_SCRIPT = join(import.meta.dir, "../support/smtp_capture.py");
const EXTERNAL_URL = "http://alertmanager.example:9093";

type Instance = "real" | "promts";
type ServerKind = "plain" | "cram" | "login" | "plainonly";

/** One message as the capture server printed it. */
interface Received {
  mail_from: string;
  mail_options: string[];
  rcpt_tos: string[];
  auth: string | null;
  login: string | null;
  tls: boolean;
  data: string;
}

const servers = {} as Record<Instance, Record<ServerKind, { child: Child; port: number }>>;
const cleanups: (() => void | Promise<void>)[] = [];
const urls = {} as Record<Instance, string>;
let dir = "";
let skip = false;
let realChild: Child | undefined;

function config(ports: Record<ServerKind, number>): string {
  return `
global:
  smtp_from: 'Alertmanager <am@example.test>'
  smtp_hello: promts.test.local
  smtp_require_tls: false
route:
  receiver: plain
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - {receiver: plain, continue: true}
    - {receiver: default-html, continue: true}
    - {receiver: cram, continue: true}
    - {receiver: login, continue: true}
    - {receiver: plainauth, continue: true}
receivers:
  - name: plain
    email_configs:
      - to: 'ops@example.test, "Second Person" <second@example.test>'
        smarthost: 127.0.0.1:${ports.plain}
        send_resolved: true
        headers:
          X-Team: 'tëam {{ .GroupLabels.alertname }} — ünïcode, long enough to need more than one encoded word in the header'
          Reply-To: noreply@example.test
          subject: '{{ .Status | toUpper }} {{ .CommonAnnotations.summary }}'
        text: |
          {{ range .Alerts }}{{ .Labels.instance }}: {{ .Annotations.summary }} = {{ .Annotations.runbook }}
          {{ end }}A line long enough to be wrapped by quoted-printable soft line breaks, with trailing spaces   
          tab	and équals = signs.
        html: |
          <html><head><title>{{ .CommonAnnotations.summary }}</title></head><body>
          <p class="{{ .Status }}">{{ .CommonAnnotations.summary }}</p>
          {{ range .Alerts }}<a href="{{ .Annotations.runbook }}" title="{{ .Labels.instance }}">{{ .Labels.instance }}</a>
          <a href="{{ .GeneratorURL }}">source</a> <a href="http://x/?q={{ .Annotations.summary }}">q</a>{{ end }}
          <!-- a comment {{ .Receiver }} -->{{ safeHtml "<b>safe</b>" }}
          </body></html>
  - name: default-html
    email_configs:
      - to: default@example.test
        smarthost: 127.0.0.1:${ports.plain}
  - name: cram
    email_configs:
      - to: cram@example.test
        smarthost: 127.0.0.1:${ports.cram}
        require_tls: true
        tls_config: {insecure_skip_verify: true}
        auth_username: user
        auth_password: pass
        auth_secret: cram-secret
        text: 'cram {{ .Status }}'
        html: ''
  - name: login
    email_configs:
      - to: login@example.test
        smarthost: 127.0.0.1:${ports.login}
        require_tls: true
        tls_config: {insecure_skip_verify: true}
        auth_username: user
        auth_password: pass
        text: 'login {{ .Status }}'
  - name: plainauth
    email_configs:
      - to: plainauth@example.test
        smarthost: 127.0.0.1:${ports.plainonly}
        require_tls: true
        tls_config: {insecure_skip_verify: true}
        auth_username: user
        auth_password: pass
        auth_identity: ident
        text: 'plain {{ .Status }}'
`;
}

async function startSMTP(name: string, extra: string[]): Promise<{ child: Child; port: number }> {
  const child = spawnChild(name, [PYTHON, SMTP_SCRIPT, "0", ...extra]);
  const port = await waitUntil(`${name} to listen`, () => {
    const m = /READY (\d+)/.exec(child.stdout());
    return m ? Number(m[1]) : undefined;
  }, 20_000, [child]);
  cleanups.push(() => child.stop().then(() => undefined));
  return { child, port };
}

function received(instance: Instance): Received[] {
  return Object.values(servers[instance]).flatMap((s) =>
    s.child.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Received));
}

beforeAll(async () => {
  const ok = peerAvailable(existsSync(ALERTMANAGER_BINARY), ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} not installed (apt-get install prometheus-alertmanager)`)
    && peerAvailable(existsSync(AIOSMTPD) && existsSync(PYTHON), "python3-aiosmtpd", "python3-aiosmtpd not installed (apt-get install python3-aiosmtpd)")
    && peerAvailable(Bun.which("openssl"), "openssl", "openssl not installed");
  if (!ok) {
    skip = true;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "promts-am-email-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
  if (gen.exitCode !== 0) throw new Error(`openssl failed: ${gen.stderr.toString()}`);
  for (const instance of ["real", "promts"] as Instance[]) {
    const auth = ["--starttls", cert, key, "--auth", "user", "pass", "--cram-secret", "cram-secret"];
    const [plain, cram, login, plainonly] = await Promise.all([
      startSMTP(`smtp-plain-${instance}`, []),
      startSMTP(`smtp-cram-${instance}`, [...auth, "--exclude", "LOGIN", "--exclude", "PLAIN"]),
      startSMTP(`smtp-login-${instance}`, [...auth, "--exclude", "PLAIN", "--exclude", "CRAM-MD5"]),
      startSMTP(`smtp-plainonly-${instance}`, [...auth, "--exclude", "LOGIN", "--exclude", "CRAM-MD5"]),
    ]);
    servers[instance] = { plain, cram, login, plainonly };
  }
  const ports = (i: Instance) => ({ plain: servers[i].plain.port, cram: servers[i].cram.port, login: servers[i].login.port, plainonly: servers[i].plainonly.port });

  const realConfig = join(dir, "real.yml");
  writeFileSync(realConfig, config(ports("real")));
  const realPort = freePort();
  realChild = spawnChild("alertmanager", [
    ALERTMANAGER_BINARY, `--config.file=${realConfig}`, `--storage.path=${join(dir, "real-data")}`,
    `--web.listen-address=127.0.0.1:${realPort}`, "--cluster.listen-address=", `--web.external-url=${EXTERNAL_URL}`,
  ]);
  urls.real = `http://127.0.0.1:${realPort}`;

  const promtsConfig = join(dir, "promts.yml");
  writeFileSync(promtsConfig, config(ports("promts")));
  const loaded = loadAlertmanagerConfigFile(promtsConfig);
  const registry = new Registry();
  const am = new Alertmanager({ config: loaded.config, configText: loaded.text, storagePath: join(dir, "promts-data"), externalURL: EXTERNAL_URL, registry });
  const app = alertmanagerWebApp({
    alertmanager: () => am, registry, reload: async () => undefined,
    versionInfo: { branch: "", buildDate: "", buildUser: "", goVersion: "", revision: "", version: "0.27.0" },
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  cleanups.push(async () => {
    server.stop(true);
    await am.stop();
  });
  urls.promts = `http://127.0.0.1:${server.port}`;
  await waitForOK(`${urls.real}/-/ready`, realChild);
}, 60_000);

afterAll(async () => {
  await realChild?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** A message split into headers (unfolded, sorted, volatile values replaced) and its MIME parts. */
function dissect(raw: string): { headers: string[]; parts: string[]; boundary: string } {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const head = text.slice(0, split).replace(/\n[ \t]/g, " ");
  const body = text.slice(split + 2);
  let boundary = "";
  const headers = head.split("\n").map((h) => {
    if (/^Date: /i.test(h)) {
      expect(h).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
      return "Date: <date>";
    }
    if (/^Message-Id: /i.test(h)) {
      expect(h).toMatch(/^Message-Id: <\d+\.\d+@[^>]+>$/);
      return "Message-Id: <id>";
    }
    const m = /^(Content-Type: multipart\/alternative;\s+boundary=)(\S+)$/.exec(h);
    if (m) {
      boundary = m[2]!;
      expect(boundary).toMatch(/^[0-9a-f]{60}$/);
      return `${m[1]}<boundary>`;
    }
    return h;
  }).sort();
  const parts = body.split(`--${boundary}`).map((p) => p);
  return { headers, parts, boundary };
}

async function post(body: unknown): Promise<void> {
  for (const i of ["real", "promts"] as Instance[]) {
    const res = await fetch(`${urls[i]}/api/v2/alerts`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
  }
}

function alerts(startsAt: string, endsAt: string): Record<string, unknown>[] {
  const labels = { alertname: "MailTest", job: "node", severity: "critical" };
  const annotations = { summary: `Disk <b>"full"</b> & 'more'`, runbook: "http://runbooks/disk?x=1&y=<2> z" };
  return [
    { labels: { ...labels, instance: "a:9100" }, annotations, startsAt, endsAt, generatorURL: "http://prom:9090/graph?g0.expr=up&g0.tab=1" },
    { labels: { ...labels, instance: "b:9100" }, annotations, startsAt, endsAt, generatorURL: "javascript:alert(1)" },
  ];
}

const byRecipient = (list: Received[], to: string) => list.filter((m) => m.rcpt_tos[0] === to);
/** Receivers whose HTML part is the default email.default.html. */
const DEFAULT_HTML = ["default@example.test", "login@example.test", "plainauth@example.test"];
const RECIPIENTS = ["ops@example.test", "default@example.test", "cram@example.test", "login@example.test", "plainauth@example.test"];

describe("e-mail: the MIME message and SMTP session agree with Alertmanager 0.25's", () => {
  test("plain, STARTTLS with CRAM-MD5, LOGIN and PLAIN; firing then resolved", async () => {
    if (skip) return;
    const starts = new Date().toISOString();
    await post(alerts(starts, new Date(Date.now() + 3_600_000).toISOString()));
    const expected = (n: Record<string, number>) => (i: Instance) => RECIPIENTS.every((r) => byRecipient(received(i), r).length >= (n[r] ?? 1));
    await waitUntil("firing mails on both sides", () => expected({})("real") && expected({})("promts"), 60_000, realChild ? [realChild] : []);
    await post(alerts(starts, new Date(Date.now() - 1000).toISOString()));
    // Only the "plain" receiver sends resolved mails (send_resolved: true).
    await waitUntil("the resolved mail on both sides", () => expected({ "ops@example.test": 2 })("real") && expected({ "ops@example.test": 2 })("promts"), 60_000);

    for (const to of RECIPIENTS) {
      const real = byRecipient(received("real"), to);
      const promts = byRecipient(received("promts"), to);
      expect({ to, count: promts.length }).toEqual({ to, count: real.length });
      for (let k = 0; k < real.length; k++) {
        const [r, p] = [real[k]!, promts[k]!];
        const envelope = (m: Received) => ({ to, k, mail_from: m.mail_from, mail_options: m.mail_options, rcpt_tos: m.rcpt_tos, auth: m.auth, login: m.login, tls: m.tls });
        expect(envelope(p)).toEqual(envelope(r));
        const rm = dissect(Buffer.from(r.data, "base64").toString("latin1"));
        const pm = dissect(Buffer.from(p.data, "base64").toString("latin1"));
        expect({ to, k, headers: pm.headers }).toEqual({ to, k, headers: rm.headers });
        expect(pm.parts.length).toBe(rm.parts.length);
        for (let j = 0; j < rm.parts.length; j++) {
          if (DEFAULT_HTML.includes(to) && rm.parts[j]!.includes("text/html")) {
            // promts's own default layout: same part headers, same facts.
            const [rh, ph] = [rm.parts[j]!.split("\n\n")[0], pm.parts[j]!.split("\n\n")[0]];
            expect(ph).toBe(rh!);
            const html = pm.parts[j]!.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
            for (const fact of ["[FIRING:2] MailTest (node critical)", "a:9100", "b:9100", "&lt;b&gt;&#34;full&#34;&lt;/b&gt;", "View in Alertmanager"]) expect(html).toContain(fact);
            continue;
          }
          expect({ to, k, part: j, text: pm.parts[j] }).toEqual({ to, k, part: j, text: rm.parts[j] });
        }
      }
    }
  }, 150_000);
});
