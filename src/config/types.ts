/**
 * The shape of a loaded `prometheus.yml`, after defaults are applied.
 *
 * Field names are the YAML names (snake_case) so code, docs and the file
 * read the same. Durations are milliseconds, sizes are bytes, relative file
 * paths are already joined with the config file's directory. Optional fields
 * (`?`) have no default in Prometheus either.
 */

/** Duration in milliseconds. */
export type Millis = number;

/** Every relabel action Prometheus knows (lower-case, as stored). */
export type RelabelAction =
  | "replace"
  | "keep"
  | "drop"
  | "keepequal"
  | "dropequal"
  | "hashmod"
  | "labelmap"
  | "labeldrop"
  | "labelkeep"
  | "lowercase"
  | "uppercase";

/**
 * One relabeling step. `regex` is the pattern as written (not anchored);
 * compile it with `compileRE2` from the model room, which anchors it like
 * Prometheus does.
 */
export interface RelabelConfig {
  source_labels: string[];
  separator: string;
  regex: string;
  modulus: number;
  target_label: string;
  replacement: string;
  action: RelabelAction;
}

/** Client TLS settings (common/config TLSConfig). `key` is a secret. */
export interface TLSConfig {
  ca?: string;
  ca_file?: string;
  cert?: string;
  cert_file?: string;
  key?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify: boolean;
  min_version?: "TLS10" | "TLS11" | "TLS12" | "TLS13";
  max_version?: "TLS10" | "TLS11" | "TLS12" | "TLS13";
}

/** HTTP basic authentication; exactly one of each value/file pair is used. */
export interface BasicAuth {
  username?: string;
  username_file?: string;
  password?: string;
  password_file?: string;
}

/**
 * The `Authorization` header. A legacy `bearer_token`/`bearer_token_file` is
 * turned into `{type: "Bearer", credentials…}` here, as Prometheus does.
 */
export interface Authorization {
  type: string;
  credentials?: string;
  credentials_file?: string;
}

/** OAuth 2.0 client-credentials flow. */
export interface OAuth2Config {
  client_id: string;
  client_secret?: string;
  client_secret_file?: string;
  scopes?: string[];
  token_url: string;
  endpoint_params?: Record<string, string>;
  tls_config: TLSConfig;
  proxy_url?: string;
  no_proxy?: string;
  proxy_from_environment?: boolean;
  proxy_connect_header?: Record<string, string[]>;
}

/** How to reach an HTTP endpoint: auth, TLS, proxy (common/config HTTPClientConfig). */
export interface HTTPClientConfig {
  basic_auth?: BasicAuth;
  authorization?: Authorization;
  oauth2?: OAuth2Config;
  tls_config: TLSConfig;
  proxy_url?: string;
  no_proxy?: string;
  proxy_from_environment?: boolean;
  proxy_connect_header?: Record<string, string[]>;
  follow_redirects: boolean;
  enable_http2: boolean;
  http_headers?: unknown;
}

/** A fixed target group: `targets` are `host:port` strings. */
export interface StaticConfig {
  targets: string[];
  labels: Record<string, string>;
}

/** Target groups read from JSON/YAML files (globs allowed in the last path element). */
export interface FileSDConfig {
  files: string[];
  refresh_interval: Millis;
}

/** Consul catalog discovery. */
export interface ConsulSDConfig extends HTTPClientConfig {
  server: string;
  path_prefix?: string;
  token?: string;
  datacenter?: string;
  namespace?: string;
  partition?: string;
  tag_separator: string;
  scheme: string;
  username?: string;
  password?: string;
  services?: string[];
  tags?: string[];
  node_meta?: Record<string, string>;
  filter?: string;
  allow_stale: boolean;
  refresh_interval: Millis;
}

/** An EC2 DescribeInstances filter. */
export interface EC2Filter {
  name: string;
  values: string[];
}

/** AWS EC2 discovery. */
export interface EC2SDConfig extends HTTPClientConfig {
  endpoint?: string;
  region?: string;
  access_key?: string;
  secret_key?: string;
  profile?: string;
  role_arn?: string;
  refresh_interval: Millis;
  port: number;
  filters?: EC2Filter[];
}

/** Target groups fetched as JSON from an HTTP endpoint. */
export interface HTTPSDConfig extends HTTPClientConfig {
  url: string;
  refresh_interval: Millis;
}

/** DNS discovery (SRV, A, AAAA, MX or NS records). */
export interface DNSSDConfig {
  names: string[];
  refresh_interval: Millis;
  type: "SRV" | "A" | "AAAA" | "MX" | "NS";
  port?: number;
}

/**
 * Service discovery blocks shared by scrape and Alertmanager configs. The
 * typed ones are implemented by promts; the others are accepted and kept as
 * parsed YAML so configs written for Prometheus still load.
 */
export interface ServiceDiscoveryConfigs {
  static_configs: StaticConfig[];
  file_sd_configs: FileSDConfig[];
  consul_sd_configs: ConsulSDConfig[];
  ec2_sd_configs: EC2SDConfig[];
  http_sd_configs: HTTPSDConfig[];
  dns_sd_configs: DNSSDConfig[];
  /** Other mechanisms (kubernetes_sd_configs, …) keyed by their YAML field name. */
  [otherSD: `${string}_sd_configs`]: unknown[];
}

/** Names accepted in `scrape_protocols`. */
export type ScrapeProtocol =
  | "PrometheusProto"
  | "OpenMetricsText0.0.1"
  | "OpenMetricsText1.0.0"
  | "PrometheusText0.0.4"
  | "PrometheusText1.0.0";

/** The `global` section. */
export interface GlobalConfig {
  scrape_interval: Millis;
  scrape_timeout: Millis;
  scrape_protocols: ScrapeProtocol[];
  evaluation_interval: Millis;
  rule_query_offset: Millis;
  query_log_file?: string;
  scrape_failure_log_file?: string;
  external_labels: Record<string, string>;
  body_size_limit: number;
  sample_limit: number;
  target_limit: number;
  label_limit: number;
  label_name_length_limit: number;
  label_value_length_limit: number;
  keep_dropped_targets: number;
  metric_name_validation_scheme: "utf8" | "legacy";
  metric_name_escaping_scheme?: string;
  always_scrape_classic_histograms: boolean;
  convert_classic_histograms_to_nhcb: boolean;
  scrape_native_histograms?: boolean;
  extra_scrape_metrics?: boolean;
}

/**
 * One scrape job. Interval, timeout, protocols and limits left out of the
 * file are inherited from `global`, as in Prometheus.
 */
export interface ScrapeConfig extends HTTPClientConfig, ServiceDiscoveryConfigs {
  job_name: string;
  honor_labels: boolean;
  honor_timestamps: boolean;
  track_timestamps_staleness: boolean;
  scrape_interval: Millis;
  scrape_timeout: Millis;
  scrape_protocols: ScrapeProtocol[];
  fallback_scrape_protocol?: ScrapeProtocol;
  always_scrape_classic_histograms: boolean;
  convert_classic_histograms_to_nhcb: boolean;
  scrape_native_histograms?: boolean;
  metrics_path: string;
  scheme: string;
  params?: Record<string, string[]>;
  enable_compression: boolean;
  body_size_limit: number;
  sample_limit: number;
  target_limit: number;
  label_limit: number;
  label_name_length_limit: number;
  label_value_length_limit: number;
  native_histogram_bucket_limit?: number;
  native_histogram_min_bucket_factor?: number;
  keep_dropped_targets: number;
  metric_name_validation_scheme?: "utf8" | "legacy";
  metric_name_escaping_scheme?: string;
  scrape_failure_log_file?: string;
  relabel_configs: RelabelConfig[];
  metric_relabel_configs: RelabelConfig[];
}

/** One set of Alertmanagers to send alerts to. */
export interface AlertmanagerConfig extends HTTPClientConfig, ServiceDiscoveryConfigs {
  scheme: string;
  path_prefix: string;
  timeout: Millis;
  api_version: "v2";
  relabel_configs: RelabelConfig[];
  alert_relabel_configs: RelabelConfig[];
  sigv4?: unknown;
}

/** The `alerting` section. */
export interface AlertingConfig {
  alert_relabel_configs: RelabelConfig[];
  alertmanagers: AlertmanagerConfig[];
}

/** Remote-write queue tuning (Prometheus's defaults applied). */
export interface QueueConfig {
  capacity: number;
  max_shards: number;
  min_shards: number;
  max_samples_per_send: number;
  batch_send_deadline: Millis;
  min_backoff: Millis;
  max_backoff: Millis;
  retry_on_http_429: boolean;
  sample_age_limit: Millis;
}

/** Whether and how often metric metadata is sent with remote write. */
export interface MetadataConfig {
  send: boolean;
  send_interval: Millis;
  max_samples_per_send: number;
}

/** One remote-write endpoint. HTTP/2 is off by default here, as in Prometheus. */
export interface RemoteWriteConfig extends HTTPClientConfig {
  url: string;
  remote_timeout: Millis;
  headers?: Record<string, string>;
  write_relabel_configs: RelabelConfig[];
  name?: string;
  send_exemplars: boolean;
  send_native_histograms: boolean;
  round_robin_dns: boolean;
  protobuf_message: "prometheus.WriteRequest" | "io.prometheus.write.v2.Request";
  queue_config: QueueConfig;
  metadata_config: MetadataConfig;
  sigv4?: unknown;
  azuread?: unknown;
  google_iam?: unknown;
}

/** One remote-read endpoint. */
export interface RemoteReadConfig extends HTTPClientConfig {
  url: string;
  remote_timeout: Millis;
  headers?: Record<string, string>;
  name?: string;
  read_recent: boolean;
  required_matchers?: Record<string, string>;
  filter_external_labels: boolean;
}

/** The `storage` section. */
export interface StorageConfig {
  tsdb?: { out_of_order_time_window: Millis };
  exemplars?: { max_exemplars: number };
}

/** The `tracing` section (accepted; promts does not export traces). */
export interface TracingConfig {
  client_type: "grpc" | "http";
  endpoint?: string;
  sampling_fraction?: number;
  insecure?: boolean;
  headers?: Record<string, string>;
  compression?: string;
  timeout?: Millis;
  tls_config: TLSConfig;
}

/**
 * A whole `prometheus.yml`. `scrape_configs` holds the jobs of the main file
 * followed by those read from `scrape_config_files`.
 */
export interface PrometheusConfig {
  global: GlobalConfig;
  rule_files: string[];
  scrape_config_files: string[];
  scrape_configs: ScrapeConfig[];
  alerting: AlertingConfig;
  remote_write: RemoteWriteConfig[];
  remote_read: RemoteReadConfig[];
  storage: StorageConfig;
  tracing: TracingConfig;
  otlp?: unknown;
  runtime?: unknown;
}
