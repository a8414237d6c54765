/**
 * promts scrapes a real node_exporter (Debian's prometheus-node-exporter,
 * a fixed set of Linux collectors for speed and stable series): the stored
 * series equal a direct fetch's, constant metrics keep their values, and
 * killing the exporter turns `up` to 0 and marks its series stale. Without
 * the binary the test passes with a loud SKIPPED message, unless
 * PROMTS_REQUIRE_PEERS=1. Every process is killed by PID.
 */
import { afterAll, beforeAll, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, startPromts, type PromtsProcess } from "../e2e/promts_process.ts";
import { checkScrapeOfPeer, findBinary, scrapeConfig, startPeer, type PeerProcess } from "./fixtures/scrape/peer_scrape.ts";
import { peerAvailable } from "../support/peers.ts";

const COLLECTORS = ["cpu", "meminfo", "loadavg", "filesystem", "uname"];
const nodeExporter = findBinary("/usr/bin/prometheus-node-exporter", "prometheus-node-exporter", "node_exporter");
const available = peerAvailable(nodeExporter, "prometheus-node-exporter", "prometheus-node-exporter not installed (scrape interop)");

let dir = "";
let exporter: PeerProcess | undefined;
let promts: PromtsProcess | undefined;

beforeAll(() => {
  if (available) requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-interop-node-"));
});

afterAll(async () => {
  await exporter?.kill();
  await promts?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("node_exporter: stored series match a direct fetch; killing it gives up=0 and stale series", async () => {
  if (!available) return;
  exporter = await startPeer(nodeExporter!, (address) => [
    `--web.listen-address=${address}`,
    "--collector.disable-defaults",
    ...COLLECTORS.map((c) => `--collector.${c}`),
  ], dir);
  const configFile = join(dir, "promts.yml");
  writeFileSync(configFile, scrapeConfig("node", exporter.address));
  promts = await startPromts([`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "data")}`], dir);
  await checkScrapeOfPeer(promts, exporter, "node", ["node_exporter_build_info", "go_info", "node_uname_info"]);
}, 90_000);
