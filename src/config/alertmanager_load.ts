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
  return stringify(encoded, { lineWidth: 0, aliasDuplicateObjects: false });
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
  }
}
