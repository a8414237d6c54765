/**
 * Test helpers for the discovery room: a deadline-bounded poll, a recorder
 * that applies target-group updates the way the scrape manager does, and
 * metric lookups in a rendered registry.
 */
import { labelsToRecord, type Registry } from "../../src/model/index.ts";
import type { TargetGroup } from "../../src/discovery/index.ts";
import { pollUntil } from "../support/wait.ts";

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  await pollUntil(what, check, { deadlineMs: timeoutMs, intervalMs: 5 });
}

/** A group as plain records, for readable assertions. */
export interface PlainGroup {
  source: string;
  targets: Record<string, string>[];
  labels: Record<string, string>;
}

/** Plain-record view of a group. */
export function plain(g: TargetGroup): PlainGroup {
  return { source: g.source, targets: g.targets.map(labelsToRecord), labels: labelsToRecord(g.labels) };
}

/** Applies updates like ScrapeManager.setTargetGroups: replace by source, empty removes. */
export class GroupRecorder {
  readonly current = new Map<string, TargetGroup>();
  readonly updates: TargetGroup[][] = [];

  readonly update = (groups: TargetGroup[]): void => {
    this.updates.push(groups);
    for (const g of groups) {
      if (g.targets.length === 0) this.current.delete(g.source);
      else this.current.set(g.source, g);
    }
  };

  /** Addresses of all current targets, sorted. */
  addresses(): string[] {
    return [...this.current.values()].flatMap((g) => g.targets.map((t) => labelsToRecord(t).__address__ ?? "")).sort();
  }

  /** The current group of `source` as plain records. */
  group(source: string): PlainGroup | undefined {
    const g = this.current.get(source);
    return g && plain(g);
  }
}

/** The value of the sample `series` (name plus optional `{labels}`, exactly as rendered) in `registry`, or undefined. */
export function metricValue(registry: Registry, series: string): number | undefined {
  for (const line of registry.render().split("\n")) {
    if (line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    if (line.slice(0, sp) === series) return Number(line.slice(sp + 1));
  }
  return undefined;
}
