import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWebhookMessage, WebhookIntegration, type Alert, type NotifyContext } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { config, startReceiver } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-webhook-"));
const receiver = startReceiver([503, 404]);
afterAll(() => {
  receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2024, 0, 1);

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}, endsAt = 0): Alert {
  return { labels: labelsFromRecord(labels), annotations: labelsFromRecord(annotations), startsAt: T0, endsAt, generatorURL: "", updatedAt: T0, timeout: false };
}

const ctx: NotifyContext = {
  groupKey: '{}:{alertname="A"}', receiverName: "team.a (prod)", groupLabels: labelsFromRecord({ alertname: "A" }),
  repeatInterval: 1, muteTimeIntervals: [], activeTimeIntervals: [], signal: new AbortController().signal,
};

function webhook(yaml: string, index = 0): WebhookIntegration {
  const cfg = config(`route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n${yaml}`);
  return new WebhookIntegration(cfg.receivers[0]!.webhook_configs[index]!, index, { externalURL: "http://am", version: "0.27.0" });
}

describe("buildWebhookMessage", () => {
  test("common labels and annotations, status, quoted receiver", () => {
    const msg = buildWebhookMessage(ctx, [
      alert({ alertname: "A", i: "1", dc: "eu" }, { summary: "s", runbook: "r1" }),
      alert({ alertname: "A", i: "2", dc: "eu" }, { summary: "s", runbook: "r2" }, T0),
    ], T0, "http://am", 0);
    expect(msg.receiver).toBe("team\\.a \\(prod\\)");
    expect(msg.status).toBe("firing");
    expect(msg.commonLabels).toEqual({ alertname: "A", dc: "eu" });
    expect(msg.commonAnnotations).toEqual({ summary: "s" });
    expect(msg.alerts.map((a) => a.status)).toEqual(["firing", "resolved"]);
    expect(msg.alerts[1]!.endsAt).toBe("2024-01-01T00:00:00Z");
  });
});

describe("WebhookIntegration", () => {
  test("5xx is retryable, 4xx is not, 2xx succeeds; basic auth and user agent sent", async () => {
    const hook = webhook(`      - url: ${receiver.url}/x\n        http_config: {basic_auth: {username: u, password: p}}\n`);
    const first = await hook.notify(ctx, [alert({ alertname: "A" })], T0);
    expect(first.retry).toBe(true);
    expect(first.error?.message).toBe("unexpected status code 503");
    const second = await hook.notify(ctx, [alert({ alertname: "A" })], T0);
    expect(second).toMatchObject({ retry: false });
    expect(second.error?.message).toBe("unexpected status code 404");
    expect(await hook.notify(ctx, [alert({ alertname: "A" })], T0)).toEqual({ retry: false });
    const last = receiver.received.at(-1)!;
    expect(last.headers.get("authorization")).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    expect(last.headers.get("user-agent")).toBe("Alertmanager/0.27.0");
  });

  test("url_file and bearer token file are read when sending", async () => {
    writeFileSync(join(dir, "url"), `${receiver.url}/from-file\n`);
    writeFileSync(join(dir, "token"), "s3cret\n");
    const hook = webhook(`      - url_file: ${join(dir, "url")}\n        http_config: {bearer_token_file: ${join(dir, "token")}}\n`);
    expect(await hook.notify(ctx, [alert({ alertname: "A" })], T0)).toEqual({ retry: false });
    const last = receiver.received.at(-1)!;
    expect(last.path).toBe("/from-file");
    expect(last.headers.get("authorization")).toBe("Bearer s3cret");
  });

  test("network errors are retryable", async () => {
    const closed = startReceiver();
    closed.stop();
    const hook = webhook(`      - url: ${closed.url}/x\n`);
    const result = await hook.notify(ctx, [alert({ alertname: "A" })], T0);
    expect(result.retry).toBe(true);
    expect(result.error?.message).toStartWith("webhook: ");
  });
});
