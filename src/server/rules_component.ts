/**
 * Rules and alerting inside the server: a {@link ServerComponent} that runs
 * the notifier (alerts to every configured Alertmanager) and the rule
 * manager (recording rules write back into the DB, alerting rules hand
 * their alerts to the notifier), applies every (re)loaded configuration to
 * both, and stops them at shutdown before storage closes.
 *
 * A reload applies the `alerting` section first, then the rule files, as
 * Prometheus orders its reloaders. A bad rule file fails the reload (the
 * hook throws): the previous rules keep running and the server reports its
 * previous configuration, though — as in Prometheus — the new `alerting`
 * section is already in effect.
 *
 * When the built-in Alertmanager is clustered, the notifier also sends to
 * every other member's Alertmanager, learnt from the members' `web`
 * metadata and kept current on every membership change.
 *
 * The rules API is built before storage opens (the HTTP server answers at
 * once), so {@link RulesService} is also the API's view of rules: no groups
 * and no Alertmanagers until the component has started.
 */
import type { ClusterMember, ClusterPeer } from "../cluster/index.ts";
import { parseConfig, type AlertingConfig, type AlertmanagerConfig, type PrometheusConfig } from "../config/index.ts";
import { Notifier, type AlertmanagersData } from "../notifier/index.ts";
import { RuleManager, type GroupStatus } from "../rules/index.ts";
import type { RulesSource } from "../web/index.ts";
import type { ServerComponent, ServerContext } from "./prometheus.ts";

/**
 * Owns the rule manager and the notifier of a running server.
 *
 * @example
 * const rules = new RulesService();                      // runServer does this
 * rulesAPI(rules);                                       // apiV1Routes mounts it under /api/v1
 * components.push(rules.component);                      // started once storage is open
 * rules.ruleGroups();                                    // what /api/v1/rules shows
 */
export class RulesService implements RulesSource {
  private ruleManager: RuleManager | undefined;
  private notifier: Notifier | undefined;
  private builtin: AlertmanagerConfig | undefined;
  private cluster: (() => ClusterPeer | undefined) | undefined;

  /**
   * Sends alerts to the server's built-in Alertmanager too (over HTTP, as to
   * any other), in addition to those of the `alerting` section.
   */
  sendToBuiltinAlertmanager(serverURL: URL, routePrefix: string, tls: boolean): void {
    this.builtin = builtinAlertmanagerConfig(serverURL, routePrefix, tls);
  }

  /**
   * Sends alerts to the Alertmanagers of the cluster `peer()` is a member of
   * (read when the component starts, after the built-in Alertmanager joined).
   */
  sendToClusterAlertmanagers(peer: () => ClusterPeer | undefined): void {
    this.cluster = peer;
  }

  /** The server component: creates the notifier and rule manager and registers the reload and close hooks. */
  readonly component: ServerComponent = (ctx: ServerContext) => {
    if (this.ruleManager) throw new Error("rules component started twice");
    const { flags } = ctx;
    const notifier = new Notifier({
      logger: ctx.logger,
      registry: ctx.registry,
      queueCapacity: flags["alertmanager.notification-queue-capacity"],
      externalLabels: ctx.config.global.external_labels,
    });
    const ruleManager = new RuleManager({
      engine: ctx.engine,
      queryable: (mint, maxt) => ctx.queryable.querier(mint, maxt),
      appendable: () => ctx.db.appender(),
      notify: (alerts) => notifier.send(alerts),
      logger: ctx.logger,
      registry: ctx.registry,
      externalLabels: ctx.config.global.external_labels,
      externalURL: ctx.externalURL,
      outageTolerance: flags["rules.alert.for-outage-tolerance"],
      gracePeriod: flags["rules.alert.for-grace-period"],
      resendDelay: flags["rules.alert.resend-delay"],
    });
    this.notifier = notifier;
    this.ruleManager = ruleManager;
    const peer = this.cluster?.();
    if (peer) {
      const update = () => notifier.setClusterAlertmanagers(clusterAlertmanagerURLs(peer.name, peer.members()));
      update();
      ctx.closeHooks.push(peer.onChange(update));
    }
    ctx.reloadHooks.push((config) => this.apply(config, ctx));
    ctx.closeHooks.push(async () => {
      ctx.logger.info("Stopping rule manager...");
      await ruleManager.stop();
      ctx.logger.info("Rule manager stopped");
      ctx.logger.info("Stopping notification manager...");
      await notifier.stop();
      ctx.logger.info("Notification manager stopped");
    });
  };

  private async apply(config: PrometheusConfig, ctx: ServerContext): Promise<void> {
    const externalLabels = config.global.external_labels;
    const alerting: AlertingConfig = this.builtin
      ? { ...config.alerting, alertmanagers: [...config.alerting.alertmanagers, this.builtin] }
      : config.alerting;
    this.notifier!.applyConfig(alerting, externalLabels);
    try {
      await this.ruleManager!.update(config.rule_files, config.global.evaluation_interval, {
        queryOffset: config.global.rule_query_offset,
        externalLabels,
        externalURL: ctx.externalURL,
      });
    } catch (err) {
      ctx.logger.error("loading groups failed", { component: "rule manager", err });
      throw err;
    }
  }

  /** The rule groups' state; none before the component started. */
  ruleGroups(): GroupStatus[] {
    return this.ruleManager?.groups() ?? [];
  }

  /** The Alertmanagers alerts go to; none before the component started. */
  alertmanagers(): AlertmanagersData {
    return this.notifier?.alertmanagers() ?? { activeAlertmanagers: [], droppedAlertmanagers: [] };
  }

}

/**
 * The Alertmanager entry for the server's own listener: loopback at the bound
 * port, under the route prefix. Built through the config parser so it carries
 * every default an `alerting.alertmanagers` entry gets.
 */
export function builtinAlertmanagerConfig(serverURL: URL, routePrefix: string, tls: boolean): AlertmanagerConfig {
  const wildcard = ["", "0.0.0.0", "[::]", "::"].includes(serverURL.hostname);
  const host = wildcard ? "127.0.0.1" : serverURL.hostname;
  const yaml = [
    "alerting:",
    "  alertmanagers:",
    `    - scheme: ${tls ? "https" : "http"}`,
    `      path_prefix: ${JSON.stringify(routePrefix === "/" ? "" : routePrefix)}`,
    ...(tls ? ["      tls_config: {insecure_skip_verify: true}"] : []),
    `      static_configs: [{targets: [${JSON.stringify(`${host}:${serverURL.port}`)}]}]`,
  ].join("\n");
  return parseConfig(yaml, "<built-in alertmanager>").config.alerting.alertmanagers[0]!;
}

/**
 * The base URLs of the other members' Alertmanagers: every member that is
 * alive or suspect, is not `self`, and announces `web`.
 *
 * @example clusterAlertmanagerURLs("a", peer.members()) // ["http://10.0.0.2:9090"]
 */
export function clusterAlertmanagerURLs(self: string, members: readonly ClusterMember[]): string[] {
  return members
    .filter((m) => m.name !== self && (m.state === "alive" || m.state === "suspect") && (m.meta.web ?? "") !== "")
    .map((m) => m.meta.web!);
}
