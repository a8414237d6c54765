/**
 * What an HTTP client config (`basic_auth`, `authorization`, `tls_config`,
 * `proxy_url`, `follow_redirects` — prometheus/common's HTTPClientConfig,
 * used by scrape jobs, service discovery, Alertmanager targets and
 * webhook receivers alike) means for one fetch. Secret files are read on
 * every request, as Prometheus does, so a rotated secret is picked up
 * without a reload.
 *
 * @example
 * const res = await fetch(url, httpRequestInit(cfg, { headers: { Accept: "application/json" }, signal }));
 */
import { readFileSync } from "node:fs";
import type { Authorization, BasicAuth, TLSConfig } from "./types.ts";

/** The parts of an HTTP client config that shape a request. */
export interface HTTPClientSettings {
  basic_auth?: BasicAuth;
  authorization?: Partial<Authorization>;
  oauth2?: unknown;
  tls_config?: Partial<TLSConfig>;
  proxy_url?: string;
  follow_redirects?: boolean;
}

/** fetch options plus Bun's `tls` and `proxy` extensions. */
export type HTTPRequestInit = RequestInit & { tls?: Record<string, unknown>; proxy?: string };

/** Reads a secret file (trimmed); the error names what the file was for. */
export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new Error(`unable to read ${what} file ${path}: ${(e as Error).message}`);
  }
}

/**
 * The `Authorization` header value for `cfg`, or undefined when it has no
 * credentials.
 *
 * @example
 * authorizationHeader({ basic_auth: { username: "u", password: "p" } }) // "Basic dTpw"
 */
export function authorizationHeader(cfg: HTTPClientSettings): string | undefined {
  if (cfg.basic_auth) {
    const a = cfg.basic_auth;
    const user = a.username_file ? readSecretFile(a.username_file, "username") : a.username ?? "";
    const pass = a.password_file ? readSecretFile(a.password_file, "password") : a.password ?? "";
    return "Basic " + Buffer.from(`${user}:${pass}`).toString("base64");
  }
  if (cfg.authorization) {
    const a = cfg.authorization;
    const cred = a.credentials_file ? readSecretFile(a.credentials_file, "credentials") : a.credentials ?? "";
    return `${a.type || "Bearer"} ${cred}`;
  }
  return undefined;
}

/** Bun's TLS options for a `tls_config`, or undefined when it sets nothing. */
export function tlsFetchOptions(t: Partial<TLSConfig> | undefined): Record<string, unknown> | undefined {
  if (!t) return undefined;
  const o: Record<string, unknown> = {};
  if (t.insecure_skip_verify) o.rejectUnauthorized = false;
  const ca = t.ca ?? (t.ca_file ? readSecretFile(t.ca_file, "CA") : undefined);
  const cert = t.cert ?? (t.cert_file ? readSecretFile(t.cert_file, "certificate") : undefined);
  const key = t.key ?? (t.key_file ? readSecretFile(t.key_file, "key") : undefined);
  if (ca) o.ca = ca;
  if (cert) o.cert = cert;
  if (key) o.key = key;
  if (t.server_name) o.serverName = t.server_name;
  return Object.keys(o).length > 0 ? o : undefined;
}

/**
 * fetch options for one request under `cfg`: `init` plus the Authorization
 * header, TLS, proxy and redirect handling. Throws when a secret file
 * cannot be read.
 */
export function httpRequestInit(cfg: HTTPClientSettings, init: RequestInit = {}): HTTPRequestInit {
  const headers = new Headers(init.headers);
  const auth = authorizationHeader(cfg);
  if (auth !== undefined) headers.set("Authorization", auth);
  const out: HTTPRequestInit = { ...init, headers, redirect: cfg.follow_redirects === false ? "manual" : "follow" };
  const tls = tlsFetchOptions(cfg.tls_config);
  if (tls) out.tls = tls;
  if (cfg.proxy_url) out.proxy = cfg.proxy_url;
  return out;
}
