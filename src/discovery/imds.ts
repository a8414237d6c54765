/**
 * A client for the EC2 Instance Metadata Service, version 2 (session
 * tokens): the instance's region and its IAM role's temporary credentials,
 * which is where EC2 discovery gets them when neither the config nor the
 * environment has keys.
 *
 * IMDSv2 first asks for a token with `PUT /latest/api/token` and the
 * `X-aws-ec2-metadata-token-ttl-seconds` header, then sends it as
 * `X-aws-ec2-metadata-token` on every `GET /latest/meta-data/…`.
 *
 * @example
 * const imds = new IMDSClient({ endpoint: imdsEndpointFromEnv(process.env) });
 * await imds.region(signal);              // "eu-west-1"
 * await imds.roleCredentials(signal);     // { accessKeyId, secretAccessKey, sessionToken, expiresAt }
 */
import type { AWSCredentials } from "../config/index.ts";

/** The link-local address every EC2 instance reaches its metadata service at. */
export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";

/** Seconds a requested session token lives (the maximum IMDS allows is 21600). */
const TOKEN_TTL_SECONDS = 21600;

/** IMDS answers locally; a slow answer means there is no IMDS (not on EC2). */
const REQUEST_TIMEOUT_MS = 2000;

/**
 * The metadata endpoint the AWS SDKs would use: `AWS_EC2_METADATA_SERVICE_ENDPOINT`
 * when set, else the link-local default. Returns undefined when
 * `AWS_EC2_METADATA_DISABLED` is "true".
 */
export function imdsEndpointFromEnv(env: Record<string, string | undefined>): string | undefined {
  if ((env.AWS_EC2_METADATA_DISABLED ?? "").toLowerCase() === "true") return undefined;
  return env.AWS_EC2_METADATA_SERVICE_ENDPOINT || DEFAULT_IMDS_ENDPOINT;
}

/** Where to reach IMDS and how. */
export interface IMDSClientOptions {
  endpoint: string;
  fetch?: typeof fetch;
}

/** An IMDSv2 client that keeps its session token until shortly before it expires. */
export class IMDSClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(opts: IMDSClientOptions) {
    this.base = opts.endpoint.replace(/\/+$/, "");
    this.fetchFn = opts.fetch ?? fetch;
  }

  private request(method: string, path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    return this.fetchFn(this.base + path, {
      method,
      headers,
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  }

  private async sessionToken(signal: AbortSignal): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return this.token.value;
    const res = await this.request("PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": String(TOKEN_TTL_SECONDS) }, signal);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`IMDS: PUT /latest/api/token: HTTP ${res.status}: ${body.slice(0, 200)}`);
    // Renew a minute early so a token never expires between check and use.
    this.token = { value: body.trim(), expiresAt: Date.now() + (TOKEN_TTL_SECONDS - 60) * 1000 };
    return this.token.value;
  }

  /**
   * GETs a metadata path (e.g. "/latest/meta-data/placement/region") and
   * returns the body. A 401 means the token expired: it is renewed once.
   */
  async get(path: string, signal: AbortSignal): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.sessionToken(signal);
      const res = await this.request("GET", path, { "X-aws-ec2-metadata-token": token }, signal);
      const body = await res.text();
      if (res.status === 200) return body;
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      throw new Error(`IMDS: GET ${path}: HTTP ${res.status}: ${body.slice(0, 200)}`);
    }
  }

  /** The region the instance runs in. */
  async region(signal: AbortSignal): Promise<string> {
    const region = (await this.get("/latest/meta-data/placement/region", signal)).trim();
    if (region === "") throw new Error("IMDS: empty region in /latest/meta-data/placement/region");
    return region;
  }

  /** Temporary credentials of the first IAM role attached to the instance. */
  async roleCredentials(signal: AbortSignal): Promise<AWSCredentials> {
    const roles = (await this.get("/latest/meta-data/iam/security-credentials/", signal)).split("\n").map((r) => r.trim()).filter((r) => r !== "");
    const role = roles[0];
    if (role === undefined) throw new Error("IMDS: no IAM role attached to the instance");
    const path = `/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`;
    let doc: unknown;
    try {
      doc = JSON.parse(await this.get(path, signal));
    } catch (err) {
      throw new Error(`IMDS: GET ${path}: invalid JSON: ${(err as Error).message}`);
    }
    const d = doc as Record<string, unknown>;
    if (d.Code !== undefined && d.Code !== "Success") throw new Error(`IMDS: role ${role}: credentials unavailable (Code=${String(d.Code)})`);
    if (typeof d.AccessKeyId !== "string" || typeof d.SecretAccessKey !== "string") {
      throw new Error(`IMDS: GET ${path}: AccessKeyId and SecretAccessKey missing`);
    }
    const expiresAt = typeof d.Expiration === "string" ? Date.parse(d.Expiration) : NaN;
    return {
      accessKeyId: d.AccessKeyId,
      secretAccessKey: d.SecretAccessKey,
      sessionToken: typeof d.Token === "string" ? d.Token : undefined,
      expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt,
    };
  }
}
