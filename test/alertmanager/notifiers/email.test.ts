/**
 * E-mail cases Alertmanager 0.25 cannot be compared on: implicit TLS
 * (`force_implicit_tls`, the newer releases' switch; port 465 is the other
 * trigger) with AUTH PLAIN, through a local aiosmtpd server; and a server
 * without STARTTLS while `require_tls` is on, which fails (retryably).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildIntegrations, notificationTemplates } from "../../../src/alertmanager/notifiers/index.ts";
import type { NotifyContext } from "../../../src/alertmanager/index.ts";
import { parseAlertmanagerConfig } from "../../../src/config/index.ts";
import { nopLogger } from "../../../src/log/index.ts";
import { labelsFromRecord } from "../../../src/model/index.ts";
import { peerAvailable } from "../../support/peers.ts";
import { spawnChild, waitUntil, type Child } from "../../support/processes.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dir, "../../support/smtp_capture.py");
let dir = "";
let skip = false;
const children: Child[] = [];

async function smtp(args: string[]): Promise<{ child: Child; port: number }> {
  const child = spawnChild("smtp", [PYTHON, SCRIPT, "0", ...args]);
  children.push(child);
  const port = await waitUntil("smtp server", () => Number(/READY (\d+)/.exec(child.stdout())?.[1]) || undefined, 20_000, [child]);
  return { child, port };
}

beforeAll(() => {
  if (!peerAvailable(existsSync("/usr/lib/python3/dist-packages/aiosmtpd") && Bun.which("openssl"), "python3-aiosmtpd", "python3-aiosmtpd or openssl not installed")) {
    skip = true;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "promts-email-"));
  const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stderr: "pipe" });
  expect(gen.exitCode).toBe(0);
});

afterAll(async () => {
  for (const c of children) await c.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 20_000);

const ctx = (): NotifyContext => ({
  groupKey: "{}:{}", receiverName: "mail", groupLabels: labelsFromRecord({ alertname: "X" }), repeatInterval: 1, muteTimeIntervals: [], activeTimeIntervals: [],
  signal: AbortSignal.timeout(10_000),
});
const ALERT = { labels: labelsFromRecord({ alertname: "X" }), annotations: labelsFromRecord({}), startsAt: Date.now(), endsAt: 0, generatorURL: "", updatedAt: 0, timeout: true };

function mailer(extra: string) {
  const { config } = parseAlertmanagerConfig(`route: {receiver: mail}\nreceivers:\n  - name: mail\n    email_configs:\n      - to: 'a@x.test, b@x.test'\n        from: am@x.test\n${extra}`, "m.yml");
  return buildIntegrations(config.receivers[0]!, { templates: notificationTemplates([]), externalURL: "", version: "0.27.0", logger: nopLogger })[0]!;
}

test("implicit TLS with AUTH PLAIN, verified against the server's CA", async () => {
  if (skip) return;
  const { child, port } = await smtp(["--implicit-tls", join(dir, "cert.pem"), join(dir, "key.pem"), "--auth", "u", "p", "--exclude", "LOGIN", "--exclude", "CRAM-MD5"]);
  const m = mailer(`        smarthost: 'localhost:${port}'\n        force_implicit_tls: true\n        require_tls: false\n        auth_username: u\n        auth_password: p\n        tls_config: {ca_file: '${join(dir, "cert.pem")}'}\n`);
  expect(await m.notify(ctx(), [ALERT], Date.now())).toEqual({ retry: false });
  const line = await waitUntil("the message", () => child.stdout().split("\n").find((l) => l.startsWith("{")));
  const got = JSON.parse(line) as { tls: boolean; auth: string; rcpt_tos: string[]; login: string };
  expect(got).toMatchObject({ tls: true, auth: "PLAIN", login: "u", rcpt_tos: ["a@x.test", "b@x.test"] });
});

test("require_tls against a server without STARTTLS fails, retryably, with Alertmanager's message", async () => {
  if (skip) return;
  const { port } = await smtp([]);
  const r = await mailer(`        smarthost: '127.0.0.1:${port}'\n`).notify(ctx(), [ALERT], Date.now());
  expect(r.retry).toBe(true);
  expect(r.error?.message).toBe(`'require_tls' is true (default) but "127.0.0.1:${port}" does not advertise the STARTTLS extension`);
});
