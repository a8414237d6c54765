/**
 * Inhibition: a target alert is muted while some firing source alert of
 * the same rule has equal values for the rule's `equal` labels (a missing
 * label counts as ""). An alert that matches both the source and the
 * target side is never muted by an alert that also matches both — so a
 * rule cannot make an alert inhibit itself, as in Alertmanager.
 *
 * @example
 * const inh = new Inhibitor(config.inhibit_rules);
 * inh.observe(criticalAlert, fp);
 * inh.mutes(warningAlert.labels, now); // fingerprint of criticalAlert
 */
import type { InhibitRuleConfig } from "../config/index.ts";
import { getLabel, type Labels, type Matcher } from "../model/index.ts";
import { matchesAll } from "../model/index.ts";
import { routeMatchers } from "./route.ts";
import { isResolved, type Alert } from "./types.ts";

/** One compiled inhibit rule with the source alerts seen so far. */
export class InhibitRule {
  readonly sourceMatchers: Matcher[];
  readonly targetMatchers: Matcher[];
  readonly equal: readonly string[];
  /** Alerts matching the source side, by fingerprint. */
  private readonly sources = new Map<string, Alert>();

  constructor(cfg: InhibitRuleConfig) {
    this.sourceMatchers = routeMatchers({ match: cfg.source_match, match_re: cfg.source_match_re, matchers: cfg.source_matchers });
    this.targetMatchers = routeMatchers({ match: cfg.target_match, match_re: cfg.target_match_re, matchers: cfg.target_matchers });
    this.equal = cfg.equal ?? [];
  }

  /** Remembers `alert` when it matches the source side. */
  observe(alert: Alert, fp: string): void {
    if (matchesAll(this.sourceMatchers, alert.labels)) this.sources.set(fp, alert);
    else this.sources.delete(fp);
  }

  /** Forgets source alerts resolved before `now`. */
  gc(now: number): void {
    for (const [fp, a] of this.sources) if (isResolved(a, now)) this.sources.delete(fp);
  }

  /** The fingerprint of a firing source alert inhibiting `labels`, if any. */
  inhibitedBy(labels: Labels, now: number): string | undefined {
    if (!matchesAll(this.targetMatchers, labels)) return undefined;
    const twoSided = matchesAll(this.sourceMatchers, labels);
    outer: for (const [fp, source] of this.sources) {
      if (isResolved(source, now)) continue;
      for (const name of this.equal) if (getLabel(source.labels, name) !== getLabel(labels, name)) continue outer;
      if (twoSided && matchesAll(this.targetMatchers, source.labels)) continue;
      return fp;
    }
    return undefined;
  }
}

/** All inhibit rules of a config; see the module comment. */
export class Inhibitor {
  readonly rules: InhibitRule[];

  constructor(configs: InhibitRuleConfig[]) {
    this.rules = configs.map((c) => new InhibitRule(c));
  }

  /** Feeds an accepted alert to every rule. */
  observe(alert: Alert, fp: string): void {
    for (const r of this.rules) r.observe(alert, fp);
  }

  /** The fingerprint of an alert inhibiting `labels` at `now`, or undefined. */
  mutes(labels: Labels, now: number): string | undefined {
    for (const r of this.rules) {
      const by = r.inhibitedBy(labels, now);
      if (by !== undefined) return by;
    }
    return undefined;
  }

  /** Forgets resolved source alerts. */
  gc(now: number): void {
    for (const r of this.rules) r.gc(now);
  }
}
