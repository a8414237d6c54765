/**
 * The notifier room's door: the alert queue that posts alerts to every
 * configured Alertmanager (Alertmanager API v2), and its pieces.
 *
 * @example
 * const notifier = new Notifier({ logger, registry, queueCapacity: 10_000 });
 * notifier.applyConfig(config.alerting, config.global.external_labels);
 * notifier.send(alerts);
 * await notifier.stop();
 */
export { formatAPITime, toPostableAlerts, type Alert, type PostableAlert } from "./alert.ts";
export { alertsPath, resolveAlertmanagers, staticGroups, type AMTargetGroup, type ResolvedAlertmanagers } from "./alertmanagers.ts";
export { MAX_BATCH_SIZE, Notifier, relabelAlerts, type AlertmanagersData, type NotifierOptions } from "./notifier.ts";
