/**
 * Turns the `http_client_config` part of an SD config (basic_auth,
 * authorization, tls_config, proxy_url, follow_redirects) into fetch options.
 * Credential files are read on every request, as Prometheus does, so a
 * rotated secret is picked up without a reload.
 */
import { readBoundedText } from "../base/index.ts";
import { authorizationHeader, httpRequestInit, type HTTPClientSettings, type HTTPRequestInit } from "../config/index.ts";

export { authorizationHeader };

/** The HTTP client settings discovery honours (the config room's, shared with scraping and notifications). */
export type SDHTTPClientConfig = HTTPClientSettings;

/** fetch options plus Bun's `tls` and `proxy` extensions. */
export type SDRequestInit = HTTPRequestInit;

/**
 * Rejects client settings discovery cannot honour, naming the mechanism;
 * call it from a discoverer's constructor so the config counts as failed.
 */
export function checkHTTPClientConfig(cfg: SDHTTPClientConfig, mechanism: string): void {
  if (cfg.oauth2 !== undefined) throw new Error(`${mechanism}: oauth2 is not supported by promts service discovery`);
}

/**
 * fetch options for one request under `cfg`: the given headers plus
 * Authorization, TLS, proxy and redirect handling.
 *
 * @example
 * const res = await fetch(url, sdRequestInit(cfg, { Accept: "application/json" }, signal));
 */
export function sdRequestInit(cfg: SDHTTPClientConfig, headers: Record<string, string>, signal: AbortSignal): SDRequestInit {
  return httpRequestInit(cfg, { method: "GET", headers, signal });
}

/**
 * Reads a response body as text, failing once it exceeds `limitBytes` so a
 * misbehaving endpoint cannot exhaust memory.
 */
export function readBodyLimited(res: Response, limitBytes: number, what: string): Promise<string> {
  return readBoundedText(res.body, limitBytes, () => new Error(`${what}: response body exceeds ${limitBytes} bytes`));
}
