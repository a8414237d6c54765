/**
 * Which Alertmanagers an `alertmanagers` entry of the config points at:
 * each target (static or discovered) gets `__scheme__` and `__alerts_path__`
 * from the config, the entry's relabel_configs decide, and the resulting
 * labels give the URL, as Prometheus's AlertmanagerFromGroup.
 */
import type { AlertmanagerConfig } from "../config/index.ts";
import { getLabel, labelsFromRecord, labelsToRecord, relabel, type Labels, type RelabelRule } from "../model/index.ts";

/** A group of targets: Prometheus's targetgroup.Group (structurally the discovery room's TargetGroup). */
export interface AMTargetGroup {
  source: string;
  targets: Labels[];
  labels: Labels;
}

/** The result of resolving one Alertmanager set: URLs to post to, and those relabeling dropped. */
export interface ResolvedAlertmanagers {
  active: string[];
  dropped: string[];
}

/** `path.Join("/", prefix, "/api/v2/alerts")`. */
export function alertsPath(pathPrefix: string): string {
  const parts = `/${pathPrefix}/api/v2/alerts`.split("/").filter((p) => p !== "" && p !== ".");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "..") out.pop();
    else out.push(p);
  }
  return "/" + out.join("/");
}

function urlOf(ls: Labels): string {
  return `${getLabel(ls, "__scheme__")}://${getLabel(ls, "__address__")}${getLabel(ls, "__alerts_path__")}`;
}

/** The target groups of the config's static_configs, sources "0", "1", … as Prometheus's static provider. */
export function staticGroups(cfg: AlertmanagerConfig): AMTargetGroup[] {
  return (cfg.static_configs ?? []).map((sc, i) => ({
    source: String(i),
    targets: sc.targets.map((t) => labelsFromRecord({ __address__: t })),
    labels: labelsFromRecord(sc.labels ?? {}),
  }));
}

/**
 * Resolves target groups to Alertmanager URLs for one config entry;
 * duplicates are listed once. Targets whose address contains a `/` are
 * skipped, as Prometheus rejects them.
 */
export function resolveAlertmanagers(groups: Iterable<AMTargetGroup>, cfg: AlertmanagerConfig): ResolvedAlertmanagers {
  const active: string[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const g of groups) {
    for (const target of g.targets) {
      const rec: Record<string, string> = { ...labelsToRecord(target), __scheme__: cfg.scheme ?? "http", __alerts_path__: alertsPath(cfg.path_prefix ?? "") };
      for (const l of g.labels) if (!(l.name in labelsToRecord(target))) rec[l.name] = l.value;
      const before = labelsFromRecord(rec);
      const after = relabel(before, (cfg.relabel_configs ?? []) as readonly RelabelRule[]);
      if (after === null) {
        dropped.push(urlOf(before));
        continue;
      }
      if (getLabel(after, "__address__").includes("/")) continue;
      const url = urlOf(after);
      if (seen.has(url)) continue;
      seen.add(url);
      active.push(url);
    }
  }
  return { active, dropped };
}
