/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for an HTTP client config's
 * `oauth2` block, as prometheus/common uses golang.org/x/oauth2's
 * clientcredentials: the token endpoint is asked with the client's id and
 * secret in a Basic Authorization header, `grant_type=client_credentials`,
 * the `scopes` (space-separated) and `endpoint_params`; the access token is
 * cached until 10 s before it expires, and fetched again when the secret
 * (file) changes. Requests then carry `Authorization: Bearer <token>`.
 *
 * @example
 * const auth = await oauth2Authorization(cfg.oauth2, signal); // "Bearer eyJ…"
 */
import { readSecretFile, tlsFetchOptions } from "./http_client.ts";
import type { OAuth2Config } from "./types.ts";

/** Refresh this long before expiry, as golang.org/x/oauth2's expiryDelta. */
const EXPIRY_DELTA_MS = 10_000;
/** Largest token response read. */
const MAX_TOKEN_RESPONSE_BYTES = 1 << 20;

interface CachedToken {
  secret: string;
  header: string;
  expiresAt: number;
}

const cache = new WeakMap<OAuth2Config, CachedToken>();
const inFlight = new WeakMap<OAuth2Config, Promise<CachedToken>>();

/** Go's url.QueryEscape, which the client credentials use in the Basic header. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

async function fetchToken(cfg: OAuth2Config, secret: string, signal?: AbortSignal): Promise<CachedToken> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (cfg.scopes && cfg.scopes.length > 0) form.set("scope", cfg.scopes.join(" "));
  for (const [k, v] of Object.entries(cfg.endpoint_params ?? {})) form.set(k, v);
  const init: RequestInit & { tls?: Record<string, unknown>; proxy?: string } = {
    method: "POST",
    body: form.toString(),
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: "Basic " + Buffer.from(`${queryEscape(cfg.client_id)}:${queryEscape(secret)}`).toString("base64"),
    },
    signal,
  };
  const tls = tlsFetchOptions(cfg.tls_config);
  if (tls) init.tls = tls;
  if (cfg.proxy_url) init.proxy = cfg.proxy_url;
  let res: Response;
  try {
    res = await fetch(cfg.token_url, init);
  } catch (err) {
    throw new Error(`oauth2: cannot fetch token: Post "${cfg.token_url}": ${(err as Error).message}`);
  }
  const text = (await res.text()).slice(0, MAX_TOKEN_RESPONSE_BYTES);
  if (res.status < 200 || res.status > 299) throw new Error(`oauth2: cannot fetch token: ${res.status} ${res.statusText}\nResponse: ${text.trim()}`);
  let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    // The form encoding some servers answer with.
    const f = new URLSearchParams(text);
    body = { access_token: f.get("access_token") ?? undefined, token_type: f.get("token_type") ?? undefined, expires_in: f.get("expires_in") ?? undefined };
  }
  if (typeof body.access_token !== "string" || body.access_token === "") throw new Error("oauth2: server response missing access_token");
  const type = typeof body.token_type === "string" && body.token_type !== "" ? body.token_type : "Bearer";
  // As Go's oauth2: "bearer" in any case is sent as "Bearer".
  const scheme = type.toLowerCase() === "bearer" ? "Bearer" : type;
  const expiresIn = Number(body.expires_in);
  return { secret, header: `${scheme} ${body.access_token}`, expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : Infinity };
}

/**
 * The Authorization header value for a request under `cfg`: a cached token
 * while it is valid, else a new one from the token endpoint (one request at
 * a time per config). Rejects with "oauth2: …" when the endpoint fails.
 */
export async function oauth2Authorization(cfg: OAuth2Config, signal?: AbortSignal): Promise<string> {
  const secret = cfg.client_secret_file ? readSecretFile(cfg.client_secret_file, "oauth2 client_secret") : cfg.client_secret ?? "";
  const have = cache.get(cfg);
  if (have && have.secret === secret && Date.now() < have.expiresAt - EXPIRY_DELTA_MS) return have.header;
  let pending = inFlight.get(cfg);
  if (!pending) {
    pending = fetchToken(cfg, secret, signal).finally(() => inFlight.delete(cfg));
    inFlight.set(cfg, pending);
  }
  const token = await pending;
  cache.set(cfg, token);
  return token.header;
}
