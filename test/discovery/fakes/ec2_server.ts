/**
 * An in-process EC2 Query API (version 2016-11-15) that checks every
 * request's SigV4 signature the way AWS does: it recomputes the signature
 * from the raw request (method, raw path and query, the signed headers as
 * received, the SHA-256 of the body) with the secret it knows for the access
 * key, and refuses with AWS's error XML — `AuthFailure` (unknown key, bad
 * scope, missing session token), `SignatureDoesNotMatch`, `RequestExpired`
 * (X-Amz-Date more than 5 minutes off), `IncompleteSignature`.
 *
 * Implemented actions: DescribeInstances (Filter.N.Name/Value.M with
 * wildcards, MaxResults 5–1000, NextToken paging; a default page size when
 * MaxResults is absent), DescribeAvailabilityZones, and STS's AssumeRole
 * (scope service "sts") which issues temporary credentials the server then
 * accepts. The canonicalisation here is written separately from
 * src/discovery/sigv4.ts on purpose, so the two check each other.
 *
 * @example
 * const ec2 = startFakeEC2({ region: "us-east-1", credentials: [{ accessKeyId: "AKID", secretAccessKey: "secret" }] });
 * ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1", tags: { Name: "web" } });
 * // … point endpoint at ec2.url …
 * ec2.stop();
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** One network interface of an instance. */
export interface FakeENI {
  subnetId: string;
  deviceIndex: number;
  ipv6?: { address: string; primary: boolean }[];
}

/** An instance; omitted optional fields are omitted from the XML as EC2 does. */
export interface FakeInstance {
  instanceId: string;
  reservationId?: string;
  ownerId?: string;
  imageId?: string;
  instanceType?: string;
  state?: "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";
  privateIp?: string;
  privateDnsName?: string;
  publicIp?: string;
  publicDnsName?: string;
  availabilityZone?: string;
  vpcId?: string;
  subnetId?: string;
  architecture?: string;
  platform?: string;
  instanceLifecycle?: string;
  tags?: Record<string, string>;
  networkInterfaces?: FakeENI[];
}

/** Credentials the server accepts. */
export interface FakeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Server settings. */
export interface FakeEC2Options {
  region: string;
  credentials: FakeCredentials[];
  /** Page size when a request has no MaxResults (EC2 pages large results too). Default 1000. */
  defaultPageSize?: number;
  zones?: { name: string; id: string }[];
  /** Role ARNs AssumeRole accepts. */
  roles?: string[];
}

/** One request the server answered, for assertions. */
export interface FakeEC2Request {
  action: string;
  params: Record<string, string>;
  accessKeyId: string;
  status: number;
  errorCode?: string;
}

/** A running fake. */
export interface FakeEC2 {
  url: string;
  requests: FakeEC2Request[];
  addInstance(i: FakeInstance): void;
  removeInstance(instanceId: string): void;
  /** Makes every following request fail with HTTP 503 `Unavailable` (true) or work again (false). */
  setUnavailable(down: boolean): void;
  stop(): void;
}

const XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const MAX_SKEW_MS = 5 * 60_000;

function sha256(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function el(name: string, value: string | undefined): string {
  return value === undefined ? "" : `<${name}>${xmlEscape(value)}</${name}>`;
}

class APIError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function errorResponse(e: APIError): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error></Errors><RequestID>${randomBytes(16).toString("hex")}</RequestID></Response>`;
  return new Response(body, { status: e.status, headers: { "Content-Type": "text/xml;charset=UTF-8" } });
}

function xmlResponse(body: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { headers: { "Content-Type": "text/xml;charset=UTF-8" } });
}

/** Decodes a raw `a=b&c=d` string into pairs, as AWS reads query strings and form bodies. */
function decodePairs(raw: string): [string, string][] {
  if (raw === "") return [];
  return raw.split("&").filter((p) => p !== "").map((p) => {
    const eq = p.indexOf("=");
    const k = eq === -1 ? p : p.slice(0, eq);
    const v = eq === -1 ? "" : p.slice(eq + 1);
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
    return [dec(k), dec(v)];
  });
}

/** Glob matching of EC2 filter values: `*` any run, `?` one character. */
function filterValueMatches(pattern: string, value: string): boolean {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  return re.test(value);
}

function filterValues(name: string, i: FakeInstance): string[] | undefined {
  if (name.startsWith("tag:")) {
    const v = i.tags?.[name.slice(4)];
    return v === undefined ? [] : [v];
  }
  const one = (v: string | undefined) => (v === undefined ? [] : [v]);
  switch (name) {
    case "instance-id": return [i.instanceId];
    case "instance-state-name": return [i.state ?? "running"];
    case "instance-type": return one(i.instanceType);
    case "vpc-id": return one(i.vpcId);
    case "subnet-id": return one(i.subnetId);
    case "availability-zone": return one(i.availabilityZone);
    case "private-ip-address": return one(i.privateIp);
    case "image-id": return one(i.imageId);
    case "architecture": return one(i.architecture);
    case "tag-key": return Object.keys(i.tags ?? {});
    case "tag-value": return Object.values(i.tags ?? {});
    default: return undefined;
  }
}

const STATE_CODES: Record<string, number> = { pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80 };

function instanceXML(i: FakeInstance): string {
  const state = i.state ?? "running";
  const tags = Object.entries(i.tags ?? {}).map(([k, v]) => `<item>${el("key", k)}${el("value", v)}</item>`).join("");
  const enis = (i.networkInterfaces ?? []).map((n, idx) =>
    `<item>${el("networkInterfaceId", `eni-${i.instanceId.slice(2)}${idx}`)}${el("subnetId", n.subnetId)}${el("vpcId", i.vpcId)}` +
    `${el("status", "in-use")}<attachment>${el("attachmentId", `eni-attach-${idx}`)}${el("deviceIndex", String(n.deviceIndex))}${el("status", "attached")}</attachment>` +
    `<ipv6AddressesSet>${(n.ipv6 ?? []).map((a) => `<item>${el("ipv6Address", a.address)}${el("isPrimaryIpv6", String(a.primary))}</item>`).join("")}</ipv6AddressesSet></item>`,
  ).join("");
  return "<item>" +
    el("instanceId", i.instanceId) + el("imageId", i.imageId ?? "ami-0abcdef1234567890") +
    `<instanceState>${el("code", String(STATE_CODES[state]))}${el("name", state)}</instanceState>` +
    el("privateDnsName", i.privateDnsName ?? "") + el("dnsName", i.publicDnsName ?? "") + "<reason/>" +
    el("amiLaunchIndex", "0") + "<productCodes/>" + el("instanceType", i.instanceType ?? "t3.micro") +
    el("launchTime", "2026-01-01T00:00:00.000Z") +
    `<placement>${el("availabilityZone", i.availabilityZone ?? "us-east-1a")}<groupName/>${el("tenancy", "default")}</placement>` +
    el("platform", i.platform) + `<monitoring>${el("state", "disabled")}</monitoring>` +
    el("subnetId", i.subnetId) + el("vpcId", i.vpcId) + el("privateIpAddress", i.privateIp) + el("ipAddress", i.publicIp) +
    el("sourceDestCheck", "true") + "<groupSet/>" + el("architecture", i.architecture ?? "x86_64") +
    el("rootDeviceType", "ebs") + el("rootDeviceName", "/dev/xvda") + "<blockDeviceMapping/>" +
    el("instanceLifecycle", i.instanceLifecycle) + el("virtualizationType", "hvm") + "<clientToken/>" +
    `<tagSet>${tags}</tagSet>` + el("hypervisor", "xen") + `<networkInterfaceSet>${enis}</networkInterfaceSet>` +
    el("ebsOptimized", "false") + "</item>";
}

/** Starts the fake on 127.0.0.1 and a free port. */
export function startFakeEC2(opts: FakeEC2Options): FakeEC2 {
  const instances: FakeInstance[] = [];
  const requests: FakeEC2Request[] = [];
  const creds = new Map(opts.credentials.map((c) => [c.accessKeyId, c]));
  const pageTokens = new Map<string, { offset: number; query: string }>();
  let unavailable = false;

  /** Checks the SigV4 Authorization header; returns the access key and signing service. */
  function verify(req: Request, rawPath: string, rawQuery: string, body: string): { accessKeyId: string; service: string } {
    const auth = req.headers.get("authorization");
    if (auth === null) throw new APIError(401, "MissingAuthenticationToken", "Request is missing Authentication Token");
    const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new APIError(400, "IncompleteSignature", `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth}`);
    const [, accessKeyId, date, region, service, signedHeaderList, signature] = m as unknown as string[];
    const cred = creds.get(accessKeyId!);
    if (!cred) throw new APIError(401, "AuthFailure", "AWS was not able to validate the provided access credentials");
    if (region !== opts.region) throw new APIError(401, "AuthFailure", `Credential should be scoped to a valid region, not '${region}'.`);
    if (service !== "ec2" && service !== "sts") throw new APIError(401, "AuthFailure", `Credential should be scoped to correct service: 'ec2'.`);
    const amzDate = req.headers.get("x-amz-date") ?? "";
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!dm) throw new APIError(400, "IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    const signedAt = Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!);
    if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) throw new APIError(400, "RequestExpired", `Request has expired. Timestamp date is ${amzDate}`);
    if (amzDate.slice(0, 8) !== date) throw new APIError(403, "SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP");
    const signed = signedHeaderList!.split(";");
    if (!signed.includes("host") || !signed.includes("x-amz-date")) throw new APIError(403, "SignatureDoesNotMatch", "host and x-amz-date must be signed");
    if (cred.sessionToken !== undefined) {
      if (req.headers.get("x-amz-security-token") !== cred.sessionToken || !signed.includes("x-amz-security-token")) {
        throw new APIError(401, "AuthFailure", "AWS was not able to validate the provided access credentials");
      }
    }
    const canonicalURI = rawPath.split("/").map((seg) => rfc3986(seg)).join("/") || "/";
    const canonicalQuery = decodePairs(rawQuery).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join("&");
    const canonicalHeaders = signed.map((h) => `${h}:${(req.headers.get(h) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
    const canonicalRequest = `${req.method}\n${canonicalURI}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaderList}\n${sha256(body)}`;
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest)}`;
    const key = hmac(hmac(hmac(hmac(`AWS4${cred.secretAccessKey}`, date!), region!), service!), "aws4_request");
    const expected = createHmac("sha256", key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature!, "hex"))) {
      throw new APIError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }
    return { accessKeyId: accessKeyId!, service: service! };
  }

  function describeInstances(params: Record<string, string>): Response {
    const filters: { name: string; values: string[] }[] = [];
    for (let n = 1; params[`Filter.${n}.Name`] !== undefined; n++) {
      const name = params[`Filter.${n}.Name`]!;
      const values: string[] = [];
      for (let v = 1; params[`Filter.${n}.Value.${v}`] !== undefined; v++) values.push(params[`Filter.${n}.Value.${v}`]!);
      if (filterValues(name, instances[0] ?? { instanceId: "i-0" }) === undefined) throw new APIError(400, "InvalidParameterValue", `The filter '${name}' is invalid`);
      filters.push({ name, values });
    }
    let pageSize = opts.defaultPageSize ?? 1000;
    if (params.MaxResults !== undefined) {
      const n = Number(params.MaxResults);
      if (!Number.isInteger(n) || n < 5 || n > 1000) {
        throw new APIError(400, "InvalidParameterValue", `Value ( ${params.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
      }
      pageSize = n;
    }
    const query = JSON.stringify(filters);
    let offset = 0;
    if (params.NextToken !== undefined) {
      const t = pageTokens.get(params.NextToken);
      if (!t || t.query !== query) throw new APIError(400, "InvalidParameterValue", `Invalid value '${params.NextToken}' for nextToken`);
      offset = t.offset;
    }
    const matching = instances.filter((i) => filters.every((f) => (filterValues(f.name, i) ?? []).some((v) => f.values.some((p) => filterValueMatches(p, v)))));
    const page = matching.slice(offset, offset + pageSize);
    let nextToken = "";
    if (offset + pageSize < matching.length) {
      nextToken = randomBytes(24).toString("base64");
      pageTokens.set(nextToken, { offset: offset + pageSize, query });
    }
    const byReservation = new Map<string, FakeInstance[]>();
    for (const i of page) {
      const r = i.reservationId ?? `r-${i.instanceId.slice(2)}`;
      byReservation.set(r, [...(byReservation.get(r) ?? []), i]);
    }
    const reservations = [...byReservation].map(([rid, list]) =>
      `<item>${el("reservationId", rid)}${el("ownerId", list[0]!.ownerId ?? "123456789012")}<groupSet/><instancesSet>${list.map(instanceXML).join("")}</instancesSet></item>`,
    ).join("");
    return xmlResponse(
      `<DescribeInstancesResponse xmlns="${XMLNS}">${el("requestId", randomBytes(16).toString("hex"))}<reservationSet>${reservations}</reservationSet>${nextToken ? el("nextToken", nextToken) : ""}</DescribeInstancesResponse>`,
    );
  }

  function describeAvailabilityZones(): Response {
    const zones = (opts.zones ?? []).map((z) =>
      `<item>${el("zoneName", z.name)}${el("zoneId", z.id)}${el("zoneState", "available")}${el("regionName", opts.region)}<messageSet/></item>`,
    ).join("");
    return xmlResponse(`<DescribeAvailabilityZonesResponse xmlns="${XMLNS}">${el("requestId", randomBytes(16).toString("hex"))}<availabilityZoneInfo>${zones}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>`);
  }

  function assumeRole(params: Record<string, string>): Response {
    const arn = params.RoleArn ?? "";
    if (!(opts.roles ?? []).includes(arn)) throw new APIError(403, "AccessDenied", `User is not authorized to perform: sts:AssumeRole on resource: ${arn}`);
    const issued: FakeCredentials = {
      accessKeyId: "ASIA" + randomBytes(8).toString("hex").toUpperCase(),
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(60).toString("base64"),
    };
    creds.set(issued.accessKeyId, issued);
    const expiration = new Date(Date.now() + 900_000).toISOString().replace(/\.\d{3}/, "");
    return xmlResponse(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>${el("AccessKeyId", issued.accessKeyId)}${el("SecretAccessKey", issued.secretAccessKey)}${el("SessionToken", issued.sessionToken)}${el("Expiration", expiration)}</Credentials>` +
      `<AssumedRoleUser>${el("Arn", `${arn}/${params.RoleSessionName ?? ""}`)}${el("AssumedRoleId", "AROA:" + (params.RoleSessionName ?? ""))}</AssumedRoleUser></AssumeRoleResult><ResponseMetadata>${el("RequestId", randomBytes(16).toString("hex"))}</ResponseMetadata></AssumeRoleResponse>`,
    );
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const rawURL = req.url;
      const afterHost = rawURL.slice(rawURL.indexOf("/", rawURL.indexOf("//") + 2));
      const q = afterHost.indexOf("?");
      const rawPath = q === -1 ? afterHost : afterHost.slice(0, q);
      const rawQuery = q === -1 ? "" : afterHost.slice(q + 1);
      const body = await req.text();
      const params: Record<string, string> = {};
      for (const [k, v] of decodePairs(rawQuery)) params[k] = v;
      if (req.method === "POST" && (req.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
        for (const [k, v] of decodePairs(body)) params[k] = v;
      }
      const record: FakeEC2Request = { action: params.Action ?? "", params, accessKeyId: "", status: 200 };
      requests.push(record);
      try {
        if (unavailable) throw new APIError(503, "Unavailable", "The server is overloaded or unavailable.");
        if (req.method !== "GET" && req.method !== "POST") throw new APIError(405, "InvalidHttpRequest", `The HTTP method ${req.method} is not allowed`);
        if (rawPath !== "/") throw new APIError(404, "InvalidAction", `The requested path ${rawPath} is not valid`);
        const { accessKeyId, service } = verify(req, rawPath, rawQuery, body);
        record.accessKeyId = accessKeyId;
        if (params.Action === undefined) throw new APIError(400, "MissingAction", "The request must contain the parameter Action");
        if (service === "sts") {
          if (params.Action !== "AssumeRole") throw new APIError(400, "InvalidAction", `Could not find operation ${params.Action} for version ${params.Version}`);
          return assumeRole(params);
        }
        if (params.Version === undefined) throw new APIError(400, "MissingParameter", "The request must contain the parameter Version");
        if (params.Action === "DescribeInstances") return describeInstances(params);
        if (params.Action === "DescribeAvailabilityZones") return describeAvailabilityZones();
        throw new APIError(400, "InvalidAction", `The action ${params.Action} is not valid for this web service.`);
      } catch (e) {
        if (!(e instanceof APIError)) throw e;
        record.status = e.status;
        record.errorCode = e.code;
        return errorResponse(e);
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    addInstance: (i) => void instances.push(i),
    removeInstance: (id) => {
      const idx = instances.findIndex((i) => i.instanceId === id);
      if (idx >= 0) instances.splice(idx, 1);
    },
    setUnavailable: (down) => void (unavailable = down),
    stop: () => void server.stop(true),
  };
}
