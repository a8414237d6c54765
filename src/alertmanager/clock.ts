/**
 * Time as the Alertmanager core sees it: a clock that tells the time and
 * runs timers. Production uses {@link systemClock}; tests use
 * {@link ManualClock} and move time forward themselves, so group_wait,
 * group_interval and repeat_interval are tested without waiting.
 */

/** A scheduled callback that can be cancelled (cancelling twice is fine). */
export interface Timer {
  cancel(): void;
}

/** Current time in Unix milliseconds plus one-shot timers. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): Timer;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

interface PendingTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every timer due
 * up to the new time, earliest first (timers set by those callbacks too),
 * with `now()` reporting each timer's due time while it runs.
 *
 * @example
 * const clock = new ManualClock(0);
 * clock.setTimer(() => console.log(clock.now()), 1000);
 * clock.advance(5000); // prints 1000
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const t: PendingTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => { t.cancelled = true; } };
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (t.cancelled || t.due > target) continue;
        if (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq)) next = t;
      }
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = Math.max(this.current, next.due);
      next.fn();
    }
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
    this.current = target;
  }

  /** How many live timers are waiting (for tests that check nothing is left behind). */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

/**
 * Resolves after `ms` on `clock`, or rejects with the signal's reason when
 * `signal` aborts first.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
