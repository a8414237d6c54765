import { describe, expect, it } from "bun:test";
import { clusterOptionsFromFlags, createClusterPeer, CLUSTER_DEFAULTS } from "../../src/cluster/index.ts";
import { rootCommand } from "../../src/cli/main.ts";
import { parseCommandLine } from "../../src/flags/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import type { AlertmanagerFlags } from "../../src/server/alertmanager.ts";
import type { ServerFlags } from "../../src/server/index.ts";

function parse(argv: string[]): Record<string, unknown> {
  const parsed = parseCommandLine(rootCommand, argv);
  if (parsed.kind !== "run") throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.flags;
}

describe("cluster options from flags", () => {
  it("maps the alertmanager role's --cluster.* flags, with Alertmanager's defaults", () => {
    const o = clusterOptionsFromFlags(parse(["alertmanager", "--cluster.peer=am-2:9094", "--cluster.key-file=/etc/gossip.key", "--cluster.peer-name=am-1"]) as AlertmanagerFlags);
    expect(o).toMatchObject({
      listenAddress: "0.0.0.0:9094", peers: ["am-2:9094"], peerName: "am-1", keyFile: "/etc/gossip.key",
      gossipIntervalMs: CLUSTER_DEFAULTS.gossipIntervalMs, pushPullIntervalMs: CLUSTER_DEFAULTS.pushPullIntervalMs,
      tcpTimeoutMs: CLUSTER_DEFAULTS.tcpTimeoutMs, probeTimeoutMs: CLUSTER_DEFAULTS.probeTimeoutMs, probeIntervalMs: CLUSTER_DEFAULTS.probeIntervalMs,
      settleTimeoutMs: CLUSTER_DEFAULTS.settleTimeoutMs, reconnectIntervalMs: CLUSTER_DEFAULTS.reconnectIntervalMs, reconnectTimeoutMs: CLUSTER_DEFAULTS.reconnectTimeoutMs,
    });
  });

  it("maps the server's --cluster.* flags (clustering off unless asked: empty listen address)", () => {
    const o = clusterOptionsFromFlags(parse(["--cluster.peer=ec2:tag:promts-cluster=prod", "--cluster.label=prod", "--cluster.probe-interval=2s"]) as ServerFlags);
    expect(o).toMatchObject({ listenAddress: "", peers: ["ec2:tag:promts-cluster=prod"], label: "prod", probeIntervalMs: 2000, keyFile: undefined });
  });

  it("refuses bad options naming the flag", async () => {
    const reg = () => new Registry();
    const err = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: Error) => e))?.message ?? "";
    expect(await err(createClusterPeer({ listenAddress: "nonsense" }, nopLogger, reg()))).toMatch(/--cluster.listen-address/);
    expect(await err(createClusterPeer({ listenAddress: "127.0.0.1:0", peers: ["no-port"] }, nopLogger, reg()))).toMatch(/--cluster.peer=no-port/);
    expect(await err(createClusterPeer({ listenAddress: "127.0.0.1:0", keyFile: "/nonexistent/key" }, nopLogger, reg()))).toMatch(/--cluster.key-file/);
    expect(await err(createClusterPeer({ listenAddress: "127.0.0.1:0", gossipIntervalMs: 0 }, nopLogger, reg()))).toMatch(/--cluster.gossip-interval/);
  });
});
