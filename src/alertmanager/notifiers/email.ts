/**
 * E-mail over SMTP, as Alertmanager sends it: implicit TLS on port 465
 * (or with `force_implicit_tls`), otherwise plain TCP upgraded by
 * STARTTLS when `require_tls` (failing when the server does not offer
 * it); EHLO with `hello`; AUTH with the first mechanism the server lists
 * that the credentials allow (CRAM-MD5 with `auth_secret`, PLAIN with
 * `auth_identity`, LOGIN); one MAIL FROM, a RCPT TO per `to` address; a
 * multipart/alternative message (text part first when `text` is set, the
 * html/template-escaped HTML part last, both quoted-printable) under the
 * configured headers (Subject/To/From defaulted, values Q-encoded), a
 * Message-Id and a Date.
 */
import { randomBytes, randomInt } from "node:crypto";
import { isIP } from "node:net";
import { hostname } from "node:os";
import type { ConnectionOptions } from "node:tls";
import { tlsFetchOptions, type EmailConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { failed, secretValue, Templater, templateData, type NotifierDeps } from "./common.ts";
import { cramMD5, parseAddressList, qEncodeHeader, quotedPrintable, SMTPClient } from "./smtp.ts";

const DEFAULT_SUBJECT = `{{ template "email.default.subject" . }}`;

/** Go's time.RFC1123Z: `Mon, 02 Jan 2006 15:04:05 -0700` in local time. */
export function rfc1123z(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  return `${days[d.getDay()]}, ${p(d.getDate())} ${months[d.getMonth()]} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `
    + `${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
}

/** A configured e-mail integration. */
export class EmailNotifier implements Integration {
  readonly name = "email";
  readonly sendResolved: boolean;
  private readonly headers: Record<string, string>;
  private readonly host: string;
  private readonly port: number;

  constructor(readonly conf: EmailConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
    this.headers = { ...conf.headers };
    this.headers.Subject ??= DEFAULT_SUBJECT;
    this.headers.To ??= conf.to;
    this.headers.From ??= conf.from;
    const m = /^\[?(.*?)\]?:([^:]*)$/.exec(conf.smarthost) ?? [];
    this.host = m[1] ?? conf.smarthost;
    this.port = Number(m[2] ?? 25);
  }

  /** The message (headers and body, CRLF lines) for `alerts`. */
  async message(ctx: NotifyContext, alerts: Alert[], now: number): Promise<{ from: string; to: string[]; text: string }> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const from = await t.text(c.from);
    t.check("execute 'from' template");
    const to = await t.text(c.to);
    t.check("execute 'to' template");
    const fromAddrs = parseAddressList(from);
    if (fromAddrs.length !== 1) throw new Error(`must be exactly one 'from' address (got: ${fromAddrs.length})`);
    const toAddrs = parseAddressList(to);
    let head = "";
    for (const [name, tmpl] of Object.entries(this.headers)) {
      const value = await t.text(tmpl);
      t.check(`execute ${JSON.stringify(name)} header template`);
      head += `${name}: ${qEncodeHeader(value)}\r\n`;
    }
    if (!("Message-Id" in this.headers)) head += `Message-Id: <${BigInt(Date.now()) * 1_000_000n + BigInt(randomInt(1_000_000))}.${randomBytes(8).readBigUInt64BE()}@${hostname()}>\r\n`;
    const boundary = randomBytes(30).toString("hex");
    head += `Date: ${rfc1123z(new Date())}\r\n`;
    head += `Content-Type: multipart/alternative;  boundary=${boundary}\r\n`;
    head += "MIME-Version: 1.0\r\n\r\n";
    const parts: string[] = [];
    if (c.text) {
      const body = await t.text(c.text);
      t.check("execute text template");
      parts.push(`Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n${quotedPrintable(body)}`);
    }
    if (c.html) {
      const html = t.asHTML();
      const body = await html.text(c.html);
      html.check("execute html template");
      parts.push(`Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n${quotedPrintable(body)}`);
    }
    let multipart = parts.map((p, i) => `${i === 0 ? "" : "\r\n"}--${boundary}\r\n${p}`).join("");
    multipart += parts.length === 0 ? `--${boundary}--\r\n` : `\r\n--${boundary}--\r\n`;
    return { from: fromAddrs[0]!, to: toAddrs, text: head + multipart };
  }

  /** TLS settings from tls_config; the server name defaults to the smarthost's host (an IP is verified, not sent as SNI). */
  private tlsOptions(): ConnectionOptions {
    const o = (tlsFetchOptions(this.conf.tls_config) ?? {}) as ConnectionOptions & { serverName?: string };
    const name = o.serverName ?? this.host;
    delete o.serverName;
    if (isIP(name)) o.host = name;
    else o.servername = name;
    return o;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    const retryable = (what: string, e: unknown): NotifyResult => ({ error: new Error(`${what}: ${(e as Error).message}`), retry: true, reason: "other" });
    let client: SMTPClient;
    const implicitTLS = this.port === 465 || c.force_implicit_tls === true;
    try {
      client = await SMTPClient.connect(this.host, this.port, { tls: implicitTLS ? this.tlsOptions() : undefined, signal: ctx.signal });
    } catch (e) {
      return retryable(implicitTLS ? "establish TLS connection to server" : "establish connection to server", e);
    }
    let success = false;
    try {
      if (c.hello) {
        try {
          await client.hello(c.hello);
        } catch (e) {
          return retryable("send EHLO command", e);
        }
      }
      if (c.require_tls && !client.tls) {
        const [ok] = await client.extension("STARTTLS");
        if (!ok) return { error: new Error(`'require_tls' is true (default) but "${c.smarthost}" does not advertise the STARTTLS extension`), retry: true, reason: "other" };
        try {
          await client.startTLS(this.tlsOptions());
        } catch (e) {
          return retryable("send STARTTLS command", e);
        }
      }
      const [hasAuth, mechs] = await client.extension("AUTH");
      if (hasAuth && c.auth_username) {
        try {
          await this.authenticate(client, mechs);
        } catch (e) {
          return retryable("auth", e);
        }
      }
      let msg: { from: string; to: string[]; text: string };
      try {
        msg = await this.message(ctx, alerts, now);
      } catch (e) {
        return failed("email", e);
      }
      try {
        await client.mail(msg.from);
      } catch (e) {
        return retryable("send MAIL command", e);
      }
      for (const to of msg.to) {
        try {
          await client.rcpt(to);
        } catch (e) {
          return retryable("send RCPT command", e);
        }
      }
      try {
        await client.data(msg.text);
      } catch (e) {
        return retryable("send DATA command", e);
      }
      success = true;
      return { retry: false };
    } catch (e) {
      return retryable("smtp", e);
    } finally {
      // QUIT politely, but never wait long for a server that stopped answering.
      const timer = setTimeout(() => client.close(), 5000);
      await client.quit().catch((e) => {
        if (success) this.deps.logger.warn("failed to close SMTP connection", { err: (e as Error).message });
      });
      clearTimeout(timer);
    }
  }

  /** The first mechanism of the server's list that the configured credentials allow. */
  private async authenticate(client: SMTPClient, mechs: string): Promise<void> {
    const c = this.conf;
    const user = c.auth_username!;
    const problems: string[] = [];
    for (const mech of mechs.split(" ")) {
      if (mech === "CRAM-MD5") {
        if (!c.auth_secret) {
          problems.push("missing secret for CRAM-MD5 auth mechanism");
          continue;
        }
        return client.auth("CRAM-MD5", undefined, (ch) => cramMD5(user, c.auth_secret!, ch));
      }
      if (mech === "PLAIN" || mech === "LOGIN") {
        let password: string;
        try {
          password = secretValue(c.auth_password, c.auth_password_file, "auth_password");
        } catch (e) {
          problems.push((e as Error).message);
          continue;
        }
        if (!password) {
          problems.push(`missing password for ${mech} auth mechanism`);
          continue;
        }
        if (mech === "PLAIN") {
          if (!client.tls && !["localhost", "127.0.0.1", "::1"].includes(client.serverName)) throw new Error("*smtp.plainAuth auth: unencrypted connection");
          return client.auth("PLAIN", `${c.auth_identity ?? ""}\0${user}\0${password}`, () => {
            throw new Error("unexpected server challenge");
          });
        }
        return client.auth("LOGIN", undefined, (ch) => {
          switch (ch.toLowerCase()) {
            case "username:":
              return user;
            case "password:":
              return password;
            default:
              throw new Error("unexpected server challenge");
          }
        });
      }
    }
    throw new Error(problems.length > 0 ? problems.join("; ") : `unknown auth mechanism: ${mechs}`);
  }
}
