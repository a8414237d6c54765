/**
 * AWS EC2 service discovery, as Prometheus's `ec2_sd_configs`: every
 * `refresh_interval` the EC2 Query API's DescribeInstances (all pages,
 * with the configured filters) becomes one target group whose targets are
 * the instances that have a private IP, labelled `__meta_ec2_*`.
 *
 * Requests are signed with SigV4 (./sigv4.ts). Credentials come from, in
 * order: `access_key`/`secret_key` in the config; AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) in the environment; the
 * shared credentials file (`profile`, else AWS_PROFILE, else "default");
 * the instance's IAM role through IMDSv2 (./imds.ts). With `role_arn`, those
 * credentials are exchanged for the role's through STS AssumeRole. The
 * region comes from the config, AWS_REGION / AWS_DEFAULT_REGION, or IMDS.
 *
 * @example
 * const d = new EC2Discoverer(cfg.scrape_configs[0].ec2_sd_configs[0], { logger });
 * d.run((groups) => console.log(groups[0].targets.length), ac.signal);
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { EC2SDConfig } from "../config/index.ts";
import { labelsFromRecord, type Labels } from "../model/index.ts";
import { checkHTTPClientConfig, readBodyLimited, sdRequestInit } from "./httpclient.ts";
import { IMDSClient, imdsEndpointFromEnv } from "./imds.ts";
import { refreshMetrics, type RefreshMetrics } from "./metrics.ts";
import { runRefreshLoop } from "./refresh.ts";
import { awsURIEncode, FORM_CONTENT_TYPE, signRequest, type AWSCredentials, type SigningScope } from "../config/index.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** The EC2 API version whose XML shapes this module reads. */
export const EC2_API_VERSION = "2016-11-15";
const STS_API_VERSION = "2011-06-15";
const MAX_RESPONSE_BYTES = 64 << 20;
/** A page cap so a server that always returns a NextToken cannot loop us forever. */
const MAX_PAGES = 10_000;
/** Renew temporary credentials this long before they expire, as the SDKs do. */
const CREDENTIALS_EXPIRY_WINDOW_MS = 5 * 60_000;
const ASSUME_ROLE_SECONDS = 900;

const LABEL = "__meta_ec2_";

/** Options beyond the common ones; all exist for tests and unusual setups. */
export interface EC2DiscovererOptions extends DiscovererOptions {
  /** Environment to read AWS_* variables from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** IMDS base URL; defaults to AWS_EC2_METADATA_SERVICE_ENDPOINT or the link-local address. */
  imdsEndpoint?: string;
  /** STS base URL for `role_arn`; defaults to https://sts.<region>.amazonaws.com. */
  stsEndpoint?: string;
  /** Clock used for signatures. */
  now?: () => Date;
}

/** An error an AWS Query API returned: its `Code` and `Message`, and the HTTP status. */
export class AWSAPIError extends Error {
  constructor(
    readonly code: string,
    readonly apiMessage: string,
    readonly status: number,
    what: string,
  ) {
    super(`${what}: ${code}: ${apiMessage} (HTTP ${status})`);
  }
}

// ---------------------------------------------------------------------------
// XML

/** An XML element: name, child elements in order, and its own text (entities decoded). */
export interface XMLElement {
  name: string;
  children: XMLElement[];
  text: string;
}

function decodeEntities(s: string, at: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);?/g, (m, ent: string) => {
    if (!m.endsWith(";")) throw new Error(`XML: unterminated entity ${JSON.stringify(m)} near offset ${at}`);
    if (ent[0] === "#") return String.fromCodePoint(ent[1] === "x" ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10));
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    const v = named[ent];
    if (v === undefined) throw new Error(`XML: unknown entity &${ent}; near offset ${at}`);
    return v;
  });
}

/**
 * Parses the XML AWS Query APIs answer with (elements, text, entities,
 * CDATA; attributes and namespaces are read past). Throws an Error naming
 * the offset on malformed input.
 *
 * @example
 * parseXML("<a><b>1</b></a>").children[0].text // "1"
 */
export function parseXML(src: string): XMLElement {
  let i = 0;
  const stack: XMLElement[] = [];
  let root: XMLElement | undefined;
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    const textEnd = lt === -1 ? src.length : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text, i);
      else if (text.trim() !== "") throw new Error(`XML: text outside the root element at offset ${i}`);
    }
    if (lt === -1) break;
    i = lt;
    if (src.startsWith("<?", i)) {
      const end = src.indexOf("?>", i);
      if (end === -1) throw new Error(`XML: unterminated processing instruction at offset ${i}`);
      i = end + 2;
    } else if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end === -1) throw new Error(`XML: unterminated comment at offset ${i}`);
      i = end + 3;
    } else if (src.startsWith("<![CDATA[", i)) {
      const end = src.indexOf("]]>", i);
      if (end === -1) throw new Error(`XML: unterminated CDATA at offset ${i}`);
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`XML: CDATA outside the root element at offset ${i}`);
      top.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith("<!", i)) {
      const end = src.indexOf(">", i);
      if (end === -1) throw new Error(`XML: unterminated declaration at offset ${i}`);
      i = end + 1;
    } else if (src.startsWith("</", i)) {
      const end = src.indexOf(">", i);
      if (end === -1) throw new Error(`XML: unterminated end tag at offset ${i}`);
      const name = src.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.name !== name) {
        throw new Error(`XML: end tag </${name}> at offset ${i} does not match ${top ? `<${top.name}>` : "any open element"}`);
      }
      i = end + 1;
    } else {
      const end = src.indexOf(">", i);
      if (end === -1) throw new Error(`XML: unterminated start tag at offset ${i}`);
      const selfClosing = src[end - 1] === "/";
      const inner = src.slice(i + 1, selfClosing ? end - 1 : end);
      const name = /^[^\s/>]+/.exec(inner)?.[0];
      if (name === undefined) throw new Error(`XML: start tag without a name at offset ${i}`);
      const el: XMLElement = { name, children: [], text: "" };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw new Error(`XML: second root element <${name}> at offset ${i}`);
      else root = el;
      if (!selfClosing) stack.push(el);
      i = end + 1;
    }
  }
  if (stack.length > 0) throw new Error(`XML: element <${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new Error("XML: no root element");
  return root;
}

function child(el: XMLElement | undefined, name: string): XMLElement | undefined {
  return el?.children.find((c) => c.name === name);
}

function childText(el: XMLElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}

/** The `<item>` children of the set element `name` (EC2's list encoding). */
function items(el: XMLElement | undefined, name: string): XMLElement[] {
  return child(el, name)?.children.filter((c) => c.name === "item") ?? [];
}

function findDescendant(el: XMLElement, name: string): XMLElement | undefined {
  for (const c of el.children) {
    if (c.name === name) return c;
    const d = findDescendant(c, name);
    if (d) return d;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Labels

/** Replaces every character not allowed in a legacy label name with "_", as Prometheus's strutil.SanitizeLabelName. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * The `__meta_ec2_*` labels and `__address__` of one instance of a
 * DescribeInstances reservation, or undefined when it has no private IP
 * (such an instance cannot be scraped and Prometheus skips it).
 */
export function instanceLabels(reservation: XMLElement, instance: XMLElement, region: string, port: number, azToID: ReadonlyMap<string, string>): Labels | undefined {
  const privateIP = childText(instance, "privateIpAddress");
  if (!privateIP) return undefined;
  const l: Record<string, string> = {};
  l[LABEL + "instance_id"] = childText(instance, "instanceId") ?? "";
  l[LABEL + "region"] = region;
  l[LABEL + "owner_id"] = childText(reservation, "ownerId") ?? "";
  l[LABEL + "private_ip"] = privateIP;
  l[LABEL + "private_dns_name"] = childText(instance, "privateDnsName") ?? "";
  l["__address__"] = `${privateIP.includes(":") ? `[${privateIP}]` : privateIP}:${port}`;
  l[LABEL + "platform"] = childText(instance, "platform") ?? "";
  const publicIP = childText(instance, "ipAddress");
  if (publicIP) {
    l[LABEL + "public_ip"] = publicIP;
    l[LABEL + "public_dns_name"] = childText(instance, "dnsName") ?? "";
  }
  l[LABEL + "ami"] = childText(instance, "imageId") ?? "";
  const az = childText(child(instance, "placement"), "availabilityZone") ?? "";
  l[LABEL + "availability_zone"] = az;
  l[LABEL + "availability_zone_id"] = azToID.get(az) ?? "";
  l[LABEL + "instance_state"] = childText(child(instance, "instanceState"), "name") ?? "";
  l[LABEL + "instance_type"] = childText(instance, "instanceType") ?? "";
  l[LABEL + "instance_lifecycle"] = childText(instance, "instanceLifecycle") ?? "";
  l[LABEL + "architecture"] = childText(instance, "architecture") ?? "";
  const vpcID = childText(instance, "vpcId");
  if (vpcID) {
    l[LABEL + "vpc_id"] = vpcID;
    l[LABEL + "primary_subnet_id"] = childText(instance, "subnetId") ?? "";
    const subnets: string[] = [];
    const ipv6: string[] = [];
    const primaryIPv6: string[] = [];
    for (const eni of items(instance, "networkInterfaceSet")) {
      const subnet = childText(eni, "subnetId");
      if (!subnet) continue;
      if (!subnets.includes(subnet)) subnets.push(subnet);
      const deviceIndex = Number(childText(child(eni, "attachment"), "deviceIndex") ?? "0");
      for (const addr of items(eni, "ipv6AddressesSet")) {
        const a = childText(addr, "ipv6Address");
        if (!a) continue;
        ipv6.push(a);
        if (childText(addr, "isPrimaryIpv6") === "true" && Number.isInteger(deviceIndex) && deviceIndex >= 0 && deviceIndex < 1024) {
          // Positions are device indexes, so gaps stay as empty entries.
          while (primaryIPv6.length <= deviceIndex) primaryIPv6.push("");
          primaryIPv6[deviceIndex] = a;
        }
      }
    }
    l[LABEL + "subnet_id"] = `,${subnets.join(",")},`;
    if (ipv6.length > 0) l[LABEL + "ipv6_addresses"] = `,${ipv6.join(",")},`;
    if (primaryIPv6.length > 0) l[LABEL + "primary_ipv6_addresses"] = `,${primaryIPv6.join(",")},`;
  }
  for (const tag of items(instance, "tagSet")) {
    const key = childText(tag, "key");
    const value = childText(tag, "value");
    if (key === undefined || value === undefined) continue;
    l[LABEL + "tag_" + sanitizeLabelName(key)] = value;
  }
  return labelsFromRecord(l);
}

// ---------------------------------------------------------------------------
// Credentials

function parseINI(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0 && current) current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

function sharedFileCredentials(env: Record<string, string | undefined>, profile: string): AWSCredentials | undefined {
  const path = env.AWS_SHARED_CREDENTIALS_FILE || join(env.HOME || homedir(), ".aws", "credentials");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const section = parseINI(text).get(profile);
  const id = section?.get("aws_access_key_id");
  const secret = section?.get("aws_secret_access_key");
  if (!id || !secret) return undefined;
  return { accessKeyId: id, secretAccessKey: secret, sessionToken: section?.get("aws_session_token") || undefined };
}

function regionalEndpoint(service: string, region: string): string {
  return `https://${service}.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

// ---------------------------------------------------------------------------
// The Query API

interface QueryAPIClient {
  fetchFn: typeof fetch;
  cfg: EC2SDConfig;
  now: () => Date;
}

/** POSTs one signed Query API action and returns the parsed XML answer, or throws AWSAPIError. */
async function callQueryAPI(client: QueryAPIClient, endpoint: string, scope: SigningScope, creds: AWSCredentials, params: Record<string, string>, signal: AbortSignal): Promise<XMLElement> {
  const url = new URL(endpoint.endsWith("/") ? endpoint : endpoint + "/");
  const body = Object.entries(params).map(([k, v]) => `${awsURIEncode(k)}=${awsURIEncode(v)}`).join("&");
  const signed = signRequest({ method: "POST", url, headers: { "content-type": FORM_CONTENT_TYPE }, body }, creds, scope, client.now());
  // fetch derives Host from the URL itself; sending it explicitly is refused by some runtimes.
  delete signed["host"];
  // Only the transport settings apply: the SigV4 Authorization header must not be replaced.
  const { tls_config, proxy_url, follow_redirects } = client.cfg;
  const init = sdRequestInit({ tls_config, proxy_url, follow_redirects }, signed, signal);
  init.method = "POST";
  init.body = body;
  const res = await client.fetchFn(url, init);
  const what = `${scope.service} ${params.Action}`;
  const text = await readBodyLimited(res, MAX_RESPONSE_BYTES, what);
  let doc: XMLElement | undefined;
  let parseError: Error | undefined;
  try {
    doc = parseXML(text);
  } catch (err) {
    parseError = err as Error;
  }
  if (res.status !== 200) {
    const error = doc ? findDescendant(doc, "Error") : undefined;
    const code = childText(error, "Code");
    if (code !== undefined) throw new AWSAPIError(code, childText(error, "Message") ?? "", res.status, what);
    throw new Error(`${what}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!doc) throw new Error(`${what}: invalid XML response: ${parseError?.message}`);
  return doc;
}

// ---------------------------------------------------------------------------
// The discoverer

/**
 * Discovers EC2 instances; one target group whose source is the region.
 * Failed refreshes are logged and counted (prometheus_sd_refresh_failures_total{mechanism="ec2"})
 * and leave the last reported targets in place.
 */
export class EC2Discoverer implements Discoverer {
  private readonly cfg: EC2SDConfig;
  private readonly opts: EC2DiscovererOptions;
  private readonly env: Record<string, string | undefined>;
  private readonly client: QueryAPIClient;
  private readonly metrics: RefreshMetrics;
  private readonly imds: IMDSClient | undefined;
  private region: string | undefined;
  private baseCreds: AWSCredentials | undefined;
  private roleCreds: AWSCredentials | undefined;
  private azToID: Map<string, string> | undefined;

  constructor(cfg: EC2SDConfig, opts: EC2DiscovererOptions) {
    checkHTTPClientConfig(cfg, "ec2_sd_config");
    if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535) throw new Error(`ec2_sd_config: invalid port ${cfg.port}`);
    if (cfg.endpoint !== undefined && cfg.endpoint !== "" && !URL.canParse(cfg.endpoint)) {
      throw new Error(`ec2_sd_config: invalid endpoint ${JSON.stringify(cfg.endpoint)}`);
    }
    this.cfg = cfg;
    this.opts = opts;
    this.env = opts.env ?? process.env;
    this.client = { fetchFn: opts.fetch ?? fetch, cfg, now: opts.now ?? (() => new Date()) };
    this.metrics = refreshMetrics(opts.registry, "ec2");
    const imdsEndpoint = opts.imdsEndpoint ?? imdsEndpointFromEnv(this.env);
    this.imds = imdsEndpoint === undefined ? undefined : new IMDSClient({ endpoint: imdsEndpoint, fetch: opts.fetch });
  }

  /** Refreshes now and every `refresh_interval` until `signal` aborts. Never throws. */
  async run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    await runRefreshLoop({
      refresh: (s) => this.timedRefresh(s),
      intervalMs: this.cfg.refresh_interval,
      update,
      signal,
      logger: this.opts.logger,
      onFailure: () => this.metrics.failures.inc(),
    });
  }

  private async timedRefresh(signal: AbortSignal): Promise<TargetGroup[]> {
    const start = performance.now();
    try {
      return await this.refresh(signal);
    } finally {
      this.metrics.duration.observe((performance.now() - start) / 1000);
    }
  }

  /** One DescribeInstances sweep over all pages. */
  async refresh(signal: AbortSignal): Promise<TargetGroup[]> {
    const region = await this.resolveRegion(signal);
    const scope: SigningScope = { region, service: "ec2" };
    const endpoint = this.cfg.endpoint || regionalEndpoint("ec2", region);
    const creds = await this.credentials(region, signal);
    if (this.azToID === undefined) {
      // Only a label is lost without zone IDs, so a failure here does not fail the refresh.
      try {
        this.azToID = await this.describeAvailabilityZones(endpoint, scope, creds, signal);
      } catch (err) {
        this.opts.logger.debug("Unable to describe availability zones", { err });
      }
    }
    const params: Record<string, string> = { Action: "DescribeInstances", Version: EC2_API_VERSION };
    (this.cfg.filters ?? []).forEach((f, i) => {
      params[`Filter.${i + 1}.Name`] = f.name;
      f.values.forEach((v, j) => (params[`Filter.${i + 1}.Value.${j + 1}`] = v));
    });
    const targets: Labels[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const pageParams = nextToken === undefined ? params : { ...params, NextToken: nextToken };
      let doc: XMLElement;
      try {
        doc = await callQueryAPI(this.client, endpoint, scope, creds, pageParams, signal);
      } catch (err) {
        // Like Prometheus, drop credentials the API refused so the next refresh resolves them again.
        if (err instanceof AWSAPIError && (err.code === "AuthFailure" || err.code === "UnauthorizedOperation")) this.forgetCredentials();
        throw new Error(`could not describe instances: ${(err as Error).message}`);
      }
      for (const reservation of items(doc, "reservationSet")) {
        for (const instance of items(reservation, "instancesSet")) {
          const labels = instanceLabels(reservation, instance, region, this.cfg.port, this.azToID ?? new Map());
          if (labels) targets.push(labels);
        }
      }
      nextToken = childText(doc, "nextToken") || undefined;
      if (nextToken === undefined) return [{ source: region, targets, labels: [] }];
    }
    throw new Error(`could not describe instances: more than ${MAX_PAGES} pages`);
  }

  private async describeAvailabilityZones(endpoint: string, scope: SigningScope, creds: AWSCredentials, signal: AbortSignal): Promise<Map<string, string>> {
    const doc = await callQueryAPI(this.client, endpoint, scope, creds, { Action: "DescribeAvailabilityZones", Version: EC2_API_VERSION }, signal);
    const m = new Map<string, string>();
    for (const zone of items(doc, "availabilityZoneInfo")) {
      const name = childText(zone, "zoneName");
      const id = childText(zone, "zoneId");
      if (name && id) m.set(name, id);
    }
    return m;
  }

  private async resolveRegion(signal: AbortSignal): Promise<string> {
    if (this.region) return this.region;
    const configured = this.cfg.region || this.env.AWS_REGION || this.env.AWS_DEFAULT_REGION;
    if (configured) return (this.region = configured);
    if (!this.imds) throw new Error("EC2 SD configuration requires a region (none configured, and the metadata service is disabled)");
    try {
      return (this.region = await this.imds.region(signal));
    } catch (err) {
      throw new Error(`EC2 SD configuration requires a region: ${(err as Error).message}`);
    }
  }

  private forgetCredentials(): void {
    this.baseCreds = undefined;
    this.roleCreds = undefined;
  }

  private fresh(c: AWSCredentials | undefined): c is AWSCredentials {
    return c !== undefined && (c.expiresAt === undefined || c.expiresAt - CREDENTIALS_EXPIRY_WINDOW_MS > Date.now());
  }

  /** The credentials to sign with, resolved along the chain described in the module comment. */
  private async credentials(region: string, signal: AbortSignal): Promise<AWSCredentials> {
    if (!this.fresh(this.baseCreds)) this.baseCreds = await this.baseCredentials(signal);
    if (!this.cfg.role_arn) return this.baseCreds;
    if (!this.fresh(this.roleCreds)) this.roleCreds = await this.assumeRole(this.cfg.role_arn, region, this.baseCreds, signal);
    return this.roleCreds;
  }

  private async baseCredentials(signal: AbortSignal): Promise<AWSCredentials> {
    const { cfg, env } = this;
    if (cfg.access_key && cfg.secret_key) return { accessKeyId: cfg.access_key, secretAccessKey: cfg.secret_key };
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
    }
    const fromFile = sharedFileCredentials(env, cfg.profile || env.AWS_PROFILE || "default");
    if (fromFile) return fromFile;
    if (!this.imds) throw new Error("no AWS credentials: none in the config, environment or shared credentials file, and the metadata service is disabled");
    try {
      return await this.imds.roleCredentials(signal);
    } catch (err) {
      throw new Error(`no AWS credentials: none in the config, environment or shared credentials file, and the metadata service failed: ${(err as Error).message}`);
    }
  }

  private async assumeRole(roleARN: string, region: string, base: AWSCredentials, signal: AbortSignal): Promise<AWSCredentials> {
    const endpoint = this.opts.stsEndpoint ?? regionalEndpoint("sts", region);
    const doc = await callQueryAPI(this.client, endpoint, { region, service: "sts" }, base, {
      Action: "AssumeRole",
      Version: STS_API_VERSION,
      RoleArn: roleARN,
      RoleSessionName: `promts-${Date.now()}`,
      DurationSeconds: String(ASSUME_ROLE_SECONDS),
    }, signal);
    const c = child(child(doc, "AssumeRoleResult"), "Credentials");
    const id = childText(c, "AccessKeyId");
    const secret = childText(c, "SecretAccessKey");
    if (!id || !secret) throw new Error(`sts AssumeRole ${roleARN}: response has no credentials`);
    const expiresAt = Date.parse(childText(c, "Expiration") ?? "");
    return { accessKeyId: id, secretAccessKey: secret, sessionToken: childText(c, "SessionToken") || undefined, expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
  }
}
