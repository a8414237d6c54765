/**
 * An in-process EC2 Instance Metadata Service that only speaks IMDSv2:
 * `PUT /latest/api/token` (with `X-aws-ec2-metadata-token-ttl-seconds`
 * between 1 and 21600) hands out a session token, and every GET must carry
 * it in `X-aws-ec2-metadata-token` or gets 401, as on an instance with
 * `HttpTokens=required`.
 *
 * @example
 * const imds = startFakeIMDS({ region: "eu-west-1", role: "sd-role", credentials: { accessKeyId: "ASIA…", secretAccessKey: "…", sessionToken: "…" } });
 * // … imds.url …
 * imds.stop();
 */
import { randomBytes } from "node:crypto";

/** What the instance "has". */
export interface FakeIMDSOptions {
  region: string;
  role: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

/** A running fake IMDS. */
export interface FakeIMDS {
  url: string;
  /** Successful token PUTs. */
  tokensIssued: number;
  /** GETs refused for a missing or unknown token. */
  unauthorizedGets: number;
  /** Invalidates every issued token (as if they expired). */
  expireTokens(): void;
  stop(): void;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export function startFakeIMDS(opts: FakeIMDSOptions): FakeIMDS {
  const tokens = new Map<string, number>();
  const state = {
    tokensIssued: 0,
    unauthorizedGets: 0,
  };
  const text = (body: string, status = 200) => new Response(body, { status, headers: { "Content-Type": "text/plain" } });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/latest/api/token") {
        if (req.method !== "PUT") return text("", 405);
        if (req.headers.has("x-forwarded-for")) return text("", 403);
        const ttlHeader = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds");
        const ttl = Number(ttlHeader);
        if (ttlHeader === null || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text("", 400);
        const token = randomBytes(24).toString("base64");
        tokens.set(token, Date.now() + ttl * 1000);
        state.tokensIssued++;
        return new Response(token, { headers: { "Content-Type": "text/plain", "X-aws-ec2-metadata-token-ttl-seconds": String(ttl) } });
      }
      if (req.method !== "GET") return text("", 405);
      const token = req.headers.get("x-aws-ec2-metadata-token");
      const expires = token === null ? undefined : tokens.get(token);
      if (expires === undefined || expires < Date.now()) {
        state.unauthorizedGets++;
        return text("", 401);
      }
      const credsPrefix = "/latest/meta-data/iam/security-credentials/";
      if (path === "/latest/meta-data/placement/region") return text(opts.region);
      if (path === credsPrefix) return text(opts.role);
      if (path === credsPrefix + opts.role) {
        return text(JSON.stringify({
          Code: "Success",
          LastUpdated: new Date().toISOString().replace(/\.\d{3}/, ""),
          Type: "AWS-HMAC",
          AccessKeyId: opts.credentials.accessKeyId,
          SecretAccessKey: opts.credentials.secretAccessKey,
          Token: opts.credentials.sessionToken,
          Expiration: new Date(Date.now() + 6 * 3600_000).toISOString().replace(/\.\d{3}/, ""),
        }, null, 2));
      }
      return text("Not Found", 404);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    get tokensIssued() { return state.tokensIssued; },
    get unauthorizedGets() { return state.unauthorizedGets; },
    expireTokens: () => tokens.clear(),
    stop: () => void server.stop(true),
  };
}
