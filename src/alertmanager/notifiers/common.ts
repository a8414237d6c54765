/**
 * What every receiver integration shares, as Alertmanager's notify
 * package has it: the template data of a notification, templating config
 * fields (the first error wins, as notify.TmplText), truncation with the
 * `…` marker, the group-key hash used as dedup/incident key, and turning
 * an HTTP answer into success, retry or failure with a failure reason.
 */
import { createHash } from "node:crypto";
import { httpRequestInit, readSecretFile, type AlertmanagerHTTPConfig } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import { labelsToRecord } from "../../model/index.ts";
import { newAlertmanagerData, type AlertmanagerData, type TemplateSet } from "../../template/index.ts";
import type { NotifyContext, NotifyResult } from "../pipeline.ts";
import { alertStatus, fingerprint, type Alert } from "../types.ts";

/** Settings every integration of one Alertmanager shares. */
export interface NotifierDeps {
  /** Default templates plus the config's `templates:` files. */
  templates: TemplateSet;
  externalURL: string;
  /** Alertmanager version for the User-Agent (`Alertmanager/<version>`). */
  version: string;
  /** Injectable for tests; the global fetch by default. */
  fetch?: typeof fetch;
  logger: Logger;
}

/** Why a notification failed: the `reason` label of alertmanager_notifications_failed_total. */
export type FailureReason = "other" | "clientError" | "serverError" | "contextCanceled" | "contextDeadlineExceeded";

/** Every reason, for initialising metric series. */
export const FAILURE_REASONS: readonly FailureReason[] = ["other", "clientError", "serverError", "contextCanceled", "contextDeadlineExceeded"];

/** Alertmanager's GetFailureReasonFromStatusCode. */
export function reasonFromStatus(status: number): FailureReason {
  if (status >= 400 && status < 500) return "clientError";
  if (status >= 500 && status < 600) return "serverError";
  return "other";
}

/** The notification's template data (`.Receiver`, `.Alerts`, `.CommonLabels`, …) at `now`. */
export function templateData(ctx: Pick<NotifyContext, "receiverName" | "groupLabels">, alerts: Alert[], now: number, externalURL: string): AlertmanagerData {
  return newAlertmanagerData(receiverOf(ctx), labelsToRecord(ctx.groupLabels), alerts.map((a) => ({
    status: alertStatus(a, now),
    labels: labelsToRecord(a.labels),
    annotations: labelsToRecord(a.annotations),
    startsAt: a.startsAt,
    endsAt: a.endsAt === 0 ? undefined : a.endsAt,
    generatorURL: a.generatorURL,
    fingerprint: fingerprint(a.labels),
  })), externalURL);
}

function receiverOf(ctx: Pick<NotifyContext, "receiverName">): string {
  return ctx.receiverName;
}

/** "firing" when any alert fires at `now`, else "resolved" (types.Alerts.Status). */
export function groupStatus(alerts: Alert[], now: number): "firing" | "resolved" {
  return alerts.some((a) => alertStatus(a, now) === "firing") ? "firing" : "resolved";
}

/**
 * Templates config fields against one notification's data. Like
 * Alertmanager's TmplText, an empty text gives "" and the first error is
 * kept (later fields then render ""), to be checked once at the end.
 */
export class Templater {
  error: Error | undefined;

  constructor(private readonly set: TemplateSet, readonly data: AlertmanagerData, private readonly html = false) {}

  async text(s: string | undefined): Promise<string> {
    if (this.error || !s) return "";
    // Each field is one template run; let the event loop turn between them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      return this.html ? await this.set.expandHTML(s, this.data) : await this.set.expand(s, this.data);
    } catch (e) {
      this.error = e as Error;
      return "";
    }
  }

  /** Throws the first templating error so far, prefixed with `what`. */
  check(what: string): void {
    if (this.error) throw new Error(`${what}: ${this.error.message}`);
  }

  /** The same data rendered with html/template semantics. */
  asHTML(): Templater {
    const t = new Templater(this.set, this.data, true);
    t.error = this.error;
    return t;
  }
}

/** Alertmanager's group-key hash: hex SHA-256 of the group key (dedup_key, incident_key, alias, entity_id). */
export function hashGroupKey(groupKey: string): string {
  return createHash("sha256").update(groupKey).digest("hex");
}

const MARKER = "…";

/** notify.TruncateInRunes: at most `n` code points, the last one `…` when cut. */
export function truncateInRunes(s: string, n: number): [string, boolean] {
  const runes = [...s];
  if (runes.length <= n) return [s, false];
  if (n <= 3) return [runes.slice(0, n).join(""), true];
  return [runes.slice(0, n - 1).join("") + MARKER, true];
}

/** notify.TruncateInBytes: at most `n` UTF-8 bytes, ending in `…` (3 bytes) when cut, never splitting a character. */
export function truncateInBytes(s: string, n: number): [string, boolean] {
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length <= n) return [s, false];
  if (n <= 3) return [bytes.subarray(0, n).toString("utf8"), true];
  let end = n - 3;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return [bytes.subarray(0, end).toString("utf8") + MARKER, true];
}

/** A secret given inline or in a file (read on every notification, trimmed). */
export function secretValue(inline: string | undefined, file: string | undefined, what: string): string {
  if (inline) return inline;
  if (file) return readSecretFile(file, what);
  return "";
}

/** An HTTP request an integration makes. */
export interface OutgoingRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Sends `req` under the integration's `http_config`, with Alertmanager's
 * User-Agent. Resolves with the response, or with a retryable failure
 * when the request could not be made (network error, timeout).
 */
export async function send(deps: NotifierDeps, http: AlertmanagerHTTPConfig | undefined, req: OutgoingRequest, signal: AbortSignal): Promise<Response | NotifyResult> {
  let init: RequestInit;
  try {
    init = httpRequestInit(http ?? {}, {
      method: req.method ?? "POST",
      headers: { "user-agent": `Alertmanager/${deps.version}`, ...req.headers },
      body: req.body,
      signal,
    });
  } catch (e) {
    return { error: e as Error, retry: false };
  }
  try {
    return await (deps.fetch ?? fetch)(req.url, init);
  } catch (e) {
    const reason: FailureReason = signal.aborted ? abortReason(signal) : "other";
    return { error: new Error(`${req.method ?? "POST"} ${redactURL(req.url)}: ${(e as Error).message}`), retry: true, reason };
  }
}

function abortReason(signal: AbortSignal): FailureReason {
  const r = signal.reason as { message?: string } | undefined;
  return r?.message?.includes("deadline") ? "contextDeadlineExceeded" : "contextCanceled";
}

/** Keeps secrets in URLs (tokens in paths, API keys in queries) out of error messages: scheme and host only. */
export function redactURL(u: string): string {
  return URL.canParse(u) ? `${new URL(u).origin}/<redacted>` : "<redacted>";
}

/** POSTs a JSON body (Content-Type application/json). */
export function postJSON(deps: NotifierDeps, http: AlertmanagerHTTPConfig | undefined, url: string, body: unknown, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response | NotifyResult> {
  return send(deps, http, { url, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } }, signal);
}

/**
 * notify.Retrier.Check: 2xx succeeds; 5xx and `retryCodes` (429 by
 * default) are retried; anything else fails at once. The error carries
 * the answer's body (or what `details` extracts from it).
 */
export async function checkResponse(res: Response, retryCodes: readonly number[] = [429], details?: (body: string) => string): Promise<NotifyResult> {
  const body = await res.text().catch(() => "");
  if (res.status >= 200 && res.status < 300) return { retry: false };
  const retry = (res.status >= 500 && res.status < 600) || retryCodes.includes(res.status);
  const detail = details ? details(body) : body;
  const message = `unexpected status code ${res.status}${detail ? `: ${detail}` : ""}`;
  return { error: new Error(message), retry, reason: reasonFromStatus(res.status) };
}

/** Sends and checks in one step. */
export async function sendChecked(
  deps: NotifierDeps, http: AlertmanagerHTTPConfig | undefined, req: OutgoingRequest, signal: AbortSignal,
  retryCodes?: readonly number[], details?: (body: string) => string,
): Promise<NotifyResult> {
  const res = await send(deps, http, req, signal);
  if (!(res instanceof Response)) return res;
  return checkResponse(res, retryCodes, details);
}

/** A failure found before sending (templating, unreadable secret file): not retried. */
export function failed(what: string, e: unknown): NotifyResult {
  return { error: new Error(`${what}: ${(e as Error).message ?? String(e)}`), retry: false, reason: "other" };
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` percent-encoded, spaces as `+`. */
export function goQueryEscape(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Go's url.Values.Encode: pairs sorted by key (stable within a key), query-escaped. */
export function encodeQuery(pairs: [string, string][]): string {
  return [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`).join("&");
}
