import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import type { EC2SDConfig } from "../../src/config/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { labelsToRecord, Registry } from "../../src/model/index.ts";
import { EC2Discoverer, parseXML, type EC2DiscovererOptions } from "../../src/discovery/ec2.ts";
import { FORM_CONTENT_TYPE, signRequest } from "../../src/config/index.ts";
import type { TargetGroup } from "../../src/discovery/types.ts";
import { startFakeEC2, type FakeEC2 } from "./fakes/ec2_server.ts";
import { startFakeIMDS, type FakeIMDS } from "./fakes/imds_server.ts";

const KEY = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
/** No AWS_* variables and no shared credentials file, so only what a test gives is used. */
const EMPTY_ENV = { AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/promts-test-credentials", AWS_EC2_METADATA_DISABLED: "true" };

const stops: (() => void)[] = [];
afterEach(() => {
  while (stops.length > 0) stops.pop()!();
});

function fakeEC2(opts: Partial<Parameters<typeof startFakeEC2>[0]> = {}): FakeEC2 {
  const s = startFakeEC2({ region: "us-east-1", credentials: [KEY], zones: [{ name: "us-east-1a", id: "use1-az6" }], ...opts });
  stops.push(s.stop);
  return s;
}

function ec2Config(over: Partial<EC2SDConfig>): EC2SDConfig {
  return {
    region: "us-east-1",
    refresh_interval: 60_000,
    port: 80,
    tls_config: { insecure_skip_verify: false },
    follow_redirects: true,
    enable_http2: true,
    ...over,
  };
}

/** Runs a discoverer until `done` holds for the updates seen so far (or the deadline passes), then stops it. */
async function runUntil(d: EC2Discoverer, done: (updates: TargetGroup[][]) => boolean, deadlineMs = 5000): Promise<TargetGroup[][]> {
  const updates: TargetGroup[][] = [];
  const ac = new AbortController();
  const running = d.run((g) => updates.push(g), ac.signal);
  const deadline = Date.now() + deadlineMs;
  while (!done(updates) && Date.now() < deadline) await Bun.sleep(5);
  ac.abort();
  await running;
  return updates;
}

function refreshFailures(registry: Registry): number {
  return Number(/prometheus_sd_refresh_failures_total\{mechanism="ec2"\} (\d+)/.exec(registry.render())?.[1] ?? 0);
}

function opts(over: Partial<EC2DiscovererOptions> = {}): EC2DiscovererOptions {
  return { logger: nopLogger, env: EMPTY_ENV, ...over };
}

describe("EC2Discoverer", () => {
  it("discovers instances matching a tag filter, with Prometheus's labels", async () => {
    const ec2 = fakeEC2();
    ec2.addInstance({
      instanceId: "i-0a1", reservationId: "r-1", ownerId: "111122223333", imageId: "ami-1", instanceType: "m5.large",
      privateIp: "10.0.1.5", privateDnsName: "ip-10-0-1-5.ec2.internal", publicIp: "54.1.2.3", publicDnsName: "ec2-54-1-2-3.compute-1.amazonaws.com",
      availabilityZone: "us-east-1a", vpcId: "vpc-9", subnetId: "subnet-a", architecture: "arm64", instanceLifecycle: "spot",
      tags: { "consul-leader": "true", "Name": "db 1", "team.owner": "sre" },
      networkInterfaces: [
        { subnetId: "subnet-a", deviceIndex: 0, ipv6: [{ address: "2001:db8::1", primary: true }] },
        { subnetId: "subnet-b", deviceIndex: 2, ipv6: [{ address: "2001:db8::2", primary: true }, { address: "2001:db8::3", primary: false }] },
        { subnetId: "subnet-a", deviceIndex: 1 },
      ],
    });
    ec2.addInstance({ instanceId: "i-0b2", privateIp: "10.0.1.6", tags: { "consul-leader": "false" } });
    ec2.addInstance({ instanceId: "i-0c3", privateIp: "10.0.1.7" });
    // Matches the filter but has no private IP: skipped, as Prometheus does.
    ec2.addInstance({ instanceId: "i-0d4", state: "stopped", tags: { "consul-leader": "true" } });
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, access_key: KEY.accessKeyId, secret_key: KEY.secretAccessKey, port: 9100, filters: [{ name: "tag:consul-leader", values: ["true"] }] }), opts());
    const updates = await runUntil(d, (u) => u.length > 0);
    expect(updates.length).toBe(1);
    const [group] = updates[0]!;
    expect(group!.source).toBe("us-east-1");
    expect(group!.targets.map(labelsToRecord)).toEqual([{
      __address__: "10.0.1.5:9100",
      __meta_ec2_ami: "ami-1",
      __meta_ec2_architecture: "arm64",
      __meta_ec2_availability_zone: "us-east-1a",
      __meta_ec2_availability_zone_id: "use1-az6",
      __meta_ec2_instance_id: "i-0a1",
      __meta_ec2_instance_lifecycle: "spot",
      __meta_ec2_instance_state: "running",
      __meta_ec2_instance_type: "m5.large",
      __meta_ec2_ipv6_addresses: ",2001:db8::1,2001:db8::2,2001:db8::3,",
      __meta_ec2_owner_id: "111122223333",
      __meta_ec2_primary_ipv6_addresses: ",2001:db8::1,,2001:db8::2,",
      __meta_ec2_primary_subnet_id: "subnet-a",
      __meta_ec2_private_dns_name: "ip-10-0-1-5.ec2.internal",
      __meta_ec2_private_ip: "10.0.1.5",
      __meta_ec2_public_dns_name: "ec2-54-1-2-3.compute-1.amazonaws.com",
      __meta_ec2_public_ip: "54.1.2.3",
      __meta_ec2_region: "us-east-1",
      __meta_ec2_subnet_id: ",subnet-a,subnet-b,",
      __meta_ec2_tag_Name: "db 1",
      __meta_ec2_tag_consul_leader: "true",
      __meta_ec2_tag_team_owner: "sre",
      __meta_ec2_vpc_id: "vpc-9",
    }]);
    const describeCall = ec2.requests.find((r) => r.action === "DescribeInstances")!;
    expect(describeCall.status).toBe(200);
    expect(describeCall.params).toMatchObject({ Version: "2016-11-15", "Filter.1.Name": "tag:consul-leader", "Filter.1.Value.1": "true" });
  });

  it("follows NextToken across three pages", async () => {
    const ec2 = fakeEC2({ defaultPageSize: 2 });
    for (let n = 1; n <= 6; n++) ec2.addInstance({ instanceId: `i-${n}`, privateIp: `10.0.0.${n}` });
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, access_key: KEY.accessKeyId, secret_key: KEY.secretAccessKey }), opts());
    const updates = await runUntil(d, (u) => u.length > 0);
    expect(updates[0]![0]!.targets.map((t) => labelsToRecord(t).__address__)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80", "10.0.0.5:80", "10.0.0.6:80"]);
    const pages = ec2.requests.filter((r) => r.action === "DescribeInstances");
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(pages[0]!.params.NextToken).toBeUndefined();
    expect(pages[1]!.params.NextToken).toBeString();
    expect(pages[2]!.params.NextToken).not.toBe(pages[1]!.params.NextToken);
  });

  it("is refused with SignatureDoesNotMatch when the secret key is wrong, and reports nothing", async () => {
    const ec2 = fakeEC2();
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1" });
    const registry = new Registry();
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, access_key: KEY.accessKeyId, secret_key: "not-the-secret" }), opts({ registry }));
    const updates = await runUntil(d, () => refreshFailures(registry) >= 1);
    expect(updates).toEqual([]);
    expect(refreshFailures(registry)).toBe(1);
    expect(ec2.requests.filter((r) => r.action === "DescribeInstances").map((r) => [r.status, r.errorCode])).toEqual([[403, "SignatureDoesNotMatch"]]);
  });

  it("keeps the last targets while the API fails, and picks up changes when it is back", async () => {
    const ec2 = fakeEC2();
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1" });
    const registry = new Registry();
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, access_key: KEY.accessKeyId, secret_key: KEY.secretAccessKey, refresh_interval: 20 }), opts({ registry }));
    const updates: TargetGroup[][] = [];
    const ac = new AbortController();
    const running = d.run((g) => updates.push(g), ac.signal);
    const waitFor = async (cond: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!cond() && Date.now() < deadline) await Bun.sleep(5);
      expect(cond()).toBe(true);
    };
    await waitFor(() => updates.length > 0);
    ec2.setUnavailable(true);
    const failuresBefore = ec2.requests.filter((r) => r.status === 503).length;
    await waitFor(() => ec2.requests.filter((r) => r.status === 503).length >= failuresBefore + 3);
    const seenWhileDown = updates.length;
    ec2.addInstance({ instanceId: "i-2", privateIp: "10.0.0.2" });
    await Bun.sleep(0);
    expect(updates.length).toBe(seenWhileDown);
    expect(updates.every((u) => u[0]!.targets.length === 1)).toBe(true);
    ec2.setUnavailable(false);
    await waitFor(() => updates.some((u) => u[0]!.targets.length === 2));
    ac.abort();
    await running;
    expect(refreshFailures(registry)).toBeGreaterThanOrEqual(3);
    expect(registry.render()).toMatch(/prometheus_sd_refresh_duration_seconds_count\{mechanism="ec2"\} \d+/);
  });

  it("takes region and role credentials from IMDSv2 when the config and environment have none", async () => {
    const session = { accessKeyId: "ASIAIMDSEXAMPLE", secretAccessKey: "imds-secret", sessionToken: "imds-session-token" };
    const ec2 = fakeEC2({ region: "eu-west-1", credentials: [session] });
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.1.0.1", availabilityZone: "eu-west-1b" });
    const imds: FakeIMDS = startFakeIMDS({ region: "eu-west-1", role: "prometheus-sd", credentials: session });
    stops.push(imds.stop);
    const d = new EC2Discoverer(ec2Config({ region: undefined, endpoint: ec2.url }), opts({ env: { AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/x" }, imdsEndpoint: imds.url }));
    const updates = await runUntil(d, (u) => u.length > 0);
    expect(updates.length).toBe(1);
    expect(labelsToRecord(updates[0]![0]!.targets[0]!)).toMatchObject({ __meta_ec2_region: "eu-west-1", __meta_ec2_instance_id: "i-1" });
    expect(imds.tokensIssued).toBe(1);
    expect(imds.unauthorizedGets).toBe(0);
    expect(ec2.requests.find((r) => r.action === "DescribeInstances")!.accessKeyId).toBe(session.accessKeyId);
  });

  it("renews an IMDS token the service stopped accepting", async () => {
    const session = { accessKeyId: "ASIAIMDSEXAMPLE", secretAccessKey: "imds-secret", sessionToken: "tok" };
    const imds = startFakeIMDS({ region: "eu-west-1", role: "r", credentials: session });
    stops.push(imds.stop);
    // The fake insists on a token, as IMDSv2 does.
    expect((await fetch(imds.url + "/latest/meta-data/placement/region")).status).toBe(401);
    const { IMDSClient } = await import("../../src/discovery/imds.ts");
    const client = new IMDSClient({ endpoint: imds.url });
    const signal = new AbortController().signal;
    expect(await client.region(signal)).toBe("eu-west-1");
    imds.expireTokens();
    expect(await client.roleCredentials(signal)).toMatchObject({ accessKeyId: session.accessKeyId, sessionToken: "tok" });
    expect(imds.tokensIssued).toBe(2);
  });

  it("reads keys from the environment, with the session token", async () => {
    const session = { accessKeyId: "ASIAENV", secretAccessKey: "env-secret", sessionToken: "env-token" };
    const ec2 = fakeEC2({ credentials: [session] });
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1" });
    const env = { ...EMPTY_ENV, AWS_ACCESS_KEY_ID: session.accessKeyId, AWS_SECRET_ACCESS_KEY: session.secretAccessKey, AWS_SESSION_TOKEN: session.sessionToken };
    const updates = await runUntil(new EC2Discoverer(ec2Config({ endpoint: ec2.url }), opts({ env })), (u) => u.length > 0);
    expect(updates[0]![0]!.targets.length).toBe(1);
  });

  it("assumes role_arn through STS before describing instances", async () => {
    const role = "arn:aws:iam::111122223333:role/prometheus";
    const ec2 = fakeEC2({ roles: [role] });
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1" });
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, access_key: KEY.accessKeyId, secret_key: KEY.secretAccessKey, role_arn: role }), opts({ stsEndpoint: ec2.url }));
    const updates = await runUntil(d, (u) => u.length > 0);
    expect(updates[0]![0]!.targets.length).toBe(1);
    expect(ec2.requests.find((r) => r.action === "AssumeRole")).toMatchObject({ status: 200, accessKeyId: KEY.accessKeyId });
    expect(ec2.requests.find((r) => r.action === "DescribeInstances")!.accessKeyId).toStartWith("ASIA");
  });

  it("is refused with RequestExpired when the signature is too old", async () => {
    const ec2 = fakeEC2();
    const url = new URL(ec2.url + "/");
    const body = "Action=DescribeInstances&Version=2016-11-15";
    const headers = signRequest({ method: "POST", url, headers: { "content-type": FORM_CONTENT_TYPE }, body }, KEY, { region: "us-east-1", service: "ec2" }, new Date(Date.now() - 20 * 60_000));
    delete headers.host;
    const res = await fetch(url, { method: "POST", headers, body });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("<Code>RequestExpired</Code>");
    const fresh = signRequest({ method: "POST", url, headers: { "content-type": FORM_CONTENT_TYPE }, body }, KEY, { region: "us-east-1", service: "ec2" });
    delete fresh.host;
    expect((await fetch(url, { method: "POST", headers: fresh, body })).status).toBe(200);
    // Tampering with the body after signing breaks the signature.
    expect((await fetch(url, { method: "POST", headers: fresh, body: body + "&MaxResults=5" })).status).toBe(403);
  });

  it("fake EC2 serves signed GET queries too, and answers bad requests with AWS error XML", async () => {
    const ec2 = fakeEC2();
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1", instanceType: "t3.large" });
    const get = async (query: string, headers?: Record<string, string>) => {
      const url = new URL(`${ec2.url}/?${query}`);
      const signed = headers ?? signRequest({ method: "GET", url, headers: {}, body: "" }, KEY, { region: "us-east-1", service: "ec2" });
      delete signed.host;
      const res = await fetch(url, { headers: signed });
      return [res.status, await res.text()] as const;
    };
    const [status, xml] = await get("Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-type&Filter.1.Value.1=t3.*");
    expect(status).toBe(200);
    expect(parseXML(xml).name).toBe("DescribeInstancesResponse");
    expect(xml).toContain("<instanceId>i-1</instanceId>");
    expect((await get("Action=RunInstances&Version=2016-11-15"))).toEqual([400, expect.stringContaining("<Code>InvalidAction</Code>")]);
    expect((await get("Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=colour&Filter.1.Value.1=red"))[1]).toContain("The filter 'colour' is invalid");
    expect((await get("Action=DescribeInstances&Version=2016-11-15&MaxResults=3"))[1]).toContain("<Code>InvalidParameterValue</Code>");
    expect((await get("Action=DescribeInstances&Version=2016-11-15&NextToken=forged"))[1]).toContain("Invalid value 'forged' for nextToken");
    expect((await get("Action=DescribeInstances&Version=2016-11-15", {}))).toEqual([401, expect.stringContaining("<Code>MissingAuthenticationToken</Code>")]);
    const other = signRequest({ method: "GET", url: new URL(`${ec2.url}/?Action=DescribeInstances&Version=2016-11-15`), headers: {}, body: "" }, { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" }, { region: "us-east-1", service: "ec2" });
    expect((await get("Action=DescribeInstances&Version=2016-11-15", other))).toEqual([401, expect.stringContaining("<Code>AuthFailure</Code>")]);
  });

  it("rejects bad config and bad XML with clear errors", () => {
    expect(() => new EC2Discoverer(ec2Config({ port: 70000 }), opts())).toThrow(/invalid port 70000/);
    expect(() => new EC2Discoverer(ec2Config({ endpoint: "::not a url" }), opts())).toThrow(/invalid endpoint/);
    expect(() => parseXML("<a><b></a>")).toThrow(/end tag <\/a> .* does not match <b>/);
    expect(() => parseXML("<a>x &bogus; y</a>")).toThrow(/unknown entity &bogus;/);
    expect(() => parseXML("<a>")).toThrow(/<a> is not closed/);
    expect(parseXML('<?xml version="1.0"?><a x="1"><b>1 &lt; 2</b><c/><![CDATA[<raw>]]></a>')).toEqual({
      name: "a", text: "<raw>", children: [{ name: "b", text: "1 < 2", children: [] }, { name: "c", text: "", children: [] }],
    });
  });

  it("reads the configured profile from the shared credentials file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-ec2-"));
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "credentials");
    writeFileSync(file, `[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = nope\n\n[sd]\naws_access_key_id = ${KEY.accessKeyId}\naws_secret_access_key = ${KEY.secretAccessKey}\n`);
    const ec2 = fakeEC2();
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1" });
    const d = new EC2Discoverer(ec2Config({ endpoint: ec2.url, profile: "sd" }), opts({ env: { AWS_SHARED_CREDENTIALS_FILE: file, AWS_EC2_METADATA_DISABLED: "true" } }));
    const updates = await runUntil(d, (u) => u.length > 0);
    expect(updates[0]![0]!.targets.length).toBe(1);
    expect(ec2.requests[0]!.accessKeyId).toBe(KEY.accessKeyId);
  });

  it("runs from a config the config room parsed", async () => {
    const ec2 = fakeEC2();
    ec2.addInstance({ instanceId: "i-1", privateIp: "10.0.0.1", state: "running" });
    ec2.addInstance({ instanceId: "i-2", privateIp: "10.0.0.2", state: "stopped" });
    const yml = `scrape_configs:
  - job_name: ec2
    ec2_sd_configs:
      - endpoint: ${ec2.url}
        region: us-east-1
        access_key: ${KEY.accessKeyId}
        secret_key: ${KEY.secretAccessKey}
        port: 9100
        filters:
          - name: instance-state-name
            values: [running, pending]
`;
    const cfg = parseConfig(yml, "prometheus.yml").config.scrape_configs[0]!.ec2_sd_configs[0]!;
    expect(cfg.refresh_interval).toBe(60_000);
    const updates = await runUntil(new EC2Discoverer(cfg, opts()), (u) => u.length > 0);
    expect(updates[0]![0]!.targets.map((t) => labelsToRecord(t).__address__)).toEqual(["10.0.0.1:9100"]);
  });
});
