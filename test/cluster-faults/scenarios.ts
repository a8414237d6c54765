/**
 * The fault scenarios of issue 11, defined once and run against any
 * {@link Implementation} (the real Alertmanager 0.25 as the reference,
 * `dist/promts alertmanager` as the subject): three nodes in network
 * namespaces, peer timeout 2 s, gossip 200 ms, group_wait 2 s.
 *
 * One cluster serves the whole suite, and the scenarios run in order on
 * it, each with its own alert groups (alertname), so every count at the
 * webhook belongs to one scenario:
 *
 *   steady          one group posted to every node: one notification, at group_wait
 *   silence         a silence created on one node is listed on the others
 *                   (time measured); its group sends nothing, a control group once
 *   kill            the position-0 node is SIGKILLed and a group posted to the
 *                   rest: one notification, within group_wait + 1 × peer_timeout
 *   restart         the killed node restarts on its storage and gets every firing
 *                   alert again (as Prometheus resends): no new notification
 *   partition       one node is cut off the gossip network for 20 s; once both
 *                   sides see the split (the isolated node's view capped at 13 s),
 *                   four groups are posted to every node;
 *                   after the heal: the implementation's documented duplicates
 *                   (Alertmanager: one per group; promts: none, its minority
 *                   holds within --cluster.minority-hold), no miss
 *   resolve         every group resolves: one resolved notification per
 *                   notified group, none for the silenced one
 *
 * "Duplicates" are notifications of a group beyond the one expected, and
 * "misses" are expected groups that got none. A duplicate can only show up
 * after the last node's dedup (group_wait + position × peer_timeout), so
 * each scenario watches the webhook for that long plus a margin before
 * counting: that window is the one fixed wait, as no peer can tell when
 * it has decided not to send.
 *
 * afterAll prints the scenario table; with PROMTS_CLUSTER_FAULTS_RESULTS=DIR
 * it also writes DIR/cluster-faults-<implementation>.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NetnsLab } from "../support/netns.ts";
import { pollUntil } from "../support/wait.ts";
import {
  FaultCluster, firingAlert, GOSSIP_INTERVAL, GROUP_INTERVAL_MS, GROUP_WAIT_MS, PEER_TIMEOUT_MS, WebhookRecorder,
  type Implementation, type PostableAlert,
} from "./cluster.ts";

const NODES = 3;
/** How long the partition lasts (issue 11). */
export const PARTITION_MS = 20_000;
const PARTITION_GROUPS = 4;
/** Timing bounds get PROMTS_TIMING_SLACK × 500 ms on top (default 4: 2 s). */
const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? 4);
const SLACK_MS = 500 * SLACK;
/** Watched beyond the last node's dedup before counting. */
const MARGIN_MS = 1500;
/** Silences must be listed on every node within this (issue 11: 0.02–0.2 s for Alertmanager). */
const SILENCE_SPREAD_MS = 200 * SLACK;

/** What an implementation is expected to do where the peers differ. */
export interface Expectations {
  /** Duplicates per group from a 20 s partition that heals (Alertmanager 1, by design; promts 0). */
  partitionDuplicatesPerGroup: number;
  /**
   * Resolved duplicates allowed per group the restarted node re-created
   * (Alertmanager 1: that node's group timers are out of phase with the
   * others', so its wait of position × peer_timeout can end right after
   * another node's send, before the gossip of it arrives; promts 0).
   */
  resolveDuplicatesPerRestartedGroup: number;
}

/** One row of the table. */
export interface ScenarioRow {
  scenario: string;
  duplicates: number;
  misses: number;
  /** ms from posting to the last group's first notification; undefined when none is expected. */
  firstMs?: number;
  /** The bound firstMs is held to (before slack). */
  boundMs?: number;
  notes: string;
}

/** Polls nothing but the clock: the observation window (see the module comment). */
async function watchUntil(until: number, what: string): Promise<void> {
  const left = until - performance.now();
  if (left <= 0) return;
  await pollUntil(what, () => performance.now() >= until, { deadlineMs: left + 5000, intervalMs: 50 });
}

function fmtSeconds(ms: number | undefined): string {
  return ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`;
}

/** The markdown table of `rows`. */
export function renderTable(impl: string, rows: readonly ScenarioRow[]): string {
  const lines = [
    `### ${impl}: 3 nodes, peer timeout ${PEER_TIMEOUT_MS / 1000} s, gossip ${GOSSIP_INTERVAL}, group_wait ${GROUP_WAIT_MS / 1000} s, group_interval ${GROUP_INTERVAL_MS / 1000} s`,
    "",
    `Measured ${new Date().toISOString().slice(0, 16)}Z by \`PROMTS_CLUSTER_FAULTS_RESULTS=bench/results bun test test/cluster-faults/\` (docs/cluster-faults.md).`,
    "",
    "| scenario | duplicates | misses | first notification | bound | notes |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.scenario} | ${r.duplicates} | ${r.misses} | ${fmtSeconds(r.firstMs)} | ${fmtSeconds(r.boundMs)} | ${r.notes} |`),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Registers the suite for `impl` (a describe with one test per scenario,
 * in order), enabled only when `enabled`.
 */
export function defineFaultSuite(impl: Implementation, expectations: Expectations, enabled: boolean): void {
  describe.if(enabled)(`cluster faults in network namespaces: ${impl.name}`, () => {
    let lab: NetnsLab | undefined;
    let recorder: WebhookRecorder | undefined;
    let cluster: FaultCluster | undefined;
    let dir = "";
    const rows: ScenarioRow[] = [];
    /** Every alert posted and not resolved yet, by alertname. */
    const firing = new Map<string, PostableAlert>();
    /** Groups expected to have notified once (all but the silenced one). */
    const notified = new Set<string>();
    const group = (scenario: string) => `Fault_${impl.name.replace(/[^A-Za-z0-9]/g, "_")}_${scenario}`;

    const c = (): FaultCluster => {
      if (!cluster) throw new Error("the cluster did not start (see beforeAll)");
      return cluster;
    };
    const hook = (): WebhookRecorder => recorder!;

    /**
     * Waits for each of `groups` to notify with `status` (counting only
     * notifications after index `from`), then watches until `until`, and
     * returns duplicates (beyond `expectedPerGroup`), misses and the last
     * group's first notification after `t0`.
     */
    async function judge(groups: readonly string[], status: string, t0: number, until: number, from: number, expectedPerGroup = 1) {
      const since = () => hook().notifications.slice(from).filter((n) => n.status === status);
      await pollUntil(`a ${status} notification of ${groups.join(", ")}`, () => groups.every((g) => since().some((n) => n.alertname === g)), {
        deadlineMs: Math.max(1000, until - performance.now()),
        intervalMs: 20,
      }).catch(() => undefined); // a miss is counted below, with the table
      await watchUntil(until, `the end of the dedup window`);
      let duplicates = 0;
      let misses = 0;
      let firstMs: number | undefined;
      for (const g of groups) {
        const got = since().filter((n) => n.alertname === g);
        if (got.length === 0) misses++;
        duplicates += Math.max(0, got.length - expectedPerGroup);
        if (got.length > 0) firstMs = Math.max(firstMs ?? 0, got[0]!.at - t0);
      }
      const name = (g: string) => g.replace(group(""), "");
      const counts = groups.map((g) => {
        const got = since().filter((n) => n.alertname === g);
        const who = got.length > Math.max(1, expectedPerGroup) ? ` (${got.map((n) => `node ${c().nodeOf(n.sender)} at +${((n.at - t0) / 1000).toFixed(2)} s`).join(", ")})` : "";
        return `${name(g)}=${got.length}${who}`;
      });
      return { duplicates, misses, firstMs, counts: counts.join(" ") };
    }

    function post(nodes: readonly number[], names: readonly string[]): Promise<void> {
      const alerts = names.map((n) => {
        const a = firing.get(n) ?? firingAlert(n);
        firing.set(n, a);
        return a;
      });
      return c().postAlerts(nodes, alerts);
    }

    const dedupWindow = (t0: number) => t0 + GROUP_WAIT_MS + (NODES - 1) * PEER_TIMEOUT_MS + MARGIN_MS;
    const failureDetails = () => `webhook: ${JSON.stringify(hook().notifications.map((n) => [n.alertname, n.status, n.sender, Math.round(n.at)]))}\n${c().logs()}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "promts-cluster-faults-"));
      lab = NetnsLab.create({ nodes: NODES, networks: ["cluster", "service"] });
      await lab.checkConnectivity();
      recorder = new WebhookRecorder(lab.hostAddress("service"));
      cluster = new FaultCluster(impl, lab, dir);
      cluster.startAll(recorder.url);
      await cluster.waitFormed(45_000);
    }, 90_000);

    afterAll(async () => {
      const table = renderTable(impl.name, rows);
      console.log(`\n${table}`);
      const out = process.env.PROMTS_CLUSTER_FAULTS_RESULTS;
      if (out) {
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, `cluster-faults-${impl.name}.md`), table);
      }
      const errors: string[] = [];
      await cluster?.stopAll().catch((e) => errors.push(String(e)));
      recorder?.stop();
      await lab?.destroy().catch((e) => errors.push(String(e)));
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
      if (errors.length > 0) throw new Error(errors.join("\n"));
    }, 30_000);

    test("steady: one notification per group, at group_wait", async () => {
      const g = group("steady");
      const from = hook().notifications.length;
      const t0 = performance.now();
      await post(c().aliveNodes(), [g]);
      const r = await judge([g], "firing", t0, dedupWindow(t0), from);
      rows.push({ scenario: "steady", ...r, boundMs: GROUP_WAIT_MS, notes: r.counts });
      notified.add(g);
      expect({ duplicates: r.duplicates, misses: r.misses }, failureDetails()).toEqual({ duplicates: 0, misses: 0 });
      expect(r.firstMs!).toBeLessThanOrEqual(GROUP_WAIT_MS + SLACK_MS);
    }, 60_000);

    test("silence on one node: listed on every node at once; its group stays quiet", async () => {
      const silenced = group("silenced");
      const control = group("silence_control");
      const origin = 0;
      const id = await c().silence(origin, silenced);
      const t1 = performance.now();
      const others = c().aliveNodes().filter((i) => i !== origin);
      const spread = await Promise.all(others.map(async (i) => {
        await pollUntil(`node ${i} to list silence ${id}`, () => c().listsSilence(i, id), { deadlineMs: 10_000, intervalMs: 5 });
        return performance.now() - t1;
      }));
      const from = hook().notifications.length;
      const t0 = performance.now();
      await post(c().aliveNodes(), [silenced, control]);
      const quiet = await judge([silenced], "firing", t0, dedupWindow(t0), from, 0);
      const ctl = await judge([control], "firing", t0, dedupWindow(t0), from);
      const spreadText = spread.map((ms) => `${(ms / 1000).toFixed(3)} s`).join(", ");
      rows.push({
        scenario: "silence on one node", duplicates: quiet.duplicates + ctl.duplicates, misses: ctl.misses,
        notes: `listed on the other nodes after ${spreadText}; silenced group sent ${quiet.duplicates}, control ${ctl.counts}`,
      });
      notified.add(control);
      expect({ silencedSent: quiet.duplicates, duplicates: ctl.duplicates, misses: ctl.misses }, failureDetails()).toEqual({ silencedSent: 0, duplicates: 0, misses: 0 });
      expect(Math.max(...spread)).toBeLessThanOrEqual(SILENCE_SPREAD_MS);
    }, 60_000);

    let killed = -1;
    /** Notified groups the restarted node re-created (their timers start later there). */
    let restartedGroups = 0;
    test("kill the position-0 node: the next position notifies, once", async () => {
      killed = await c().nodeAt(0);
      const g = group("kill");
      await c().kill(killed);
      const from = hook().notifications.length;
      const t0 = performance.now();
      await post(c().aliveNodes(), [g]);
      const r = await judge([g], "firing", t0, dedupWindow(t0), from);
      const bound = GROUP_WAIT_MS + 1 * PEER_TIMEOUT_MS;
      rows.push({ scenario: "kill the position-0 node", ...r, boundMs: bound, notes: `killed node ${killed}; ${r.counts}` });
      notified.add(g);
      expect({ duplicates: r.duplicates, misses: r.misses }, failureDetails()).toEqual({ duplicates: 0, misses: 0 });
      expect(r.firstMs!).toBeLessThanOrEqual(bound + SLACK_MS);
    }, 60_000);

    test("restart a node with its storage: it rejoins and sends nothing again", async () => {
      expect(killed).toBeGreaterThanOrEqual(0);
      const t1 = performance.now();
      c().start(killed);
      await c().waitFormed(45_000);
      const rejoinMs = performance.now() - t1;
      const from = hook().notifications.length;
      const t0 = performance.now();
      await post(c().aliveNodes(), [...firing.keys()]); // Prometheus resends every firing alert to every Alertmanager
      const groups = [...firing.keys()];
      const r = await judge(groups, "firing", t0, dedupWindow(t0), from, 0);
      restartedGroups = groups.filter((g) => notified.has(g)).length;
      rows.push({
        scenario: "restart a node with its storage", duplicates: r.duplicates, misses: 0,
        notes: `node ${killed} rejoined and settled in ${(rejoinMs / 1000).toFixed(1)} s; ${groups.length} firing groups resent to every node, ${r.duplicates} sent again`,
      });
      expect(r.duplicates, failureDetails()).toBe(0);
    }, 90_000);

    test(`partition one node for ${PARTITION_MS / 1000} s: ${expectations.partitionDuplicatesPerGroup} duplicate(s) per group, no miss`, async () => {
      const cut = await c().nodeAt(0);
      const rest = c().aliveNodes().filter((i) => i !== cut);
      const groups = Array.from({ length: PARTITION_GROUPS }, (_, k) => group(`partition_${k}`));
      const tCut = performance.now();
      c().lab.partition(cut, "cluster");
      let healed = false;
      try {
        // The incident starts once both sides have seen the split: the majority
        // (memberlist's suspicion, a few seconds), then the isolated node (it has
        // no one to confirm its suspicions, so it is slower; Alertmanager's never
        // is within 20 s). The wait for the isolated node is capped so that it
        // still has group_wait + every position's wait to send before the heal.
        await c().waitMembers(new Map(rest.map((i): [number, number] => [i, rest.length])), "the majority to see the partition", PARTITION_MS / 2);
        const splitMs = performance.now() - tCut;
        let aloneMs: number | undefined;
        const seesAlone = async () => {
          if (aloneMs === undefined && (await c().view(cut).catch(() => undefined))?.peers.length === 1) aloneMs = performance.now() - tCut;
          return aloneMs !== undefined;
        };
        const cap = tCut + PARTITION_MS - GROUP_WAIT_MS - (NODES - 1) * PEER_TIMEOUT_MS - 1000;
        await pollUntil("the isolated node to see itself alone (or the cap)", async () => (await seesAlone()) || performance.now() >= cap, { deadlineMs: PARTITION_MS, intervalMs: 100 });
        const incidentMs = performance.now() - tCut;
        const from = hook().notifications.length;
        const t0 = performance.now();
        await post(c().aliveNodes(), groups);
        await pollUntil("the partition to last its time", async () => {
          await seesAlone();
          return performance.now() >= tCut + PARTITION_MS;
        }, { deadlineMs: PARTITION_MS + 5000, intervalMs: 100 });
        c().lab.heal(cut, "cluster");
        healed = true;
        const tHeal = performance.now();
        await c().waitFormed(30_000);
        const rejoinMs = performance.now() - tHeal;
        // After the heal, a held or retried notification has one more group_interval to show up.
        const until = Math.max(dedupWindow(t0), performance.now() + GROUP_INTERVAL_MS + MARGIN_MS);
        const r = await judge(groups, "firing", t0, until, from, 1 + expectations.partitionDuplicatesPerGroup);
        const all = await judge(groups, "firing", t0, until, from, 1);
        rows.push({
          scenario: `partition one node for ${PARTITION_MS / 1000} s`, duplicates: all.duplicates, misses: r.misses, firstMs: r.firstMs, boundMs: GROUP_WAIT_MS,
          notes: `node ${cut} cut off gossip; the majority saw it after ${(splitMs / 1000).toFixed(1)} s, the isolated node ${aloneMs === undefined ? `not within ${PARTITION_MS / 1000} s` : `after ${(aloneMs / 1000).toFixed(1)} s`}; alerts posted ${(incidentMs / 1000).toFixed(1)} s into it; rejoined ${(rejoinMs / 1000).toFixed(1)} s after the heal; ${all.counts}`,
        });
        for (const g of groups) notified.add(g);
        expect({ unexpectedDuplicates: r.duplicates, duplicates: all.duplicates, misses: r.misses }, failureDetails())
          .toEqual({ unexpectedDuplicates: 0, duplicates: PARTITION_GROUPS * expectations.partitionDuplicatesPerGroup, misses: 0 });
        expect(r.firstMs!).toBeLessThanOrEqual(GROUP_WAIT_MS + SLACK_MS);
      } finally {
        if (!healed) c().lab.heal(cut, "cluster");
      }
    }, 120_000);

    test("resolve: one resolved notification per notified group", async () => {
      const silenced = group("silenced");
      const groups = [...firing.keys()];
      const now = new Date().toISOString();
      const resolved = groups.map((g) => ({ ...firing.get(g)!, endsAt: now }));
      const from = hook().notifications.length;
      const t0 = performance.now();
      await c().postAlerts(c().aliveNodes(), resolved);
      for (const g of groups) firing.delete(g);
      const until = t0 + GROUP_INTERVAL_MS + (NODES - 1) * PEER_TIMEOUT_MS + MARGIN_MS;
      const expected = groups.filter((g) => notified.has(g));
      const r = await judge(expected, "resolved", t0, until, from);
      const quiet = await judge([silenced], "resolved", t0, until, from, 0);
      const bound = GROUP_INTERVAL_MS;
      const allowed = restartedGroups * expectations.resolveDuplicatesPerRestartedGroup;
      rows.push({
        scenario: "resolve", duplicates: r.duplicates + quiet.duplicates, misses: r.misses, firstMs: r.firstMs, boundMs: bound,
        notes: `${expected.length} groups resolved (each at its next group_interval tick); ${r.counts}; silenced group sent ${quiet.duplicates}`,
      });
      expect({ silencedSent: quiet.duplicates, misses: r.misses }, failureDetails()).toEqual({ silencedSent: 0, misses: 0 });
      expect(r.duplicates, failureDetails()).toBeLessThanOrEqual(allowed);
      expect(r.firstMs!).toBeLessThanOrEqual(bound + SLACK_MS);
    }, 60_000);
  });
}
