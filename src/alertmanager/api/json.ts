/**
 * The JSON shapes of Alertmanager's API v2 (api/v2/openapi.yaml), built
 * from the core's alerts, silences and groups. Keys are written in the
 * order Alertmanager's generated models write them (alphabetical within
 * each part of an `allOf`), times as RFC 3339 with milliseconds in UTC, as
 * go-openapi's `strfmt.DateTime` does.
 *
 * @example
 * apiTime(Date.UTC(2024, 0, 1)) // "2024-01-01T00:00:00.000Z"
 */
import { labelsToRecord } from "../../model/index.ts";
import type { AlertWithStatus, Silence, SilenceState } from "../index.ts";

/** One receiver as the API names it. */
export interface APIReceiver {
  name: string;
}

/** `gettableAlert`. */
export interface GettableAlert {
  annotations: Record<string, string>;
  endsAt: string;
  fingerprint: string;
  receivers: APIReceiver[];
  startsAt: string;
  status: { inhibitedBy: string[]; silencedBy: string[]; state: AlertWithStatus["state"] };
  updatedAt: string;
  generatorURL?: string;
  labels: Record<string, string>;
}

/** `matcher` of a silence. */
export interface APIMatcher {
  isEqual: boolean;
  isRegex: boolean;
  name: string;
  value: string;
}

/** `gettableSilence`. */
export interface GettableSilence {
  id: string;
  status: { state: SilenceState };
  updatedAt: string;
  comment: string;
  createdBy: string;
  endsAt: string;
  matchers: APIMatcher[];
  startsAt: string;
}

/** `alertGroup`. */
export interface APIAlertGroup {
  alerts: GettableAlert[];
  labels: Record<string, string>;
  receiver: APIReceiver;
}

/** `versionInfo` of `alertmanagerStatus`. */
export interface VersionInfo {
  branch: string;
  buildDate: string;
  buildUser: string;
  goVersion: string;
  revision: string;
  version: string;
}

/** One cluster member (`peerStatus`). */
export interface PeerStatus {
  address: string;
  name: string;
}

/** `clusterStatus`: `disabled` when this Alertmanager runs alone. */
export interface ClusterStatus {
  name?: string;
  peers: PeerStatus[];
  status: "ready" | "settling" | "disabled";
}

/** `alertmanagerStatus`. */
export interface AlertmanagerStatus {
  cluster: ClusterStatus;
  config: { original: string };
  uptime: string;
  versionInfo: VersionInfo;
}

/**
 * A Unix-millisecond time as `strfmt.DateTime` writes it:
 * `2006-01-02T15:04:05.000Z`; 0 (unset) as Go's zero time.
 */
export function apiTime(ms: number): string {
  if (ms === 0) return "0001-01-01T00:00:00.000Z";
  return new Date(ms).toISOString();
}

/** Converts the core's alert with status to `gettableAlert`. */
export function toGettableAlert(s: AlertWithStatus): GettableAlert {
  const a = s.alert;
  const out: Omit<GettableAlert, "labels"> & { labels?: Record<string, string> } = {
    annotations: labelsToRecord(a.annotations),
    endsAt: apiTime(a.endsAt),
    fingerprint: s.fingerprint,
    receivers: s.receivers.map((name) => ({ name })),
    startsAt: apiTime(a.startsAt),
    status: { inhibitedBy: s.inhibitedBy, silencedBy: s.silencedBy, state: s.state },
    updatedAt: apiTime(a.updatedAt),
  };
  if (a.generatorURL !== "") out.generatorURL = a.generatorURL;
  return { ...out, labels: labelsToRecord(a.labels) };
}

/** Converts a stored silence with its state to `gettableSilence`. */
export function toGettableSilence(s: Silence & { state: SilenceState }): GettableSilence {
  return {
    id: s.id,
    status: { state: s.state },
    updatedAt: apiTime(s.updatedAt),
    comment: s.comment,
    createdBy: s.createdBy,
    endsAt: apiTime(s.endsAt),
    matchers: s.matchers.map((m) => ({ isEqual: m.isEqual ?? true, isRegex: m.isRegex, name: m.name, value: m.value })),
    startsAt: apiTime(s.startsAt),
  };
}

const STATE_ORDER: Record<SilenceState, number> = { active: 1, pending: 2, expired: 3 };

/**
 * Alertmanager's silence order: active ones first (soonest end first),
 * then pending (soonest start first), then expired (latest end first).
 */
export function compareSilences(a: Silence & { state: SilenceState }, b: Silence & { state: SilenceState }): number {
  if (a.state !== b.state) return STATE_ORDER[a.state] - STATE_ORDER[b.state];
  switch (a.state) {
    case "active":
      return a.endsAt - b.endsAt;
    case "pending":
      return a.startsAt - b.startsAt;
    case "expired":
      return b.endsAt - a.endsAt;
  }
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/**
 * Serializes like Go's encoding/json encoder: `<`, `>`, `&`, U+2028 and
 * U+2029 escaped as `\u00XX`, and a trailing newline.
 *
 * @example goJSON({ a: "<b>" }) // '{"a":"\\u003cb\\u003e"}\n'
 */
export function goJSON(value: unknown): string {
  const text = JSON.stringify(value).replace(HTML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `${text}\n`;
}
