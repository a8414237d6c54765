/**
 * Peers found late or by discovery: a DNS name that resolves only after
 * start, `ec2:tag:K=V` against the fake EC2 API and `consul:<service>`
 * against the fake Consul — in each, a node appears and joins without a
 * restart of the others.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { Resolver } from "node:dns/promises";
import { parsePeerSpec } from "../../src/cluster/index.ts";
import { splitHostPort } from "../../src/cluster/wire.ts";
import { startDNSServer, type TestDNSServer } from "../discovery/dns_server.ts";
import { startFakeConsul } from "../discovery/fakes/consul_server.ts";
import { startFakeEC2 } from "../discovery/fakes/ec2_server.ts";
import { pollUntil } from "../support/wait.ts";
import { aliveNames, metric, startNode, stopAll } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await stopAll();
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe("peer specs", () => {
  it("parses host:port, ec2:tag:K=V and consul:service, and names what is wrong", () => {
    expect(parsePeerSpec("am-1.example:9094")).toMatchObject({ kind: "static", host: "am-1.example", port: 9094 });
    expect(parsePeerSpec("[::1]:9094")).toMatchObject({ kind: "static", host: "::1", port: 9094 });
    expect(parsePeerSpec("ec2:tag:promts-cluster=prod")).toMatchObject({ kind: "ec2", tagKey: "promts-cluster", tagValue: "prod" });
    expect(parsePeerSpec("consul:promts")).toMatchObject({ kind: "consul", service: "promts" });
    expect(() => parsePeerSpec("am-1.example")).toThrow(/--cluster.peer=am-1.example: .*host:port/);
    expect(() => parsePeerSpec("ec2:promts=prod")).toThrow(/ec2:tag:<Key>=<Value>/);
    expect(() => parsePeerSpec("consul:")).toThrow(/consul:<service>/);
  });
});

describe("peers that appear later", () => {
  it("joins a peer whose DNS name resolves only after start", async () => {
    const dns: TestDNSServer = await startDNSServer({ srv: new Map(), a: new Map() });
    cleanups.push(() => dns.close());
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([dns.address]);
    const a = await startNode({ peerName: "a" });
    const { port } = splitHostPort(a.peer.address);
    const b = await startNode({ peerName: "b", peers: [`am-a.cluster.test:${port}`], resolver: (h) => resolver.resolve4(h) }, false);
    expect(await b.peer.join()).toBe(0);
    expect(aliveNames(b)).toEqual(["b"]);
    dns.table.a.set("am-a.cluster.test", ["127.0.0.1"]);
    await pollUntil("b to join a once the name resolves", () => aliveNames(a).join() === "a,b" && aliveNames(b).join() === "a,b", { deadlineMs: 8000 });
    expect(metric(b, "alertmanager_cluster_refresh_join_total")).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it("finds peers by EC2 tag; a third instance joins without restarting the others", async () => {
    const KEY = { accessKeyId: "AKIDCLUSTERTEST", secretAccessKey: "cluster-test-secret" };
    const ec2 = startFakeEC2({ region: "us-east-1", credentials: [KEY], zones: [{ name: "us-east-1a", id: "use1-az1" }] });
    cleanups.push(() => ec2.stop());
    const env = {
      AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey, AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/promts-test-credentials", AWS_EC2_METADATA_DISABLED: "true",
    };
    const peers = ["ec2:tag:promts-cluster=test"];
    // Nodes on one host differ by port, which the instance's promts-cluster-port tag gives.
    const instance = (id: string, addr: string, tags: Record<string, string> = { "promts-cluster": "test" }) =>
      ec2.addInstance({ instanceId: id, privateIp: "127.0.0.1", tags: { ...tags, "promts-cluster-port": String(splitHostPort(addr).port) } });
    const a = await startNode({ peerName: "a", peers, env }, false);
    const b = await startNode({ peerName: "b", peers, env }, false);
    instance("i-a", a.peer.address);
    instance("i-b", b.peer.address);
    // Another cluster's instance, not to be joined.
    const other = await startNode({ peerName: "other" });
    instance("i-other", other.peer.address, { "promts-cluster": "staging" });
    await Promise.all([a.peer.join(), b.peer.join()]);
    await pollUntil("a and b to find each other through EC2", () => aliveNames(a).join() === "a,b" && aliveNames(b).join() === "a,b", { deadlineMs: 8000 });
    // A third node with no peers of its own: the others find it when it shows up in EC2.
    const c = await startNode({ peerName: "c" });
    instance("i-c", c.peer.address);
    await pollUntil("c to be joined through EC2", () => [a, b, c].every((n) => aliveNames(n).join() === "a,b,c"), { deadlineMs: 8000 });
    expect(aliveNames(other)).toEqual(["other"]);
    expect(ec2.requests.some((r) => r.action === "DescribeInstances" && Object.values(r.params).includes("tag:promts-cluster"))).toBe(true);
  }, 30_000);

  it("finds peers through a Consul service; a third instance joins without restarting the others", async () => {
    const consul = startFakeConsul({ datacenter: "dc1" });
    cleanups.push(() => consul.stop());
    const env = { CONSUL_HTTP_ADDR: consul.url };
    const register = (node: string, addr: string, service = "promts") => {
      const { host, port } = splitHostPort(addr);
      consul.register({ node, address: host, service: { id: `${service}-${node}`, service, address: host, port } });
    };
    const a = await startNode({ peerName: "a", peers: ["consul:promts"], env }, false);
    const b = await startNode({ peerName: "b", peers: ["consul:promts"], env }, false);
    register("node-a", a.peer.address);
    register("node-b", b.peer.address);
    const other = await startNode({ peerName: "other" });
    register("node-other", other.peer.address, "something-else");
    await Promise.all([a.peer.join(), b.peer.join()]);
    await pollUntil("a and b to find each other through Consul", () => aliveNames(a).join() === "a,b" && aliveNames(b).join() === "a,b", { deadlineMs: 8000 });
    const c = await startNode({ peerName: "c" });
    register("node-c", c.peer.address);
    await pollUntil("c to be joined through Consul", () => [a, b, c].every((n) => aliveNames(n).join() === "a,b,c"), { deadlineMs: 8000 });
    expect(aliveNames(other)).toEqual(["other"]);
  }, 30_000);
});
