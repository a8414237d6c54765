/**
 * The fault scenarios (scenarios.ts) run against the real Alertmanager
 * 0.25: the reference table of issue 11, and the proof that the harness
 * measures what it claims independently of promts. Needs root, iproute2 and
 * prometheus-alertmanager; skips loudly without them, and fails instead under
 * PROMTS_REQUIRE_PEERS=1.
 */
import { existsSync } from "node:fs";
import { netnsAvailable } from "../support/netns.ts";
import { peerAvailable } from "../support/peers.ts";
import { defineFaultSuite } from "./scenarios.ts";

const ALERTMANAGER = Bun.which("prometheus-alertmanager") ?? (existsSync("/usr/bin/prometheus-alertmanager") ? "/usr/bin/prometheus-alertmanager" : null);

const enabled = netnsAvailable("cluster fault tests against the real Alertmanager")
  && peerAvailable(ALERTMANAGER, "prometheus-alertmanager", "cluster fault tests: prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)");

defineFaultSuite(
  { name: "alertmanager-0.25", command: (flags) => [ALERTMANAGER!, ...flags] },
  // The isolated node cannot see the notification log of the others, so it sends too: one duplicate per group, by design.
  // A restarted node's group timers run out of phase with the others', so a resolved notification can go out twice.
  { partitionDuplicatesPerGroup: 1, resolveDuplicatesPerRestartedGroup: 1 },
  enabled,
);
