/**
 * Whether an interop test's peer (real Prometheus, Alertmanager, promtool,
 * amtool…) is installed. Without it the test passes with a loud SKIPPED
 * message, unless PROMTS_REQUIRE_PEERS=1 (CI with peers), where a missing
 * peer is an error instead of a silent pass.
 */

/** True when PROMTS_REQUIRE_PEERS=1: missing peers fail instead of skipping. */
export function peersRequired(): boolean {
  return process.env.PROMTS_REQUIRE_PEERS === "1";
}

/**
 * Decides whether a peer-dependent test can run: true when `found` (a
 * binary path, or any truthy handle) is present (and then narrows it); otherwise throws under
 * PROMTS_REQUIRE_PEERS=1, or warns `*** SKIPPED: <skipNote> ***` (when a
 * note is given) and returns false.
 *
 * @example
 * const promtool = Bun.which("promtool");
 * beforeAll(() => {
 *   if (!peerAvailable(promtool, "promtool", "promtool not installed (apt-get install prometheus)")) return;
 * });
 */
export function peerAvailable<T>(found: T | null | undefined, peer: string, skipNote?: string): found is T {
  if (found) return true;
  if (peersRequired()) throw new Error(`${peer} not installed but PROMTS_REQUIRE_PEERS=1`);
  if (skipNote !== undefined) console.warn(`\n*** SKIPPED: ${skipNote} ***\n`);
  return false;
}
