/**
 * The cluster peer inside the roles: `promts alertmanager` creates, joins
 * and leaves it from its --cluster.* flags; the server's built-in
 * Alertmanager clusters only when asked.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCommand } from "../../src/cli/main.ts";
import { command, parseCommandLine } from "../../src/flags/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { alertmanagerFlags, runAlertmanager, type AlertmanagerFlags } from "../../src/server/alertmanager.ts";
import { builtinClusterOptions } from "../../src/server/alertmanager.ts";
import type { ServerFlags } from "../../src/server/index.ts";
import { freePort } from "../support/processes.ts";
import { pollUntil } from "../support/wait.ts";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function amFlags(args: string[]): AlertmanagerFlags {
  const parsed = parseCommandLine(command("alertmanager", "", alertmanagerFlags), args);
  if (parsed.kind !== "run") throw new Error("expected a run");
  return parsed.flags as AlertmanagerFlags;
}

function serverFlags(args: string[]): ServerFlags {
  const parsed = parseCommandLine(rootCommand, args);
  if (parsed.kind !== "run") throw new Error("expected a run");
  return parsed.flags as ServerFlags;
}

async function metricsOf(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe("the alertmanager role in a cluster", () => {
  it("joins its peers from --cluster.* flags and leaves when it stops", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-cluster-role-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, "am.yml");
    writeFileSync(config, "route:\n  receiver: r\nreceivers:\n- name: r\n");
    const clusterPort = freePort();
    const start = (i: number, extra: string[]) => {
      const stop = new AbortController();
      let url = "";
      const exit = runAlertmanager(amFlags([
        `--config.file=${config}`, `--storage.path=${join(dir, `data${i}`)}`, "--web.listen-address=127.0.0.1:0", `--cluster.peer-name=am${i}`,
        "--cluster.gossip-interval=20ms", "--cluster.probe-interval=100ms", "--cluster.probe-timeout=50ms", ...extra,
      ]), { logger: nopLogger, handleSignals: false, stop: stop.signal, onListening: (u) => { url = u; } });
      cleanups.push(async () => { stop.abort(); await exit; });
      return { stop, exit, url: () => url };
    };
    const one = start(1, [`--cluster.listen-address=127.0.0.1:${clusterPort}`]);
    const two = start(2, ["--cluster.listen-address=127.0.0.1:0", `--cluster.peer=127.0.0.1:${clusterPort}`]);
    await pollUntil("both to listen", () => one.url() !== "" && two.url() !== "", { deadlineMs: 10_000 });
    await pollUntil("both to see two members", async () =>
      /^alertmanager_cluster_members 2$/m.test(await metricsOf(one.url())) && /^alertmanager_cluster_members 2$/m.test(await metricsOf(two.url())), { deadlineMs: 10_000 });
    expect(await metricsOf(two.url())).toMatch(/^alertmanager_peer_position 1$/m);
    two.stop.abort();
    expect(await two.exit).toBe(0);
    await pollUntil("one to see two leave", async () => /^alertmanager_cluster_peers_left_total 1$/m.test(await metricsOf(one.url())), { deadlineMs: 10_000 });
    expect(await metricsOf(one.url())).toMatch(/^alertmanager_cluster_members 1$/m);
  }, 30_000);

  it("exits 1 naming the flag when the cluster cannot start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-cluster-role-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, "am.yml");
    writeFileSync(config, "route:\n  receiver: r\nreceivers:\n- name: r\n");
    const lines: string[] = [];
    const { newLogger } = await import("../../src/log/index.ts");
    const code = await runAlertmanager(amFlags([
      `--config.file=${config}`, `--storage.path=${join(dir, "data")}`, "--web.listen-address=127.0.0.1:0", "--cluster.listen-address=127.0.0.1:0",
      `--cluster.key-file=${join(dir, "missing.key")}`,
    ]), { logger: newLogger({ write: (l) => lines.push(l) }), handleSignals: false });
    expect(code).toBe(1);
    expect(lines.join("\n")).toContain("--cluster.key-file");
  });
});

describe("the server's built-in Alertmanager", () => {
  it("clusters only when a cluster flag is given", () => {
    expect(builtinClusterOptions(serverFlags([]))).toBeUndefined();
    expect(builtinClusterOptions(serverFlags(["--cluster.peer=10.0.0.2:9094"]))).toMatchObject({ listenAddress: "0.0.0.0:9094", peers: ["10.0.0.2:9094"] });
    expect(builtinClusterOptions(serverFlags(["--cluster.listen-address=127.0.0.1:9999"]))).toMatchObject({ listenAddress: "127.0.0.1:9999", peers: [] });
  });
});
