/**
 * The notification pipeline a flushed group goes through, one exported
 * stage per step, as in Alertmanager's notify package:
 *
 *   settle → inhibit → time intervals → silence →
 *     (per integration:) wait → minority hold → refresh → dedup → retry → record
 *
 * In a cluster, settle holds the first notifications until the cluster
 * has settled (so alerts, silences and the notification log are back from
 * the peers), wait staggers the peers by position, minority hold keeps a
 * node on the minority side of a partition quiet for a bounded time, and
 * the record stage's nflog entry is what the cluster gossips. Refresh
 * takes, after those waits, the resolutions that arrived meanwhile, so a
 * peer that waited never re-announces as firing what another node already
 * notified as resolved.
 *
 * A stage takes the context and the alerts still to notify and returns
 * the alerts for the next stage; an empty result ends the run. The
 * per-integration stages run on a copy of the context, in parallel.
 *
 * @example
 * const stages = [inhibitStage(inhibitor), silenceStage(silences), ...];
 * await runStages(stages, ctx, alerts);
 */
import type { Logger } from "../log/index.ts";
import type { Labels } from "../model/index.ts";
import { sleep, type Clock } from "./clock.ts";
import type { Inhibitor } from "./inhibit.ts";
import { receiverKeyString, type NflogEntry, type NotificationLog, type ReceiverKey } from "./nflog.ts";
import type { Silences } from "./silences.ts";
import { timeIntervalContains, type TimeInterval } from "../model/index.ts";
import { fingerprint, isResolved, type Alert } from "./types.ts";

/** What every stage knows about the flush it is part of. */
export interface NotifyContext {
  /** The aggregation group's key, e.g. `{}:{alertname="x"}`. */
  groupKey: string;
  /** The receiver's name from the config. */
  receiverName: string;
  groupLabels: Labels;
  repeatInterval: number;
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
  /** Aborts when the flush's deadline passes (or the Alertmanager stops). */
  signal: AbortSignal;
  /** Fingerprints set by the dedup stage for the record stage. */
  firing?: string[];
  resolved?: string[];
}

/** One step of the pipeline. */
export type Stage = (ctx: NotifyContext, alerts: Alert[]) => Alert[] | Promise<Alert[]>;

/** Outcome of one delivery attempt by an integration. */
export interface NotifyResult {
  /** Undefined on success. */
  error?: Error;
  /** Whether trying again may help (network errors, 5xx, 429); other 4xx are final. */
  retry: boolean;
  /** The failure's `reason` label (clientError, serverError, …); "other" when absent. */
  reason?: string;
}

/** One configured receiver integration (a webhook URL, …). */
export interface Integration {
  /** Type name, e.g. "webhook" — the `integration` label of the metrics. */
  readonly name: string;
  /** Position among the receiver's integrations of this type. */
  readonly index: number;
  readonly sendResolved: boolean;
  notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult>;
}

/** Runs `stages` in order; stops early when no alerts are left. Returns the last stage's alerts. */
export async function runStages(stages: readonly Stage[], ctx: NotifyContext, alerts: Alert[]): Promise<Alert[]> {
  let current = alerts;
  for (const stage of stages) {
    if (current.length === 0) return current;
    current = await stage(ctx, current);
  }
  return current;
}

/** Drops alerts that an inhibit rule mutes. */
export function inhibitStage(inhibitor: () => Inhibitor, clock: Clock): Stage {
  return (_ctx, alerts) => {
    const now = clock.now();
    return alerts.filter((a) => inhibitor().mutes(a.labels, now) === undefined);
  };
}

/**
 * Drops the whole flush while a route's mute interval is in effect, or
 * while none of its active intervals is (when it has any).
 */
export function timeIntervalStage(intervals: () => ReadonlyMap<string, TimeInterval[]>, clock: Clock): Stage {
  return (ctx, alerts) => {
    const now = clock.now();
    const inAny = (names: readonly string[]) =>
      names.some((n) => (intervals().get(n) ?? []).some((ti) => timeIntervalContains(ti, now)));
    if (inAny(ctx.muteTimeIntervals)) return [];
    if (ctx.activeTimeIntervals.length > 0 && !inAny(ctx.activeTimeIntervals)) return [];
    return alerts;
  };
}

/** Drops alerts that an active silence matches. */
export function silenceStage(silences: Silences, clock: Clock): Stage {
  return (_ctx, alerts) => {
    const now = clock.now();
    return alerts.filter((a) => silences.mutes(a.labels, now).length === 0);
  };
}

/**
 * Waits `position × peerTimeout` so that in a cluster the first peer
 * notifies and the others find its nflog entry; no wait when alone
 * (position 0).
 */
export function waitStage(peerPosition: () => number, peerTimeout: number, clock: Clock, syncAhead?: () => Promise<void>): Stage {
  return async (ctx, alerts) => {
    const wait = peerPosition() * peerTimeout;
    if (wait > 0) {
      await sleep(clock, wait, ctx.signal);
      // promts addition: take the nodes ahead's notification log over TCP, so a gossip packet lost or late does not make a duplicate.
      if (syncAhead) await syncAhead();
    }
    return alerts;
  };
}

/**
 * Alertmanager's GossipSettleStage: waits (once) until `settle` resolves,
 * which in a cluster is when the membership has settled or the settle
 * timeout passed. Throws when the flush's signal aborts first.
 */
export function settleStage(settle: (signal: AbortSignal) => Promise<void>): Stage {
  let settled = false;
  return async (ctx, alerts) => {
    if (settled) return alerts;
    await settle(ctx.signal);
    ctx.signal.throwIfAborted();
    settled = true;
    return alerts;
  };
}

/** What {@link MinorityHold} needs of the cluster peer. */
export interface MinorityView {
  inMinority(): boolean;
  onChange(fn: () => void): () => void;
}

/** How often a held notification re-checks whether the partition healed. */
const MINORITY_POLL_MS = 250;

/**
 * The minority hold: while this node sees fewer than half of the last
 * stable membership it holds notifications, for at most `holdMs` counted
 * from when it entered the minority. If the partition heals meanwhile,
 * the notification log merged from the majority dedups what the other
 * side already sent; if the bound passes, the node sends (at-least-once).
 *
 * @example
 * const hold = new MinorityHold(peer, 30_000, clock);
 * await hold.wait(signal); // returns at once outside a minority
 */
export class MinorityHold {
  private since: number | undefined;
  private readonly unsubscribe: () => void;

  /** `transition` is told when this node enters (true) or leaves (false) a minority, for logging. */
  constructor(
    private readonly view: MinorityView, readonly holdMs: number, private readonly clock: Clock,
    private readonly transition?: (minority: boolean) => void,
  ) {
    this.unsubscribe = view.onChange(() => this.observe());
    this.observe();
  }

  /** Re-reads the minority view; returns whether this node is in a minority. */
  observe(): boolean {
    const minority = this.view.inMinority();
    if (minority === (this.since !== undefined)) return minority;
    this.since = minority ? this.clock.now() : undefined;
    this.transition?.(minority);
    return minority;
  }

  /** How much longer notifications are held now (0 outside a minority or once the bound passed). */
  remaining(): number {
    if (!this.observe()) return 0;
    return Math.max(0, this.since! + this.holdMs - this.clock.now());
  }

  /** Resolves when notifications may go out; rejects when `signal` aborts first. */
  async wait(signal: AbortSignal): Promise<void> {
    for (;;) {
      const left = this.remaining();
      if (left <= 0) return;
      await sleep(this.clock, Math.min(left, MINORITY_POLL_MS), signal);
    }
  }

  /** Stops following membership changes. */
  close(): void {
    this.unsubscribe();
  }
}

/** Holds each notification while {@link MinorityHold} says so. */
export function minorityHoldStage(hold: MinorityHold): Stage {
  return async (ctx, alerts) => {
    await hold.wait(ctx.signal);
    return alerts;
  };
}

/**
 * Replaces each firing alert of the flush that has resolved since the
 * flush began (per `current`, the alert store) by its resolved version.
 * The flush's alerts are a snapshot taken when it started; after a peer
 * wait or a minority hold, a resolution that came in meanwhile (and that
 * another node may already have notified) must not go out as firing.
 */
export function refreshStage(current: (fingerprint: string) => Alert | undefined, clock: Clock): Stage {
  return (_ctx, alerts) => {
    const now = clock.now();
    return alerts.map((a) => {
      if (isResolved(a, now)) return a;
      const latest = current(fingerprint(a.labels));
      return latest && latest.updatedAt > a.updatedAt && isResolved(latest, now) ? latest : a;
    });
  };
}

/**
 * Alertmanager's DedupStage.needsUpdate: notify when no entry exists and
 * something fires; when a firing alert was not in the last notification;
 * when everything resolved that was notified firing; when resolved alerts
 * changed and the integration sends resolved ones; or when the last
 * notification is older than repeat_interval.
 */
export function needsUpdate(
  entry: NflogEntry | undefined, firing: ReadonlySet<string>, resolved: ReadonlySet<string>,
  sendResolved: boolean, repeatInterval: number, now: number,
): boolean {
  if (!entry) return firing.size > 0;
  const notified = new Set(entry.firingAlerts);
  for (const fp of firing) if (!notified.has(fp)) return true;
  if (firing.size === 0) return entry.firingAlerts.length > 0;
  if (sendResolved) {
    const notifiedResolved = new Set(entry.resolvedAlerts);
    for (const fp of resolved) if (!notifiedResolved.has(fp)) return true;
  }
  return entry.timestamp <= now - repeatInterval;
}

/** Passes the alerts on only when the notification log says something new needs telling. */
export function dedupStage(nflog: NotificationLog, receiver: ReceiverKey, sendResolved: boolean, clock: Clock): Stage {
  const key = receiverKeyString(receiver);
  return (ctx, alerts) => {
    const now = clock.now();
    const firing: string[] = [];
    const resolved: string[] = [];
    for (const a of alerts) (isResolved(a, now) ? resolved : firing).push(fingerprint(a.labels));
    ctx.firing = firing;
    ctx.resolved = resolved;
    const entry = nflog.query(ctx.groupKey, key);
    return needsUpdate(entry, new Set(firing), new Set(resolved), sendResolved, ctx.repeatInterval, now) ? alerts : [];
  };
}

/**
 * Where the retry stage reports (Alertmanager's metrics): each request
 * (`alertmanager_notification_requests_total`), each failed request
 * (`…_requests_failed_total`), its latency, each notification
 * (`alertmanager_notifications_total`) and each notification given up
 * on, with its reason (`alertmanager_notifications_failed_total`).
 */
export interface RetryObserver {
  attempt(integration: string): void;
  failed(integration: string): void;
  latency(integration: string, seconds: number): void;
  notification?(integration: string): void;
  gaveUp?(integration: string, reason: string): void;
}

/** Backoff between attempts: 500ms growing ×1.5 up to 60s (Alertmanager's exponential backoff, without jitter). */
export function retryDelay(attempt: number): number {
  return Math.min(60_000, 500 * 1.5 ** attempt);
}

/**
 * Sends through `integration`, retrying retryable failures with
 * exponential backoff until the context's deadline. Without send_resolved,
 * only firing alerts are sent; a flush with none is a success without a
 * send (so the record stage still logs it). Throws the last error when
 * giving up.
 */
export function retryStage(integration: Integration, clock: Clock, observer: RetryObserver, logger: Logger): Stage {
  return async (ctx, alerts) => {
    observer.notification?.(integration.name);
    let toSend = alerts;
    if (!integration.sendResolved) {
      const now = clock.now();
      toSend = alerts.filter((a) => !isResolved(a, now));
      if (toSend.length === 0) return alerts;
    }
    const what = `${integration.name}/${integration.index}`;
    const giveUp = (reason: string, message: string): never => {
      observer.gaveUp?.(integration.name, reason);
      throw new Error(message);
    };
    const cancelReason = () => ((ctx.signal.reason as Error | undefined)?.message?.includes("deadline") ? "contextDeadlineExceeded" : "contextCanceled");
    for (let attempt = 0; ; attempt++) {
      if (ctx.signal.aborted) giveUp(cancelReason(), `${what}: notify retry canceled after ${attempt} attempts`);
      const started = performance.now();
      observer.attempt(integration.name);
      let result: NotifyResult;
      try {
        result = await integration.notify(ctx, toSend, clock.now());
      } catch (e) {
        result = { error: e as Error, retry: false, reason: "other" };
      }
      observer.latency(integration.name, (performance.now() - started) / 1000);
      if (!result.error) return alerts;
      observer.failed(integration.name);
      if (!result.retry) {
        giveUp(result.reason ?? "other", `${what}: notify retry canceled due to unrecoverable error after ${attempt + 1} attempts: ${result.error.message}`);
      }
      logger.warn("Notify attempt failed, will retry later", {
        receiver: ctx.receiverName, integration: what, attempts: attempt + 1, err: result.error.message,
      });
      try {
        await sleep(clock, retryDelay(attempt), ctx.signal);
      } catch {
        giveUp(ctx.signal.aborted ? cancelReason() : result.reason ?? "other", `${what}: notify retry canceled after ${attempt + 1} attempts: ${result.error.message}`);
      }
    }
  };
}

/** Records the notification just sent in the notification log. */
export function recordStage(nflog: NotificationLog, receiver: ReceiverKey, clock: Clock): Stage {
  return (ctx, alerts) => {
    nflog.log(ctx.groupKey, receiver, ctx.firing ?? [], ctx.resolved ?? [], clock.now());
    return alerts;
  };
}

/** A receiver's stages: the shared muting stages, then each integration's chain. */
export interface ReceiverPipeline {
  shared: Stage[];
  perIntegration: Stage[][];
}

/**
 * Runs a receiver's pipeline for one flush: the shared stages, then every
 * integration's stages in parallel on copies of the context. Rejects with
 * the first integration error, after all integrations finished.
 */
export async function runReceiverPipeline(p: ReceiverPipeline, ctx: NotifyContext, alerts: Alert[]): Promise<void> {
  const remaining = await runStages(p.shared, ctx, alerts);
  if (remaining.length === 0) return;
  const results = await Promise.allSettled(p.perIntegration.map((stages) => runStages(stages, { ...ctx }, remaining)));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw (failure as PromiseRejectedResult).reason;
}
