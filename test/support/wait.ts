/**
 * Waiting in tests: poll a condition with a deadline, never a fixed sleep.
 * Every helper that waits (waitUntil in processes.ts, the rooms' waitFor
 * helpers) is this one.
 */

/** How to poll. */
export interface PollOptions {
  /** Give up after this long (default 5 s). */
  deadlineMs?: number;
  /** Pause between checks (default 10 ms). */
  intervalMs?: number;
  /** Checked before every poll: a message ends the wait at once with that error (e.g. "the process exited"). */
  abortIf?: () => string | undefined;
  /** Appended to the timeout error (e.g. a process's logs). */
  details?: () => string;
}

/**
 * Polls `check` until it returns something other than undefined or false,
 * and returns that. A check that throws counts as not yet (its last error is
 * named in the timeout). Throws `timed out after Nms waiting for <what>`.
 *
 * @example
 * await pollUntil("the target to be up", () => manager.activeTargets()[0]?.health === "up");
 * const body = await pollUntil("an answer", async () => (await fetch(url)).ok && (await fetch(url)).text());
 */
export async function pollUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: PollOptions = {},
): Promise<T> {
  const deadlineMs = opts.deadlineMs ?? 5000;
  const deadline = performance.now() + deadlineMs;
  let lastError = "";
  for (;;) {
    const aborted = opts.abortIf?.();
    if (aborted !== undefined) throw new Error(`${aborted} while waiting for ${what}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (performance.now() > deadline) break;
    await Bun.sleep(opts.intervalMs ?? 10);
  }
  const details = opts.details?.() ?? "";
  throw new Error(`timed out after ${deadlineMs}ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}${details ? `\n${details}` : ""}`);
}
