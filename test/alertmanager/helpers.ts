/**
 * Test helpers: an in-process webhook receiver on 127.0.0.1:0 that records
 * what Alertmanager posts, a config builder and a polling wait.
 */
import { parseAlertmanagerConfig, type AlertmanagerConfigFile } from "../../src/config/index.ts";
import type { WebhookMessage } from "../../src/alertmanager/index.ts";
import { pollUntil } from "../support/wait.ts";

/** A received webhook request. */
export interface Received {
  path: string;
  headers: Headers;
  body: WebhookMessage;
}

/** A webhook receiver; `statuses` are answered in order, then 200. */
export function startReceiver(statuses: number[] = []): { url: string; received: Received[]; stop: () => void } {
  const received: Received[] = [];
  const queue = [...statuses];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as WebhookMessage;
      received.push({ path: new URL(req.url).pathname, headers: req.headers, body });
      return new Response("", { status: queue.shift() ?? 200 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, received, stop: () => server.stop(true) };
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws). */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  await pollUntil(what, check, { deadlineMs: timeoutMs, intervalMs: 2 });
}

/** Parses YAML config text for tests. */
export function config(text: string): AlertmanagerConfigFile {
  return parseAlertmanagerConfig(text, "alertmanager.yml").config;
}
