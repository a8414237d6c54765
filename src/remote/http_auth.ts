/**
 * fetch options for the remote endpoints' HTTP client config: headers,
 * basic auth / authorization, TLS and proxy through the config room's
 * httpRequestInit.
 *
 * @example
 * const res = await fetch(url, await authorizedRequestInit(cfg, { method: "POST", body, headers }, body));
 */
import { httpRequestInit, type HTTPClientSettings, type HTTPRequestInit } from "../config/index.ts";

/** fetch options for one request to a remote endpoint under `cfg`; `body` is what is signed when signing applies. */
export async function authorizedRequestInit(cfg: HTTPClientSettings, init: RequestInit, _body: Uint8Array): Promise<HTTPRequestInit> {
  return httpRequestInit(cfg, init);
}
