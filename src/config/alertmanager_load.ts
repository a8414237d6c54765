/**
 * Loading `alertmanager.yml`: YAML with positions, schema decoding,
 * printing the effective config back. amtool's `check-config` is in the
 * cli room (src/cli/check_alertmanager.ts).
 */
import { stringify } from "yaml";
import { AlertmanagerConfigType } from "./alertmanager_schema.ts";
import type { AlertmanagerConfigFile } from "./alertmanager_types.ts";
import { encodeObject } from "./schema.ts";
import { decodeYAMLFile, readConfigText } from "./yaml_file.ts";

/** A parsed `alertmanager.yml` plus what callers report on it. */
export interface LoadedAlertmanagerConfig {
  /** The config with defaults applied and relative paths resolved against the file's directory. */
  config: AlertmanagerConfigFile;
  /** Deprecation notes, each `FILE:LINE:COL: …`; the caller logs them. */
  warnings: string[];
  /** The file's text as read (what `/api/v2/status` shows as `original`). */
  text: string;
}

/**
 * Parses `alertmanager.yml` text; `filename` names the file in errors and
 * anchors relative paths. Throws {@link ConfigError} (`FILE:LINE:COL: …`)
 * on the first problem.
 *
 * @example
 * const { config } = parseAlertmanagerConfig("route: {receiver: a}\nreceivers: [{name: a}]", "am.yml");
 * config.route.group_wait // 30000
 */
export function parseAlertmanagerConfig(text: string, filename: string): LoadedAlertmanagerConfig {
  const { value, warnings } = decodeYAMLFile(text, filename, AlertmanagerConfigType);
  return { config: value as AlertmanagerConfigFile, warnings, text };
}

/** Reads and parses an `alertmanager.yml`; an unreadable file is a ConfigError without a position. */
export function loadAlertmanagerConfigFile(path: string): LoadedAlertmanagerConfig {
  return parseAlertmanagerConfig(readConfigText(path), path);
}

/**
 * The effective config as YAML (`/api/v2/status` `config.original` in
 * promts): defaults applied, secrets and webhook URLs as `<secret>`.
 */
export function alertmanagerConfigToYAML(cfg: AlertmanagerConfigFile): string {
  const encoded = encodeObject(cfg as unknown as Record<string, any>, AlertmanagerConfigType);
  addAlwaysWrittenFields(encoded);
  // YAML 1.1 quoting, as Go's yaml.v2 writes it: "yes", "no", "on" stay strings for amtool.
  return stringify(encoded, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" });
}

type Encoded = Record<string, unknown>;

/**
 * Alertmanager marshals some fields even at their zero value (no
 * `omitempty`): `templates`, each route's `continue`, each webhook's
 * `max_alerts`. The generic encoder drops zero values, so they are put back.
 */
function addAlwaysWrittenFields(encoded: Encoded): void {
  encoded.templates ??= [];
  const route = (r: Encoded) => {
    r.continue ??= false;
    for (const child of (r.routes as Encoded[] | undefined) ?? []) route(child);
  };
  if (encoded.route) route(encoded.route as Encoded);
  for (const receiver of (encoded.receivers as Encoded[] | undefined) ?? []) {
    for (const webhook of (receiver.webhook_configs as Encoded[] | undefined) ?? []) webhook.max_alerts ??= 0;
    for (const [key, list] of Object.entries(receiver)) {
      if (!key.endsWith("_configs") || !Array.isArray(list)) continue;
      receiver[key] = (list as Encoded[]).map((c) => {
        // send_resolved and these booleans have no omitempty in Alertmanager.
        const out: Encoded = { send_resolved: c.send_resolved ?? false, ...c };
        for (const f of ALWAYS_WRITTEN[key] ?? []) out[f] ??= false;
        // Pushover's durations marshal as Go's time.Duration.String().
        if (key === "pushover_configs") for (const f of ["retry", "expire", "ttl"]) if (typeof out[f] === "string") out[f] = goDurationText(out[f] as string);
        return out;
      });
    }
  }
}

/** Boolean fields Alertmanager always writes, per integration list. */
const ALWAYS_WRITTEN: Record<string, string[]> = {
  slack_configs: ["short_fields", "link_names"],
  rocketchat_configs: ["short_fields", "link_names"],
  pushover_configs: ["html"],
};

/** A Prometheus-style duration ("1h", "90s") in Go's time.Duration spelling ("1h0m0s", "1m30s"). */
export function goDurationText(text: string): string {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) {
    const k = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 }[unit as "ms"];
    ms += Number(n) * k;
  }
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}
