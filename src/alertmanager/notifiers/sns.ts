/**
 * Amazon SNS `Publish` over the AWS Query protocol: a form-encoded POST to
 * the regional endpoint (or `api_url`), signed with AWS Signature V4 from
 * the `sigv4` credentials (or the environment's AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY). FIFO topics (`.fifo`) get the group key's
 * SHA-256 as deduplication and group ID; a message over 256 KiB is cut
 * and flagged with a `truncated` attribute.
 */
import { createHash, createHmac } from "node:crypto";
import type { SNSConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { checkResponse, encodeQuery, failed, hashGroupKey, send, Templater, templateData, truncateInBytes, type NotifierDeps } from "./common.ts";

const MAX_MESSAGE_BYTES = 256 * 1024;

/** A configured SNS integration. */
export class SNSNotifier implements Integration {
  readonly name = "sns";
  readonly sendResolved: boolean;

  constructor(readonly conf: SNSConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  /** The Publish parameters for `alerts`. */
  async params(ctx: NotifyContext, alerts: Alert[], now: number): Promise<[string, string][]> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const p: [string, string][] = [["Action", "Publish"]];
    const attributes: [string, string][] = [];
    for (const [k, v] of Object.entries(c.attributes ?? {})) attributes.push([await t.text(k), await t.text(v)]);
    if (c.topic_arn) {
      const topic = await t.text(c.topic_arn);
      p.push(["TopicArn", topic]);
      if (topic.endsWith(".fifo")) {
        const key = hashGroupKey(ctx.groupKey);
        p.push(["MessageDeduplicationId", key], ["MessageGroupId", key]);
      }
    }
    if (c.phone_number) p.push(["PhoneNumber", await t.text(c.phone_number)]);
    if (c.target_arn) p.push(["TargetArn", await t.text(c.target_arn)]);
    const [message, cut] = truncateInBytes(await t.text(c.message), MAX_MESSAGE_BYTES);
    if (cut) attributes.push(["truncated", "true"]);
    p.push(["Message", message]);
    attributes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    attributes.forEach(([name, value], i) => {
      p.push([`MessageAttributes.entry.${i + 1}.Name`, name]);
      p.push([`MessageAttributes.entry.${i + 1}.Value.DataType`, "String"]);
      p.push([`MessageAttributes.entry.${i + 1}.Value.StringValue`, value]);
    });
    if (c.subject) p.push(["Subject", await t.text(c.subject)]);
    p.push(["Version", "2010-03-31"]);
    if (t.error) throw t.error;
    return p;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    let body: string;
    let url: string;
    let headers: Record<string, string>;
    try {
      body = encodeQuery(await this.params(ctx, alerts, now));
      const region = c.sigv4.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "";
      if (!region) throw new Error("no AWS region: set sigv4.region or AWS_REGION");
      // The SDK joins the endpoint's path with the operation's path "/".
      url = c.api_url ? c.api_url.replace(/\/?$/, "/") : `https://sns.${region}.amazonaws.com/`;
      const accessKey = c.sigv4.access_key || process.env.AWS_ACCESS_KEY_ID || "";
      const secretKey = c.sigv4.secret_key || process.env.AWS_SECRET_ACCESS_KEY || "";
      if (!accessKey || !secretKey) throw new Error("no AWS credentials: set sigv4.access_key/secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
      headers = signV4({
        method: "POST", url, region, service: "sns", body, accessKey, secretKey, sessionToken: process.env.AWS_SESSION_TOKEN,
        headers: { "content-length": String(Buffer.byteLength(body)), "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, date: new Date(),
      });
    } catch (e) {
      return failed("sns", e);
    }
    const res = await send(this.deps, c.http_config, { url, body, headers }, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429], (text) => /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text);
  }
}

/** What {@link signV4} signs. */
export interface SignV4Input {
  method: string;
  url: string;
  region: string;
  service: string;
  body: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  headers: Record<string, string>;
  date: Date;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const hmac = (key: string | Buffer, s: string) => createHmac("sha256", key).update(s).digest();

/** AWS Signature Version 4: returns the headers to send (the given ones plus host, x-amz-date and authorization). */
export function signV4(i: SignV4Input): Record<string, string> {
  const u = new URL(i.url);
  const amzDate = i.date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...i.headers, host: u.host, "x-amz-date": amzDate };
  if (i.sessionToken) headers["x-amz-security-token"] = i.sessionToken;
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, " ")]));
  const query = [...u.searchParams.entries()].sort().map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const canonical = [i.method, u.pathname || "/", query, names.map((n) => `${n}:${lower[n]}\n`).join(""), names.join(";"), sha256(i.body)].join("\n");
  const scope = `${day}/${i.region}/${i.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${i.secretKey}`, day), i.region), i.service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${i.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  delete headers.host;
  delete headers["content-length"];
  return headers;
}
