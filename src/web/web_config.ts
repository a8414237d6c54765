/**
 * The --web.config.file of Prometheus's exporter-toolkit: TLS for the
 * listener, HTTP basic authentication with bcrypt-hashed passwords, and
 * extra response headers.
 *
 * ```yaml
 * tls_server_config:
 *   cert_file: server.crt
 *   key_file: server.key
 * basic_auth_users:
 *   admin: $2y$10$...      # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
 * http_server_config:
 *   headers:
 *     X-Frame-Options: deny
 * ```
 *
 * The file is read once at startup (Prometheus re-reads it per connection).
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import type { MiddlewareHandler } from "hono";
import { parse as parseYAML } from "yaml";

/** How the server asks for and checks client certificates (Go's tls.ClientAuthType names). */
export type ClientAuthType =
  | "NoClientCert"
  | "RequestClientCert"
  | "RequireAnyClientCert"
  | "VerifyClientCertIfGiven"
  | "RequireAndVerifyClientCert";

const CLIENT_AUTH_TYPES: readonly ClientAuthType[] = [
  "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert",
];

/**
 * The client auth types Bun's listener can honour exactly; the two that
 * would need "require but don't verify" or "verify only if given" are
 * rejected rather than weakened.
 */
const SUPPORTED_CLIENT_AUTH_TYPES: readonly string[] = ["NoClientCert", "RequestClientCert", "RequireAndVerifyClientCert"];

/** TLS settings of the listener; file paths are resolved against the web config's directory. */
export interface WebTLSConfig {
  certFile: string;
  keyFile: string;
  clientCAFile?: string;
  clientAuthType: ClientAuthType;
}

/** A parsed web config file. */
export interface WebConfig {
  tls?: WebTLSConfig;
  /** User name → bcrypt hash. Empty: no authentication. */
  basicAuthUsers: ReadonlyMap<string, string>;
  /** Headers added to every response. */
  headers: Readonly<Record<string, string>>;
}

/** Header names exporter-toolkit lets the file set. */
const ALLOWED_HEADERS = [
  "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection", "Strict-Transport-Security",
];

/** Exporter-toolkit keys promts reads; others it knows are accepted and ignored. */
const TOP_LEVEL_KEYS = ["tls_server_config", "http_server_config", "basic_auth_users"];
const TLS_KEYS = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "cert", "key", "client_ca",
  "cipher_suites", "curve_preferences", "min_version", "max_version", "prefer_server_cipher_suites", "client_allowed_sans"];
const HTTP_KEYS = ["http2", "headers"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(file: string, where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    // A key that is no field name at all (a line of /etc/shadow, say) is not echoed.
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key)) throw new Error(`${file}: field not found in web config${where ? ` under ${where.replace(/\.$/, "")}` : ""}: a key that is not a field name`);
    throw new Error(`${file}: field ${where}${key} not found in web config`);
  }
}

function optionalString(file: string, path: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new Error(`${file}: field ${path}: expected a string`);
  return v;
}

/**
 * Parses the text of a web config file named `file` (used in messages and to
 * resolve relative paths).
 *
 * @throws Error "FILE: field PATH: reason" for invalid content.
 */
export function parseWebConfig(text: string, file: string): WebConfig {
  let doc: unknown;
  try {
    doc = parseYAML(text);
  } catch (err) {
    // The YAML library's message ends with an excerpt of the file: keep only its position and reason.
    const e = err as { message?: string; linePos?: { line: number; col: number }[] };
    const reason = String(e.message ?? err).split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const at = e.linePos?.[0];
    throw new Error(`${at ? `${file}:${at.line}:${at.col}` : file}: yaml: ${reason}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isRecord(doc)) throw new Error(`${file}: expected a mapping at the top level`);
  checkKeys(file, "", doc, TOP_LEVEL_KEYS);
  const resolve = (p: string): string => (isAbsolute(p) ? p : join(dirname(file), p));

  let tls: WebTLSConfig | undefined;
  const rawTLS = doc.tls_server_config;
  if (rawTLS !== undefined && rawTLS !== null) {
    if (!isRecord(rawTLS)) throw new Error(`${file}: field tls_server_config: expected a mapping`);
    checkKeys(file, "tls_server_config.", rawTLS, TLS_KEYS);
    if (rawTLS.cert !== undefined || rawTLS.key !== undefined || rawTLS.client_ca !== undefined) {
      throw new Error(`${file}: field tls_server_config: inline cert, key and client_ca are not supported; use cert_file, key_file and client_ca_file`);
    }
    const certFile = optionalString(file, "tls_server_config.cert_file", rawTLS.cert_file);
    const keyFile = optionalString(file, "tls_server_config.key_file", rawTLS.key_file);
    if (!certFile) throw new Error(`${file}: field tls_server_config: missing cert_file`);
    if (!keyFile) throw new Error(`${file}: field tls_server_config: missing key_file`);
    const clientCAFile = optionalString(file, "tls_server_config.client_ca_file", rawTLS.client_ca_file);
    const authType = optionalString(file, "tls_server_config.client_auth_type", rawTLS.client_auth_type) ?? "NoClientCert";
    if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(authType)) {
      throw new Error(`${file}: field tls_server_config.client_auth_type: invalid client auth type '${authType}'`);
    }
    if (!SUPPORTED_CLIENT_AUTH_TYPES.includes(authType)) {
      throw new Error(`${file}: field tls_server_config.client_auth_type: ${authType} is not supported by promts (use one of ${SUPPORTED_CLIENT_AUTH_TYPES.join(", ")})`);
    }
    if (clientCAFile === undefined && authType === "RequireAndVerifyClientCert") {
      throw new Error(`${file}: field tls_server_config: client_ca_file is required for client_auth_type ${authType}`);
    }
    tls = {
      certFile: resolve(certFile),
      keyFile: resolve(keyFile),
      clientCAFile: clientCAFile === undefined ? undefined : resolve(clientCAFile),
      clientAuthType: authType as ClientAuthType,
    };
  }

  const users = new Map<string, string>();
  const rawUsers = doc.basic_auth_users;
  if (rawUsers !== undefined && rawUsers !== null) {
    if (!isRecord(rawUsers)) throw new Error(`${file}: field basic_auth_users: expected a mapping of user to bcrypt hash`);
    for (const [user, hash] of Object.entries(rawUsers)) {
      if (typeof hash !== "string" || !/^\$2[abxy]?\$\d\d\$/.test(hash)) {
        throw new Error(`${file}: field basic_auth_users.${user}: expected a bcrypt hash`);
      }
      users.set(user, hash);
    }
  }

  const headers: Record<string, string> = {};
  const rawHTTP = doc.http_server_config;
  if (rawHTTP !== undefined && rawHTTP !== null) {
    if (!isRecord(rawHTTP)) throw new Error(`${file}: field http_server_config: expected a mapping`);
    checkKeys(file, "http_server_config.", rawHTTP, HTTP_KEYS);
    const rawHeaders = rawHTTP.headers;
    if (rawHeaders !== undefined && rawHeaders !== null) {
      if (!isRecord(rawHeaders)) throw new Error(`${file}: field http_server_config.headers: expected a mapping`);
      for (const [name, value] of Object.entries(rawHeaders)) {
        const allowed = ALLOWED_HEADERS.find((h) => h.toLowerCase() === name.toLowerCase());
        if (!allowed) throw new Error(`${file}: field http_server_config.headers: header ${name} is not allowed (one of ${ALLOWED_HEADERS.join(", ")})`);
        if (typeof value !== "string") throw new Error(`${file}: field http_server_config.headers.${name}: expected a string`);
        headers[allowed] = value;
      }
    }
  }
  return { tls, basicAuthUsers: users, headers };
}

/** Reads and parses a web config file. @throws Error naming the file. */
export function loadWebConfig(path: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseWebConfig(text, path);
}

/** Verified credentials are remembered (by digest) so bcrypt runs once per user and password. */
const AUTH_CACHE_LIMIT = 1024;

/**
 * A middleware requiring HTTP basic authentication against bcrypt hashes;
 * answers 401 with a `WWW-Authenticate` challenge otherwise. With no users it
 * lets every request through.
 */
export function basicAuth(users: ReadonlyMap<string, string>): MiddlewareHandler {
  const verified = new Set<string>();
  return async (c, next) => {
    if (users.size === 0) return next();
    const header = c.req.header("authorization") ?? "";
    const m = /^Basic\s+(\S+)$/i.exec(header);
    let ok = false;
    if (m) {
      let decoded = "";
      try {
        decoded = atob(m[1]!);
      } catch {
        decoded = "";
      }
      const colon = decoded.indexOf(":");
      const user = colon < 0 ? "" : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      const hash = users.get(user);
      if (hash !== undefined) {
        const key = new Bun.CryptoHasher("sha256").update(`${user}\0${password}\0${hash}`).digest("hex");
        if (verified.has(key)) {
          ok = true;
        } else {
          ok = await Bun.password.verify(password, hash).catch(() => false);
          if (ok) {
            if (verified.size >= AUTH_CACHE_LIMIT) verified.clear();
            verified.add(key);
          }
        }
      }
    }
    if (!ok) {
      c.header("WWW-Authenticate", "Basic");
      return c.text("Unauthorized", 401);
    }
    return next();
  };
}

/** A middleware adding fixed headers to every response. */
export function responseHeaders(headers: Readonly<Record<string, string>>): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

/** The `tls` option of Bun.serve for a web config's TLS settings. */
export interface ServeTLSOptions {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/**
 * Reads the certificate files now, so a missing or unreadable one is an error
 * naming it at startup rather than a failed handshake later.
 *
 * @throws Error "tls_server_config.cert_file PATH: reason".
 */
export function serveTLSOptions(tls: WebTLSConfig): ServeTLSOptions {
  const read = (field: string, path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`tls_server_config.${field} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    cert: read("cert_file", tls.certFile),
    key: read("key_file", tls.keyFile),
    ca: tls.clientCAFile === undefined ? undefined : read("client_ca_file", tls.clientCAFile),
    requestCert: tls.clientAuthType !== "NoClientCert",
    rejectUnauthorized: tls.clientAuthType === "RequireAndVerifyClientCert",
  };
}
