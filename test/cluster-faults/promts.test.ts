/**
 * The fault scenarios (scenarios.ts) run against `dist/promts
 * alertmanager` with the same flags as the real Alertmanager's reference
 * run (alertmanager.test.ts), and held to issue 11: every row as
 * Alertmanager, and ★ no duplicates from a partition that heals within
 * --cluster.minority-hold (default above the 20 s partition).
 *
 * Enabled when the build has a cluster: a probe starts dist/promts
 * alertmanager with a cluster listen address and reads `cluster.status`
 * of /api/v2/status (`disabled` before src/cluster was wired in). The
 * cluster is in main, so REQUIRE_PROMTS_CLUSTER is true: a build whose
 * cluster reports `disabled` fails here instead of skipping.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsAvailable } from "../support/netns.ts";
import { freePort, PROMTS_BINARY, spawnChild, waitUntil } from "../support/processes.ts";
import { requireBinary } from "../e2e/promts_process.ts";
import { defineFaultSuite } from "./scenarios.ts";

/** The switch: true once promts has its cluster (then a `disabled` cluster fails the file). */
const REQUIRE_PROMTS_CLUSTER = true;

/** `cluster.status` that dist/promts alertmanager reports when started with a cluster listen address. */
async function promtsClusterStatus(): Promise<string> {
  requireBinary();
  const dir = mkdtempSync(join(tmpdir(), "promts-cluster-probe-"));
  try {
    writeFileSync(join(dir, "alertmanager.yml"), "route:\n  receiver: none\nreceivers:\n  - name: none\n");
    const web = freePort();
    const child = spawnChild("promts-cluster-probe", [
      PROMTS_BINARY, "alertmanager", `--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${web}`, `--cluster.listen-address=127.0.0.1:${freePort()}`,
    ]);
    try {
      return await waitUntil("dist/promts alertmanager to report its cluster status", async () => {
        const res = await fetch(`http://127.0.0.1:${web}/api/v2/status`);
        return res.ok && String(((await res.json()) as { cluster?: { status?: string } }).cluster?.status);
      }, 20_000, [child]);
    } finally {
      await child.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const status = await promtsClusterStatus();
if (status === "disabled") {
  if (REQUIRE_PROMTS_CLUSTER) throw new Error("REQUIRE_PROMTS_CLUSTER is set but dist/promts alertmanager reports cluster status \"disabled\"");
  console.warn("\n*** NOT RUN: promts cluster fault tests: dist/promts alertmanager reports cluster status \"disabled\" (no cluster in this build yet) ***\n");
}
const enabled = status !== "disabled" && netnsAvailable("cluster fault tests against promts");

defineFaultSuite(
  { name: "promts", command: (flags) => [PROMTS_BINARY, "alertmanager", ...flags] },
  // ★ The isolated node is a minority and holds; the 20 s partition heals within --cluster.minority-hold.
  { partitionDuplicatesPerGroup: 0, resolveDuplicatesPerRestartedGroup: 0 },
  enabled,
);
