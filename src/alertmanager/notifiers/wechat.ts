/**
 * WeChat Work: fetches an access token (GET `<api_url>gettoken?corpid=…&
 * corpsecret=…`, cached for two hours), then POSTs the message to
 * `<api_url>message/send?access_token=…`. Non-200 answers are retried; a
 * non-zero `code` in the answer fails (42001, an expired token, drops the
 * cached token and retries).
 */
import type { WechatConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { encodeQuery, failed, goQueryEscape, postJSON, secretValue, send, Templater, templateData, type NotifierDeps } from "./common.ts";

const TOKEN_LIFETIME = 2 * 3_600_000;

/** A configured WeChat integration. */
export class WechatNotifier implements Integration {
  readonly name = "wechat";
  readonly sendResolved: boolean;
  private accessToken = "";
  private accessTokenAt = 0;

  constructor(readonly conf: WechatConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    if (this.accessToken === "" || Date.now() - this.accessTokenAt > TOKEN_LIFETIME) {
      let url: string;
      try {
        const params = new URLSearchParams();
        params.append("corpid", await t.text(c.corp_id));
        params.append("corpsecret", await t.text(secretValue(c.api_secret, c.api_secret_file, "api_secret")));
        if (t.error) throw new Error(`templating error: ${t.error.message}`);
        url = `${c.api_url}gettoken?${encodeQuery([...params.entries()])}`;
      } catch (e) {
        return failed("wechat", e);
      }
      const res = await send(this.deps, c.http_config, { url, method: "GET" }, ctx.signal);
      if (!(res instanceof Response)) return res;
      let token: { access_token?: string };
      try {
        token = (await res.json()) as typeof token;
      } catch (e) {
        return failed("wechat", e);
      }
      if (!token.access_token) return { error: new Error(`invalid APISecret for CorpID: ${c.corp_id}`), retry: false, reason: "other" };
      this.accessToken = token.access_token;
      this.accessTokenAt = Date.now();
    }
    const content = { content: await t.text(c.message) };
    const msg = {
      text: c.message_type === "markdown" ? { content: "" } : content,
      ...Object.fromEntries(Object.entries({
        touser: await t.text(c.to_user), toparty: await t.text(c.to_party), totag: await t.text(c.to_tag), agentid: await t.text(c.agent_id),
      }).filter(([, v]) => v !== "")),
      safe: "0",
      msgtype: c.message_type,
      markdown: c.message_type === "markdown" ? content : { content: "" },
    };
    if (t.error) return failed("wechat", new Error(`templating error: ${t.error.message}`));
    const url = `${c.api_url}message/send?access_token=${goQueryEscape(this.accessToken)}`;
    const res = await postJSON(this.deps, c.http_config, url, msg, ctx.signal);
    if (!(res instanceof Response)) return res;
    if (res.status !== 200) return { error: new Error(`unexpected status code ${res.status}`), retry: true, reason: res.status >= 500 ? "serverError" : "clientError" };
    let answer: { code?: number; error?: string };
    try {
      answer = JSON.parse(await res.text()) as typeof answer;
    } catch (e) {
      return { error: e as Error, retry: true, reason: "other" };
    }
    if (!answer.code) return { retry: false };
    if (answer.code === 42001) {
      this.accessToken = "";
      return { error: new Error(answer.error ?? "access token expired"), retry: true, reason: "clientError" };
    }
    return { error: new Error(answer.error ?? `error code ${answer.code}`), retry: false, reason: "clientError" };
  }
}
