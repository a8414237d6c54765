/**
 * The config room's door: `prometheus.yml` loading and validation,
 * Prometheus durations and sizes (from the base room). `check config` is
 * the cli room's (src/cli/check_config.ts).
 *
 * @example
 * const { config, warnings } = loadConfigFile("prometheus.yml");
 * for (const w of warnings) log.warn(w);
 * config.global.scrape_interval; // ms
 */
export { ConfigError } from "./error.ts";
export { formatDuration, formatSize, parseDuration, parseSize } from "../base/index.ts";
export { checkAgentConfig, configToYAML, expandGlob, loadConfigFile, parseConfig, type LoadedConfig } from "./load.ts";
export { decodeYAMLFile, readConfigText } from "./yaml_file.ts";
export type { ObjectType, Validation } from "./schema.ts";
export { parseGoURL, type GoURL } from "./url.ts";
export { DEFAULT_SCRAPE_PROTOCOLS } from "./prometheus_schema.ts";
export type {
  AlertingConfig,
  AlertmanagerConfig,
  Authorization,
  BasicAuth,
  ConsulSDConfig,
  DNSSDConfig,
  EC2Filter,
  EC2SDConfig,
  FileSDConfig,
  GlobalConfig,
  HTTPClientConfig,
  HTTPSDConfig,
  MetadataConfig,
  Millis,
  OAuth2Config,
  PrometheusConfig,
  QueueConfig,
  RelabelAction,
  RelabelConfig,
  RemoteReadConfig,
  RemoteWriteConfig,
  ScrapeConfig,
  ScrapeProtocol,
  ServiceDiscoveryConfigs,
  StaticConfig,
  StorageConfig,
  TLSConfig,
  TracingConfig,
} from "./types.ts";
export {
  alertmanagerConfigToYAML,
  loadAlertmanagerConfigFile,
  parseAlertmanagerConfig,
  type LoadedAlertmanagerConfig,
} from "./alertmanager_load.ts";
export { DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL } from "./alertmanager_schema.ts";
export type {
  AlertmanagerConfigFile,
  AlertmanagerGlobalConfig,
  AlertmanagerHTTPConfig,
  InhibitRuleConfig,
  NamedTimeInterval,
  ReceiverConfig,
  RouteConfig,
  TimeIntervalSpec,
  WebhookConfig,
} from "./alertmanager_types.ts";
export {
  canonicalHeaderKey, DEFAULT_PAGERDUTY_DETAILS, RECEIVER_INTEGRATION_TYPES,
  type DiscordConfig, type EmailConfig, type IncidentioConfig, type JiraConfig, type MSTeamsConfig, type MSTeamsV2Config,
  type OpsGenieConfig, type PagerdutyConfig, type PushoverConfig, type ReceiverIntegrations, type RocketchatConfig,
  type SlackConfig, type SNSConfig, type TelegramConfig, type VictorOpsConfig, type WebexConfig, type WechatConfig,
} from "./alertmanager_receivers.ts";
export { authorizationHeader, httpRequestInit, readSecretFile, tlsFetchOptions, type HTTPClientSettings, type HTTPRequestInit } from "./http_client.ts";
export {
  awsURIEncode, canonicalQueryString, computeSignature, deriveSigningKey, FORM_CONTENT_TYPE, formatAmzDate, sha256Hex, signRequest, SIGV4_ALGORITHM,
  type AWSCredentials, type SignableRequest, type SignatureParts, type SigningScope,
} from "./sigv4.ts";
export { oauth2Authorization } from "./oauth2.ts";
