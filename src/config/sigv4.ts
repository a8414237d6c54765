/**
 * AWS Signature Version 4 request signing (header form), as the EC2 and STS
 * Query APIs (EC2 service discovery) and `sigv4` HTTP clients (remote write
 * to Amazon Managed Prometheus, service "aps") require. Pure functions;
 * HMAC and SHA-256 come from node:crypto.
 *
 * @example
 * const headers = signRequest(
 *   { method: "POST", url: new URL("https://ec2.us-east-1.amazonaws.com/"), headers: { "content-type": FORM_CONTENT_TYPE }, body: "Action=DescribeInstances&Version=2016-11-15" },
 *   { accessKeyId: "AKID", secretAccessKey: "secret" },
 *   { region: "us-east-1", service: "ec2" },
 * );
 * // headers.authorization === "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=…"
 */
import { createHash, createHmac } from "node:crypto";

/** The only algorithm SigV4 defines for header signing. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** Content type of Query API requests sent as a form body. */
export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8";

/** A key pair, plus the session token temporary credentials (IMDS, STS) come with. */
export interface AWSCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working (ms since epoch); absent for long-term keys. */
  expiresAt?: number;
}

/** Where a signature is valid: the region and the service's signing name (e.g. "ec2"). */
export interface SigningScope {
  region: string;
  service: string;
}

/** The parts of an HTTP request that the signature covers. Header names may be in any case. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A string is hashed as UTF-8; bytes as they are. */
  body: string | Uint8Array;
}

/** Everything a signature is computed from, exposed for tests and for verifiers. */
export interface SignatureParts {
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  credentialScope: string;
  signature: string;
}

/** Lower-case hex SHA-256 of a UTF-8 string or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return typeof data === "string" ? createHash("sha256").update(data, "utf8").digest("hex") : createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/**
 * The signing key for one day, region and service:
 * HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
 */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac("AWS4" + secretAccessKey, date), region), service), "aws4_request");
}

/** `YYYYMMDDTHHMMSSZ`, the X-Amz-Date format. */
export function formatAmzDate(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * RFC 3986 percent-encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ are
 * left alone, everything else is %XX with upper-case hex over UTF-8 bytes.
 * `/` is kept when `keepSlash` (paths).
 */
export function awsURIEncode(value: string, keepSlash = false): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * The canonical URI for non-S3 services: the path as sent (already
 * percent-encoded by URL) encoded once more, segment by segment; "/" when empty.
 */
export function canonicalURI(url: URL): string {
  const path = url.pathname === "" ? "/" : url.pathname;
  return path.split("/").map((segment) => awsURIEncode(segment)).join("/");
}

/** The canonical query string: decoded pairs, re-encoded, sorted by name then value. */
export function canonicalQueryString(url: URL): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of url.searchParams) pairs.push([awsURIEncode(name), awsURIEncode(value)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

/**
 * Computes the signature of `req` (whose headers must already include
 * `host` and `x-amz-date`, and `x-amz-security-token` for session
 * credentials). Every header in `req.headers` is signed.
 */
export function computeSignature(req: SignableRequest, secretAccessKey: string, scope: SigningScope): SignatureParts {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  const amzDate = headers.get("x-amz-date");
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new Error(`sigv4: request needs an x-amz-date header in YYYYMMDDTHHMMSSZ form, got ${JSON.stringify(amzDate)}`);
  }
  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(";");
  const canonicalHeaders = names.map((n) => `${n}:${headers.get(n)}\n`).join("");
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalURI(req.url),
    canonicalQueryString(req.url),
    canonicalHeaders,
    signedHeaders,
    sha256Hex(req.body),
  ].join("\n");
  const date = amzDate.slice(0, 8);
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join("\n");
  const signature = createHmac("sha256", deriveSigningKey(secretAccessKey, date, scope.region, scope.service))
    .update(stringToSign, "utf8")
    .digest("hex");
  return { canonicalRequest, stringToSign, signedHeaders, credentialScope, signature };
}

/**
 * Signs a request at time `now` and returns the headers to send with it:
 * the given ones plus `host`, `x-amz-date`, `x-amz-security-token` (session
 * credentials only) and `authorization`. `host` is `url.host`, which is what
 * fetch sends.
 */
export function signRequest(req: SignableRequest, creds: AWSCredentials, scope: SigningScope, now: Date = new Date()): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = value;
  headers["host"] = req.url.host;
  headers["x-amz-date"] = formatAmzDate(now);
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;
  const parts = computeSignature({ ...req, headers }, creds.secretAccessKey, scope);
  headers["authorization"] =
    `${SIGV4_ALGORITHM} Credential=${creds.accessKeyId}/${parts.credentialScope}, SignedHeaders=${parts.signedHeaders}, Signature=${parts.signature}`;
  return headers;
}
