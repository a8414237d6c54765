/**
 * fetch options for the remote endpoints' HTTP client config: the config
 * room's httpRequestInit (basic auth / authorization, TLS, proxy), then
 * `oauth2` (client credentials, a cached Bearer token) or `sigv4` (the
 * request signed for the "aps" service, as Prometheus signs remote write to
 * Amazon Managed Prometheus). These are exclusive (the config validation
 * allows one).
 *
 * @example
 * const res = await fetch(url, await authorizedRequestInit(cfg, { method: "POST", body, headers }, body));
 */
import {
  httpRequestInit, oauth2Authorization, signRequest, type AWSCredentials, type HTTPClientSettings, type HTTPRequestInit, type OAuth2Config,
} from "../config/index.ts";

/** The `sigv4` block of a remote_write config (prometheus/common/sigv4's SigV4Config). */
export interface SigV4Settings {
  region?: string;
  access_key?: string;
  secret_key?: string;
  profile?: string;
  role_arn?: string;
}

/** The signing name of Amazon Managed Service for Prometheus. */
const SIGV4_SERVICE = "aps";

/** Region and credentials for signing: the config's, else the environment's (AWS_REGION, AWS_ACCESS_KEY_ID …). */
export function sigv4Credentials(s: SigV4Settings, env: Record<string, string | undefined> = process.env): { region: string; creds: AWSCredentials } {
  if (s.role_arn) throw new Error("sigv4: role_arn is not supported by promts; give access_key/secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  const region = s.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || "";
  if (!region) throw new Error("sigv4: no region: set sigv4.region or AWS_REGION");
  const accessKeyId = s.access_key || env.AWS_ACCESS_KEY_ID || "";
  const secretAccessKey = s.secret_key || env.AWS_SECRET_ACCESS_KEY || "";
  if (!accessKeyId || !secretAccessKey) throw new Error("sigv4: no credentials: set sigv4.access_key/secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  const sessionToken = s.access_key ? undefined : env.AWS_SESSION_TOKEN || undefined;
  return { region, creds: { accessKeyId, secretAccessKey, sessionToken } };
}

/** fetch options for one request to a remote endpoint under `cfg`; `body` is what sigv4 signs. */
export async function authorizedRequestInit(
  cfg: HTTPClientSettings & { sigv4?: unknown }, init: RequestInit & { url?: string }, body: Uint8Array, url?: string,
): Promise<HTTPRequestInit> {
  const out = httpRequestInit(cfg, init);
  const headers = out.headers as Headers;
  if (cfg.oauth2) headers.set("Authorization", await oauth2Authorization(cfg.oauth2 as OAuth2Config, init.signal ?? undefined));
  if (cfg.sigv4 && url) {
    const { region, creds } = sigv4Credentials(cfg.sigv4 as SigV4Settings);
    const toSign: Record<string, string> = {};
    // User-Agent is not signed (AWS's signer ignores it), as in Prometheus.
    headers.forEach((value, name) => {
      if (name !== "user-agent" && name !== "authorization") toSign[name] = value;
    });
    const signed = signRequest({ method: String(init.method ?? "POST"), url: new URL(url), headers: toSign, body }, creds, { region, service: SIGV4_SERVICE });
    for (const [name, value] of Object.entries(signed)) if (name !== "host") headers.set(name, value);
  }
  return out;
}
