/**
 * Shares the event loop between scrape loops so that one target's large
 * body costs its own scrape, not its neighbours' (nor the HTTP server's).
 *
 * Every scrape's synchronous work (decoding, parsing, creating series,
 * appending) runs as a job that asks `due()` every few hundred samples and
 * `await`s `pause()` when it says so. All jobs share one budget per turn of
 * the event loop: while any job has used up {@link SCRAPE_SLICE_MS} in the
 * current turn, every job pauses — so 18 hostile targets together hold the
 * loop for one slice per turn, not 18. Paused jobs resume one per turn,
 * the one that has used the fewest slices first (least attained service,
 * capped at a few slices, beyond which jobs take turns in order): a healthy
 * target's small body, which needs one slice, never waits behind a huge
 * body that needs hundreds, and a huge one is not starved.
 *
 * @example
 * const sched = new ScrapeScheduler();
 * const job = sched.job();
 * for (const item of items) {
 *   work(item);
 *   if (job.due()) await job.pause();
 * }
 */

/** Scrape work per turn of the event loop, in ms (the server-wide ~10 ms rule). */
export const SCRAPE_SLICE_MS = 8;

/** Slices after which a job's priority stops dropping (see `run`). */
const PRIORITY_SLICES = 4;

interface Waiter {
  job: ScrapeJob;
  resume: () => void;
}

/** One scrape's share of the scheduler. */
export class ScrapeJob {
  /** Slices this job has paused after: its priority (fewer first). */
  slices = 0;

  constructor(private readonly sched: ScrapeScheduler) {}

  /** Whether the turn's budget is used up and the job should `await pause()`. */
  due(): boolean {
    return this.sched.due();
  }

  /** Gives the event loop back; resolves when this job's turn comes. */
  pause(): Promise<void> {
    this.slices++;
    return this.sched.enqueue(this);
  }
}

/** The budget and run queue shared by all scrape loops of a server. */
export class ScrapeScheduler {
  private readonly waiting: Waiter[] = [];
  /** performance.now() when scrape work started in the current turn; -1 when none has yet. */
  private sliceStart = -1;
  private resetScheduled = false;
  private runScheduled = false;

  constructor(private readonly sliceMs = SCRAPE_SLICE_MS) {}

  /** A new job (one per scrape). */
  job(): ScrapeJob {
    return new ScrapeJob(this);
  }

  /** Jobs paused and waiting for a turn (for tests and metrics). */
  get waitingJobs(): number {
    return this.waiting.length;
  }

  /** See {@link ScrapeJob.due}. */
  due(): boolean {
    const now = performance.now();
    if (this.sliceStart < 0) {
      this.startSlice(now);
      return false;
    }
    return now - this.sliceStart >= this.sliceMs;
  }

  /** Queues a paused job; see {@link ScrapeJob.pause}. */
  enqueue(job: ScrapeJob): Promise<void> {
    return new Promise<void>((resume) => {
      this.waiting.push({ job, resume });
      this.scheduleRun();
    });
  }

  private startSlice(now: number): void {
    this.sliceStart = now;
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    // Runs after this turn's I/O callbacks: the next turn starts with a fresh budget.
    setImmediate(this.reset);
  }

  private readonly reset = (): void => {
    this.resetScheduled = false;
    this.sliceStart = -1;
  };

  private scheduleRun(): void {
    if (this.runScheduled) return;
    this.runScheduled = true;
    setImmediate(this.run);
  }

  /** Resumes the waiting job with the fewest slices (the earliest among equals); one per turn. */
  private readonly run = (): void => {
    this.runScheduled = false;
    const w = this.waiting;
    if (w.length === 0) return;
    // Fewest slices first, but a job past PRIORITY_SLICES waits in plain FIFO order behind the small
    // ones: under overload, a stream of new small jobs cannot starve a big one that is already far along.
    let best = 0;
    for (let i = 1; i < w.length; i++) if (Math.min(w[i]!.job.slices, PRIORITY_SLICES) < Math.min(w[best]!.job.slices, PRIORITY_SLICES)) best = i;
    const next = w[best]!;
    w.splice(best, 1);
    this.startSlice(performance.now());
    next.resume();
    if (w.length > 0) this.scheduleRun();
  };
}
