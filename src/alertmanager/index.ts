/**
 * The Alertmanager room's door: the {@link Alertmanager} core (alert store,
 * routing and dispatch, inhibition, silences, notification log, the
 * notification pipeline and the receiver integrations — webhook plus
 * notifiers/: e-mail, Slack, PagerDuty, OpsGenie, … with the default
 * templates) and the pure pieces it is built from, for the API, the
 * cluster layer and tests.
 *
 * @example
 * const { config } = loadAlertmanagerConfigFile("alertmanager.yml");
 * const am = new Alertmanager({ config, storagePath: "data", externalURL: "http://localhost:9093" });
 * am.putAlerts([{ labels: labelsFromRecord({ alertname: "InstanceDown", job: "node" }) }]);
 */
export {
  Alertmanager, ALERTMANAGER_VERSION, DEFAULT_MINORITY_HOLD,
  type AlertFilter, type AlertmanagerClusterStatus, type AlertmanagerOptions, type AlertWithStatus, type ReceiverStatus,
} from "./alertmanager.ts";
export { AlertStore, mergeAlerts, normalizeAlert, validateAlert, type AlertListener, type PostableAlert } from "./alerts.ts";
export { ManualClock, sleep, systemClock, type Clock, type Timer } from "./clock.ts";
export {
  compareAlerts, compareLabelSets, Dispatcher, groupLabelsFor, labelSetString,
  type AlertGroup, type FlushFn, type GroupInfo,
} from "./dispatch.ts";
export { Inhibitor, InhibitRule } from "./inhibit.ts";
// The matcher and time-interval parsers live in the model room (config validates with them); re-exported here.
export { compareMatchers, formatMatcher, formatMatchers, matchesAll, parseMatcher, parseMatchers } from "../model/index.ts";
export { NotificationLog, receiverKeyString, type NflogEntry, type NotificationLogOptions, type ReceiverKey } from "./nflog.ts";
export {
  dedupStage, inhibitStage, MinorityHold, minorityHoldStage, needsUpdate, recordStage, refreshStage, retryDelay, retryStage,
  runReceiverPipeline, runStages, settleStage, silenceStage, timeIntervalStage, waitStage,
  type Integration, type MinorityView, type NotifyContext, type NotifyResult, type ReceiverPipeline, type RetryObserver, type Stage,
} from "./pipeline.ts";
export {
  decodeAlerts, decodeNflog, decodeSilences, encodeAlerts, encodeNflog, encodeSilences, GOSSIP_FORMAT_VERSION, MAX_STATE_BYTES,
} from "./gossip_codec.ts";
export { AlertmanagerReplication, STATE_KEYS, type ReplicaMetrics, type ReplicaSources } from "./replication.ts";
export { buildRouteTree, Route, routeMatchers, type RouteOpts } from "./route.ts";
export {
  SilenceError, Silences, silenceState, toMatcher, validateSilence,
  type PostableSilence, type Silence, type SilenceMatcher, type SilencesOptions, type SilenceState,
} from "./silences.ts";
export { parseTimeInterval, timeIntervalContains, type TimeInterval, type TimeIntervalConfig } from "../model/index.ts";
export { alertStatus, fingerprint, fingerprintOf, formatTime, isResolved, type Alert } from "./types.ts";
export {
  buildWebhookMessage, WebhookIntegration,
  type WebhookAlert, type WebhookMessage, type WebhookOptions,
} from "./webhook.ts";
export {
  buildIntegrations, DEFAULT_TEMPLATE_TEXT, FAILURE_REASONS, INTEGRATION_NAMES, notificationTemplates,
  type FailureReason, type NotifierDeps,
} from "./notifiers/index.ts";
