/**
 * Turns the `http_client_config` part of an SD config (basic_auth,
 * authorization, tls_config, proxy_url, follow_redirects) into fetch options.
 * Credential files are read on every request, as Prometheus does, so a
 * rotated secret is picked up without a reload.
 */
import { readFileSync } from "node:fs";
import type { Authorization, BasicAuth, TLSConfig } from "../config/index.ts";

/** The subset of the config room's `HTTPClientConfig` discovery honours. */
export interface SDHTTPClientConfig {
  basic_auth?: BasicAuth;
  authorization?: Authorization;
  oauth2?: unknown;
  tls_config?: Partial<TLSConfig>;
  proxy_url?: string;
  follow_redirects?: boolean;
}

/** fetch options plus Bun's `tls` and `proxy` extensions. */
export type SDRequestInit = RequestInit & { tls?: Record<string, unknown>; proxy?: string };

function readSecret(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new Error(`unable to read ${what} file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Rejects client settings discovery cannot honour, naming the mechanism;
 * call it from a discoverer's constructor so the config counts as failed.
 */
export function checkHTTPClientConfig(cfg: SDHTTPClientConfig, mechanism: string): void {
  if (cfg.oauth2 !== undefined) throw new Error(`${mechanism}: oauth2 is not supported by promts service discovery`);
}

/**
 * The `Authorization` header value for `cfg`, or undefined when it has no
 * credentials. Reads `*_file` secrets now.
 *
 * @example
 * authorizationHeader({ basic_auth: { username: "u", password: "p" } }) // "Basic dTpw"
 */
export function authorizationHeader(cfg: SDHTTPClientConfig): string | undefined {
  if (cfg.basic_auth) {
    const a = cfg.basic_auth;
    const user = a.username_file ? readSecret(a.username_file, "username") : a.username ?? "";
    const pass = a.password_file ? readSecret(a.password_file, "password") : a.password ?? "";
    return "Basic " + Buffer.from(`${user}:${pass}`).toString("base64");
  }
  if (cfg.authorization) {
    const a = cfg.authorization;
    const cred = a.credentials_file ? readSecret(a.credentials_file, "credentials") : a.credentials ?? "";
    return `${a.type || "Bearer"} ${cred}`;
  }
  return undefined;
}

/**
 * fetch options for one request under `cfg`: the given headers plus
 * Authorization, TLS, proxy and redirect handling.
 *
 * @example
 * const res = await fetch(url, sdRequestInit(cfg, { Accept: "application/json" }, signal));
 */
export function sdRequestInit(cfg: SDHTTPClientConfig, headers: Record<string, string>, signal: AbortSignal): SDRequestInit {
  const h = new Headers(headers);
  const auth = authorizationHeader(cfg);
  if (auth !== undefined) h.set("Authorization", auth);
  const init: SDRequestInit = { method: "GET", headers: h, signal, redirect: cfg.follow_redirects === false ? "manual" : "follow" };
  const tls = tlsOptions(cfg.tls_config);
  if (tls) init.tls = tls;
  if (cfg.proxy_url) init.proxy = cfg.proxy_url;
  return init;
}

function tlsOptions(t: Partial<TLSConfig> | undefined): Record<string, unknown> | undefined {
  if (!t) return undefined;
  const o: Record<string, unknown> = {};
  if (t.insecure_skip_verify) o.rejectUnauthorized = false;
  const ca = t.ca ?? (t.ca_file ? readSecret(t.ca_file, "CA") : undefined);
  const cert = t.cert ?? (t.cert_file ? readSecret(t.cert_file, "certificate") : undefined);
  const key = t.key ?? (t.key_file ? readSecret(t.key_file, "key") : undefined);
  if (ca) o.ca = ca;
  if (cert) o.cert = cert;
  if (key) o.key = key;
  if (t.server_name) o.serverName = t.server_name;
  return Object.keys(o).length > 0 ? o : undefined;
}

/**
 * Reads a response body as text, failing once it exceeds `limitBytes` so a
 * misbehaving endpoint cannot exhaust memory.
 */
export async function readBodyLimited(res: Response, limitBytes: number, what: string): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel();
      throw new Error(`${what}: response body exceeds ${limitBytes} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
