/**
 * prometheus/common's HTTP client configuration (`HTTPClientConfig` with
 * basic_auth, authorization, oauth2, tls_config and the proxy settings), as
 * one schema for both `prometheus.yml` (inlined into scrape, SD, remote and
 * Alertmanager configs) and `alertmanager.yml` (`http_config`).
 */
import type { Field, Kind, ObjectType, Validation } from "./schema.ts";
import { parseGoURL } from "./url.ts";

const str: Kind = { t: "string" };
const secret: Kind = { t: "string", secret: true };
const file: Kind = { t: "string", file: true };
const bool: Kind = { t: "bool" };
const strList: Kind = { t: "list", of: str };
const strMap: Kind = { t: "map", of: str };
const raw: Kind = { t: "any" };
const obj = (type: ObjectType): Kind => ({ t: "object", type });

/** Prometheus parses config URLs with Go's lenient `url.Parse`; only what it refuses is refused. */
function checkURL(s: string): string | undefined {
  const parsed = parseGoURL(s);
  return typeof parsed === "string" ? parsed : undefined;
}

/** A URL field as prometheus/common's `config.URL` decodes it. */
export const configURL: Kind = { t: "string", url: true, check: checkURL };

const tlsVersion: Kind = {
  t: "enum",
  values: ["TLS10", "TLS11", "TLS12", "TLS13"],
  error: (given) => `unknown TLS version: ${given}`,
};

/** Fails on the second of `fields` that is set: Prometheus's "at most one of … must be configured" checks. */
export function atMostOne(o: Record<string, any>, v: Validation, fields: string[], message: string): void {
  const set = fields.filter((f) => o[f] !== undefined && o[f] !== "");
  if (set.length > 1) v.fail(message, set[1]);
}

/** prometheus/common `config.TLSConfig`. */
export const TLSConfigType: ObjectType = {
  name: "config.TLSConfig",
  fields: {
    ca: { kind: str },
    ca_file: { kind: file },
    cert: { kind: str },
    cert_file: { kind: file },
    key: { kind: secret },
    key_file: { kind: file },
    server_name: { kind: str },
    insecure_skip_verify: { kind: bool, default: false },
    min_version: { kind: tlsVersion },
    max_version: { kind: tlsVersion },
  },
  validate(o, v) {
    atMostOne(o, v, ["ca", "ca_file"], "at most one of ca and ca_file must be configured");
    atMostOne(o, v, ["cert", "cert_file"], "at most one of cert and cert_file must be configured");
    atMostOne(o, v, ["key", "key_file"], "at most one of key and key_file must be configured");
    const hasCert = Boolean(o.cert || o.cert_file);
    const hasKey = Boolean(o.key || o.key_file);
    if (hasCert && !hasKey) v.fail("exactly one of key or key_file must be configured when a client certificate is configured", o.cert ? "cert" : "cert_file");
    if (hasKey && !hasCert) v.fail("exactly one of cert or cert_file must be configured when a client key is configured", o.key ? "key" : "key_file");
  },
};

const BasicAuthType: ObjectType = {
  name: "config.BasicAuth",
  fields: {
    username: { kind: str },
    username_file: { kind: file },
    password: { kind: secret },
    password_file: { kind: file },
  },
  validate(o, v) {
    atMostOne(o, v, ["username", "username_file"], "at most one of basic_auth username & username_file must be configured");
    atMostOne(o, v, ["password", "password_file"], "at most one of basic_auth password & password_file must be configured");
  },
};

const AuthorizationType: ObjectType = {
  name: "config.Authorization",
  fields: {
    type: { kind: str },
    credentials: { kind: secret },
    credentials_file: { kind: file },
  },
  validate(o, v) {
    atMostOne(o, v, ["credentials", "credentials_file"], "at most one of authorization credentials & credentials_file must be configured");
    o.type = (o.type ?? "").trim() || "Bearer";
    if (o.type.toLowerCase() === "basic") v.fail('authorization type cannot be set to "basic", use "basic_auth" instead', "type");
  },
};

const proxyConnectHeader: Kind = { t: "map", of: { t: "list", of: secret } };

/** Proxy settings shared by HTTP clients and OAuth2 token requests. */
const proxyFields: Record<string, Field> = {
  proxy_url: { kind: configURL },
  no_proxy: { kind: str },
  proxy_from_environment: { kind: bool },
  proxy_connect_header: { kind: proxyConnectHeader },
};

function validateProxy(o: Record<string, any>, v: Validation): void {
  if (o.proxy_url && o.proxy_from_environment) v.fail("if proxy_from_environment is configured, proxy_url must not be configured", "proxy_url");
  if (o.no_proxy && o.proxy_from_environment) v.fail("if proxy_from_environment is configured, no_proxy must not be configured", "no_proxy");
  if (o.no_proxy && !o.proxy_url) v.fail("if no_proxy is configured, proxy_url must also be configured", "no_proxy");
  if (o.proxy_connect_header && Object.keys(o.proxy_connect_header).length > 0 && !o.proxy_url && !o.proxy_from_environment) {
    v.fail("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured", "proxy_connect_header");
  }
}

const OAuth2Type: ObjectType = {
  name: "config.OAuth2",
  fields: {
    client_id: { kind: str },
    client_secret: { kind: secret },
    client_secret_file: { kind: file },
    scopes: { kind: strList },
    token_url: { kind: str },
    endpoint_params: { kind: strMap },
    tls_config: { kind: obj(TLSConfigType), defaultEmpty: true },
    ...proxyFields,
  },
  validate(o, v) {
    if (!o.client_id) v.fail("oauth2 client_id must be configured", "client_id");
    atMostOne(o, v, ["client_secret", "client_secret_file"], "at most one of oauth2 client_secret & client_secret_file must be configured");
    if (!o.token_url) v.fail("oauth2 token_url must be configured", "token_url");
    validateProxy(o, v);
  },
};

/**
 * The HTTP client fields that Prometheus inlines into scrape, Alertmanager,
 * remote and SD configs. Only `enable_http2`'s default differs (remote
 * write turns it off).
 */
export function httpClientFields(enableHTTP2: boolean): Record<string, Field> {
  return {
    basic_auth: { kind: obj(BasicAuthType) },
    authorization: { kind: obj(AuthorizationType) },
    oauth2: { kind: obj(OAuth2Type) },
    bearer_token: { kind: secret },
    bearer_token_file: { kind: file },
    tls_config: { kind: obj(TLSConfigType), defaultEmpty: true },
    ...proxyFields,
    follow_redirects: { kind: bool, default: true },
    enable_http2: { kind: bool, default: enableHTTP2 },
    http_headers: { kind: raw },
  };
}

/**
 * Prometheus's HTTPClientConfig.Validate: one auth mechanism at most, and
 * the legacy bearer_token(_file) rewritten as an `authorization` block.
 */
export function validateHTTPClient(o: Record<string, any>, v: Validation): void {
  const bearer = o.bearer_token ? "bearer_token" : o.bearer_token_file ? "bearer_token_file" : undefined;
  if (o.bearer_token && o.bearer_token_file) v.fail("at most one of bearer_token & bearer_token_file must be configured", "bearer_token_file");
  if ((o.basic_auth || o.oauth2) && bearer) v.fail("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured", bearer);
  if (o.authorization) {
    if (bearer) v.fail("authorization is not compatible with bearer_token & bearer_token_file", bearer);
    if (o.basic_auth || o.oauth2) v.fail("at most one of basic_auth, oauth2 & authorization must be configured", "authorization");
  } else if (bearer) {
    o.authorization = o.bearer_token
      ? { type: "Bearer", credentials: o.bearer_token }
      : { type: "Bearer", credentials_file: o.bearer_token_file };
  }
  delete o.bearer_token;
  delete o.bearer_token_file;
  if (o.basic_auth && o.oauth2) v.fail("at most one of basic_auth, oauth2 & authorization must be configured", "oauth2");
  validateProxy(o, v);
}

/**
 * A standalone `http_config:` block (Alertmanager's global and receiver
 * settings): the same fields and checks as the inlined form.
 */
export const HTTPClientConfigType: ObjectType = {
  name: "config.HTTPClientConfig",
  fields: httpClientFields(true),
  validate: validateHTTPClient,
};
