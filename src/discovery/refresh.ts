/**
 * The polling shell shared by refresh-based mechanisms (http_sd, dns_sd, and
 * any other that asks a remote API every `refresh_interval`), as
 * Prometheus's discovery/refresh package: refresh at once, then every
 * interval; a failed refresh is logged and the last targets stay.
 */
import type { Logger } from "../log/index.ts";
import type { TargetGroup } from "./types.ts";

/**
 * Resolves after `ms`, or as soon as `signal` aborts (never rejects), and
 * leaves no timer behind either way.
 *
 * @example
 * await sleepUnlessAborted(30_000, signal);
 * if (signal.aborted) return;
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What {@link runRefreshLoop} needs. */
export interface RefreshLoopOptions {
  /** One refresh: the groups to report, or a throw for a failed refresh. */
  refresh: (signal: AbortSignal) => Promise<TargetGroup[]>;
  intervalMs: number;
  update: (groups: TargetGroup[]) => void;
  signal: AbortSignal;
  logger: Logger;
  /** Called for each failed refresh (e.g. to count it). */
  onFailure?: (err: unknown) => void;
}

/**
 * Runs `refresh` now and then every `intervalMs` until `signal` aborts,
 * passing non-empty results to `update`. Never throws.
 *
 * @example
 * await runRefreshLoop({ refresh: (s) => fetchGroups(s), intervalMs: 60_000, update, signal, logger });
 */
export async function runRefreshLoop(opts: RefreshLoopOptions): Promise<void> {
  const { signal, logger } = opts;
  while (!signal.aborted) {
    try {
      const groups = await opts.refresh(signal);
      if (!signal.aborted && groups.length > 0) opts.update(groups);
    } catch (err) {
      if (!signal.aborted) {
        logger.error("Unable to refresh target groups", { err });
        opts.onFailure?.(err);
      }
    }
    await sleepUnlessAborted(opts.intervalMs, signal);
  }
}
