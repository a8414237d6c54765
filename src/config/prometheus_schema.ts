/**
 * The `prometheus.yml` schema: every section and field Prometheus 2.42–3.x
 * accepts, with Prometheus's defaults and validation messages. The decoder
 * in schema.ts walks the YAML against these descriptions.
 */
import { validateRelabelRule } from "../model/index.ts";
import { atMostOne, configURL as url, httpClientFields, TLSConfigType, validateHTTPClient } from "./http_schema.ts";
import type { Field, Kind, ObjectType, Validation } from "./schema.ts";
import { parseGoURL } from "./url.ts";

const str: Kind = { t: "string" };
const secret: Kind = { t: "string", secret: true };
const file: Kind = { t: "string", file: true };
const bool: Kind = { t: "bool" };
const int: Kind = { t: "int" };
const uint: Kind = { t: "int", unsigned: true };
const float: Kind = { t: "float" };
const duration: Kind = { t: "duration" };
const size: Kind = { t: "size" };
const strList: Kind = { t: "list", of: str };
const strMap: Kind = { t: "map", of: str };
const raw: Kind = { t: "any" };
const obj = (type: ObjectType): Kind => ({ t: "object", type });
const list = (type: ObjectType, nullItem?: string): Kind => ({ t: "list", of: obj(type), nullItem });

/** Prometheus 3 accepts any non-empty UTF-8 label name. */
function checkLabelName(name: string): string | undefined {
  return name === "" ? `${JSON.stringify(name)} is not a valid label name` : undefined;
}

const labelSet: Kind = { t: "map", of: str, checkKey: checkLabelName };

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The scrape protocols Prometheus 3 offers when none are configured, most preferred first. */
export const DEFAULT_SCRAPE_PROTOCOLS = [
  "OpenMetricsText1.0.0",
  "OpenMetricsText0.0.1",
  "PrometheusText1.0.0",
  "PrometheusText0.0.4",
] as const;

const SCRAPE_PROTOCOLS = ["PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0", "PrometheusText0.0.4", "PrometheusText1.0.0"];

const scrapeProtocol: Kind = {
  t: "enum",
  values: SCRAPE_PROTOCOLS,
  error: (given) => `unknown scrape protocol ${given}, supported: [${SCRAPE_PROTOCOLS.join(" ")}]`,
};

/** Prometheus's message for a protocol listed twice, or undefined. */
function duplicatedProtocol(protocols: string[]): string | undefined {
  return new Set(protocols).size === protocols.length
    ? undefined
    : `duplicated protocol in scrape_protocols, got [${protocols.join(" ")}]`;
}

const httpScheme: Kind = {
  t: "enum",
  values: ["http", "https"],
  error: (given) => `scheme must be "http" or "https", got ${JSON.stringify(given)}`,
};

/**
 * Scrape and Alertmanager `scheme`: Prometheus takes any string here (a
 * bad one only fails when requests are made), so loading must too.
 */
const targetScheme: Kind = { t: "string" };

/** Rule and scrape-config-file globs: a `*` only in the last path element. */
const GLOB_PATH = /^[^*]*(\*[^/]*)?$/;

const RELABEL_ACTIONS = ["replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase"];

const TEMPLATED_TARGET_ACTIONS = new Set(["lowercase", "uppercase", "keepequal", "dropequal"]);
/** Prometheus's relabelTarget pattern: a label name that may contain `$1` / `${name}` references. */
const TEMPLATED_LABEL_NAME = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/** Relabel rules; validation shares Prometheus's rules with the model room's relabeler. */
export const RelabelConfigType: ObjectType = {
  name: "relabel.Config",
  fields: {
    source_labels: { kind: { t: "list", of: { t: "string", check: checkLabelName } }, default: [] },
    separator: { kind: str, default: ";" },
    regex: { kind: str, default: "(.*)" },
    modulus: { kind: uint, default: 0 },
    target_label: { kind: str, default: "" },
    replacement: { kind: str, default: "$1" },
    action: {
      kind: { t: "enum", values: RELABEL_ACTIONS, lowerCase: true, error: (given) => `unknown relabel action ${JSON.stringify(given.toLowerCase())}` },
      default: "replace",
    },
  },
  validate(o, v) {
    if (v.written("action") === "null") v.fail("relabel action cannot be empty", "action");
    // Prometheus compares the compiled regex by identity, so any written
    // regex (even the default) counts as set; a written list of source
    // labels (even empty) counts as set for labeldrop/labelkeep.
    if ((o.action === "keepequal" || o.action === "dropequal") && v.written("regex") !== "absent") {
      v.fail(`${o.action} action requires only 'source_labels' and \`target_label\`, and no other fields`, "regex");
    }
    if ((o.action === "labeldrop" || o.action === "labelkeep") && v.written("source_labels") === "value") {
      v.fail(`${o.action} action requires only 'regex', and no other fields`, "source_labels");
    }
    // Prometheus takes a `$1`-style templated target_label for these
    // actions (2.42 by pattern, 3.x as any UTF-8 name); the shared rule
    // check only knows plain label names, so it sees a stand-in.
    const templatedTarget = TEMPLATED_TARGET_ACTIONS.has(o.action) && o.target_label.includes("$") && TEMPLATED_LABEL_NAME.test(o.target_label);
    const problem = validateRelabelRule(templatedTarget ? { ...o, target_label: "templated" } : o);
    if (problem === null) return;
    const field = problem.startsWith("error parsing regexp") ? "regex"
      : problem.includes("'target_label'") ? "target_label"
      : problem.includes("'replacement'") ? "replacement"
      : problem.includes("modulus") ? "modulus"
      : undefined;
    v.fail(problem, field);
  },
};

function relabelList(nullMessage: string): Field {
  return { kind: list(RelabelConfigType, nullMessage), default: [] };
}

/**
 * Prometheus rejects static target addresses that look like URLs, but only
 * when the config has no relabel rules (which could rewrite the address).
 */
function checkStaticTargets(o: Record<string, any>, v: Validation): void {
  if (o.relabel_configs.length > 0) return;
  for (const group of o.static_configs as { targets: string[] }[]) {
    const bad = group.targets.findIndex((t) => t.includes("/"));
    if (bad >= 0) v.failAt(group, "targets", `${JSON.stringify(group.targets[bad])} is not a valid hostname`, bad);
  }
}

const StaticConfigType: ObjectType = {
  name: "targetgroup.Group",
  fields: {
    targets: { kind: strList, default: [] },
    labels: { kind: labelSet, default: {} },
  },
};

const FILE_SD_PATH = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

const FileSDConfigType: ObjectType = {
  name: "file.SDConfig",
  fields: {
    files: {
      kind: {
        t: "list",
        of: { t: "string", file: true, check: (p) => (FILE_SD_PATH.test(p) ? undefined : `path name ${JSON.stringify(p)} is not valid for file discovery`) },
      },
      default: [],
    },
    refresh_interval: { kind: duration, default: 5 * MINUTE },
  },
  validate(o, v) {
    if (o.files.length === 0) v.fail("file service discovery config must contain at least one path name", "files");
  },
};

const ConsulSDConfigType: ObjectType = {
  name: "consul.SDConfig",
  fields: {
    server: { kind: str, default: "localhost:8500" },
    path_prefix: { kind: str },
    token: { kind: secret },
    datacenter: { kind: str },
    namespace: { kind: str },
    partition: { kind: str },
    tag_separator: { kind: str, default: "," },
    scheme: { kind: httpScheme, default: "http" },
    username: { kind: str },
    password: { kind: secret },
    services: { kind: strList },
    tags: { kind: strList },
    node_meta: { kind: strMap },
    filter: { kind: str },
    allow_stale: { kind: bool, default: true },
    refresh_interval: { kind: duration, default: 30 * SECOND },
    ...httpClientFields(true),
  },
  validate(o, v) {
    if (o.server.trim() === "") v.fail("consul SD configuration requires a server address", "server");
    if (o.token && (o.authorization || o.oauth2 || o.bearer_token || o.bearer_token_file)) {
      v.fail("at most one of consul SD token, authorization, or oauth2 can be configured", "token");
    }
    if (o.username || o.password) {
      if (o.basic_auth) v.fail("at most one of consul SD configuration username and password and basic auth can be configured", "basic_auth");
      o.basic_auth = { username: o.username ?? "", password: o.password ?? "" };
      delete o.username;
      delete o.password;
    }
    validateHTTPClient(o, v);
  },
};

const EC2FilterType: ObjectType = {
  name: "aws.EC2Filter",
  fields: {
    name: { kind: str, default: "" },
    values: { kind: strList, default: [] },
  },
  validate(o, v) {
    if (o.values.length === 0) v.fail("EC2 SD configuration filter values cannot be empty", "values");
  },
};

const EC2SDConfigType: ObjectType = {
  name: "aws.EC2SDConfig",
  fields: {
    endpoint: { kind: str },
    region: { kind: str },
    access_key: { kind: str },
    secret_key: { kind: secret },
    profile: { kind: str },
    role_arn: { kind: str },
    refresh_interval: { kind: duration, default: 60 * SECOND },
    port: { kind: int, default: 80 },
    filters: { kind: list(EC2FilterType, "empty or null EC2 SD filter") },
    ...httpClientFields(true),
  },
  // No region is fine here: like Prometheus, the discoverer falls back to
  // the AWS environment and the instance metadata service, but promts asks
  // when discovery starts rather than while loading the file.
  validate: validateHTTPClient,
};

const HTTPSDConfigType: ObjectType = {
  name: "http.SDConfig",
  fields: {
    url: { kind: { t: "string", url: true }, default: "" },
    refresh_interval: { kind: duration, default: 60 * SECOND },
    ...httpClientFields(true),
  },
  validate(o, v) {
    if (o.url === "") v.fail("URL is missing", "url");
    const parsed = parseGoURL(o.url);
    if (typeof parsed === "string") return v.fail(parsed, "url");
    if (parsed.scheme !== "http" && parsed.scheme !== "https") v.fail("URL scheme must be 'http' or 'https'", "url");
    if (parsed.host === "") v.fail("host is missing in URL", "url");
    validateHTTPClient(o, v);
  },
};

const DNSSDConfigType: ObjectType = {
  name: "dns.SDConfig",
  fields: {
    names: { kind: strList, default: [] },
    refresh_interval: { kind: duration, default: 30 * SECOND },
    type: { kind: str, default: "SRV" },
    port: { kind: int },
  },
  validate(o, v) {
    if (o.names.length === 0) v.fail("DNS-SD config must contain at least one SRV record name", "names");
    const type = String(o.type).toUpperCase();
    if (!["SRV", "A", "AAAA", "MX", "NS"].includes(type)) v.fail(`invalid DNS-SD records type ${o.type}`, "type");
    if (type !== "SRV" && !o.port) v.fail("a port is required in DNS-SD configs for all record types except SRV", "port");
    o.type = type;
  },
};

/** SD mechanisms promts accepts but does not implement; kept as parsed YAML. */
const OTHER_SD_CONFIGS = [
  "azure", "digitalocean", "docker", "dockerswarm", "eureka", "gce", "hetzner", "ionos", "kubernetes",
  "kuma", "lightsail", "linode", "marathon", "nerve", "nomad", "openstack", "ovhcloud", "puppetdb",
  "scaleway", "serverset", "stackit", "triton", "uyuni", "vultr",
];

/** The SD fields inlined into scrape and Alertmanager configs. */
function serviceDiscoveryFields(): Record<string, Field> {
  const fields: Record<string, Field> = {
    static_configs: { kind: list(StaticConfigType, "empty or null static config"), default: [] },
    target_groups: {
      kind: list(StaticConfigType),
      renamedTo: "static_configs",
      warning: "deprecated Prometheus 0.x name, read as static_configs; rename it",
    },
    file_sd_configs: { kind: list(FileSDConfigType, "empty or null file SD config"), default: [] },
    consul_sd_configs: { kind: list(ConsulSDConfigType, "empty or null consul SD config"), default: [] },
    ec2_sd_configs: { kind: list(EC2SDConfigType, "empty or null EC2 SD config"), default: [] },
    http_sd_configs: { kind: list(HTTPSDConfigType, "empty or null HTTP SD config"), default: [] },
    dns_sd_configs: { kind: list(DNSSDConfigType, "empty or null DNS SD config"), default: [] },
  };
  for (const name of OTHER_SD_CONFIGS) fields[`${name}_sd_configs`] = { kind: { t: "list", of: raw } };
  return fields;
}

const limitFields: Record<string, Field> = {
  body_size_limit: { kind: size, default: 0 },
  sample_limit: { kind: uint, default: 0 },
  target_limit: { kind: uint, default: 0 },
  label_limit: { kind: uint, default: 0 },
  label_name_length_limit: { kind: uint, default: 0 },
  label_value_length_limit: { kind: uint, default: 0 },
  keep_dropped_targets: { kind: uint, default: 0 },
};

/** The limits a scrape config inherits from `global` when left at 0. */
export const INHERITED_LIMITS = Object.keys(limitFields);

const validationScheme: Kind = {
  t: "enum",
  values: ["utf8", "legacy"],
  error: (given) => `unknown global name validation method specified, must be either '', 'legacy' or 'utf8', got ${JSON.stringify(given)}`,
};

const DEFAULT_SCRAPE_INTERVAL = MINUTE;
const DEFAULT_SCRAPE_TIMEOUT = 10 * SECOND;

const GlobalConfigType: ObjectType = {
  name: "config.GlobalConfig",
  fields: {
    scrape_interval: { kind: duration, default: DEFAULT_SCRAPE_INTERVAL },
    scrape_timeout: { kind: duration },
    scrape_protocols: { kind: { t: "list", of: scrapeProtocol }, default: [...DEFAULT_SCRAPE_PROTOCOLS] },
    evaluation_interval: { kind: duration, default: MINUTE },
    rule_query_offset: { kind: duration, default: 0 },
    query_log_file: { kind: file },
    scrape_failure_log_file: { kind: file },
    external_labels: { kind: labelSet, default: {} },
    labels: {
      kind: labelSet,
      renamedTo: "external_labels",
      warning: "deprecated Prometheus 0.x name, read as external_labels; rename it",
    },
    ...limitFields,
    metric_name_validation_scheme: { kind: validationScheme, default: "utf8" },
    metric_name_escaping_scheme: { kind: str },
    always_scrape_classic_histograms: { kind: bool, default: false },
    convert_classic_histograms_to_nhcb: { kind: bool, default: false },
    scrape_native_histograms: { kind: bool },
    extra_scrape_metrics: { kind: bool },
  },
  validate(o, v) {
    if (o.scrape_interval === 0) o.scrape_interval = DEFAULT_SCRAPE_INTERVAL;
    if (o.scrape_timeout > o.scrape_interval) v.fail("global scrape timeout greater than scrape interval", "scrape_timeout");
    if (!o.scrape_timeout) o.scrape_timeout = Math.min(DEFAULT_SCRAPE_TIMEOUT, o.scrape_interval);
    if (o.evaluation_interval === 0) o.evaluation_interval = MINUTE;
    const duplicated = duplicatedProtocol(o.scrape_protocols);
    if (duplicated) v.fail(duplicated, "scrape_protocols");
  },
};

/**
 * One scrape job. Interval, timeout, protocols and limits are inherited
 * from `global` by {@link applyGlobalToScrapeConfig}, which the top level
 * calls once the global section is known.
 */
export const ScrapeConfigType: ObjectType = {
  name: "config.ScrapeConfig",
  fields: {
    job_name: { kind: str, default: "" },
    honor_labels: { kind: bool, default: false },
    honor_timestamps: { kind: bool, default: true },
    track_timestamps_staleness: { kind: bool, default: false },
    scrape_interval: { kind: duration },
    scrape_timeout: { kind: duration },
    scrape_protocols: { kind: { t: "list", of: scrapeProtocol } },
    fallback_scrape_protocol: { kind: scrapeProtocol },
    always_scrape_classic_histograms: { kind: bool },
    scrape_classic_histograms: {
      kind: bool,
      renamedTo: "always_scrape_classic_histograms",
      warning: "renamed in Prometheus 3, read as always_scrape_classic_histograms; rename it",
    },
    convert_classic_histograms_to_nhcb: { kind: bool },
    scrape_native_histograms: { kind: bool },
    metrics_path: { kind: str, default: "/metrics" },
    scheme: { kind: targetScheme, default: "http" },
    params: { kind: { t: "map", of: strList } },
    enable_compression: { kind: bool, default: true },
    ...limitFields,
    native_histogram_bucket_limit: { kind: uint },
    native_histogram_min_bucket_factor: { kind: float },
    metric_name_validation_scheme: { kind: validationScheme },
    metric_name_escaping_scheme: { kind: str },
    scrape_failure_log_file: { kind: file },
    ...httpClientFields(true),
    ...serviceDiscoveryFields(),
    relabel_configs: relabelList("empty or null target relabeling rule in scrape config"),
    metric_relabel_configs: relabelList("empty or null metric relabeling rule in scrape config"),
  },
  validate(o, v) {
    if (o.job_name === "") v.fail("job_name is empty", "job_name");
    validateHTTPClient(o, v);
    checkStaticTargets(o, v);
  },
};

/**
 * Fills a scrape config's inherited settings from `global` and checks the
 * timeout, as Prometheus's ScrapeConfig.Validate does.
 */
export function applyGlobalToScrapeConfig(sc: Record<string, any>, global: Record<string, any>, v: Validation): void {
  if (!sc.scrape_interval) sc.scrape_interval = global.scrape_interval;
  if (sc.scrape_timeout > sc.scrape_interval) {
    v.failAt(sc, "scrape_timeout", `scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(sc.job_name)}`);
  }
  if (!sc.scrape_timeout) sc.scrape_timeout = Math.min(global.scrape_timeout, sc.scrape_interval);
  for (const limit of INHERITED_LIMITS) if (sc[limit] === 0) sc[limit] = global[limit];
  if (sc.scrape_protocols === undefined) sc.scrape_protocols = [...global.scrape_protocols];
  const duplicated = duplicatedProtocol(sc.scrape_protocols);
  if (duplicated) v.failAt(sc, "scrape_protocols", `${duplicated} for scrape config with job name ${JSON.stringify(sc.job_name)}`);
  sc.always_scrape_classic_histograms ??= global.always_scrape_classic_histograms;
  sc.convert_classic_histograms_to_nhcb ??= global.convert_classic_histograms_to_nhcb;
}

/** The file named by `scrape_config_files`: only scrape configs. */
export const ScrapeConfigsFileType: ObjectType = {
  name: "config.ScrapeConfigs",
  fields: {
    scrape_configs: { kind: list(ScrapeConfigType, "empty or null scrape config section"), default: [] },
  },
};

const AlertmanagerConfigType: ObjectType = {
  name: "config.AlertmanagerConfig",
  fields: {
    scheme: { kind: targetScheme, default: "http" },
    path_prefix: { kind: str, default: "" },
    timeout: { kind: duration, default: 10 * SECOND },
    api_version: {
      kind: { t: "enum", values: ["v2"], error: (given) => `expected Alertmanager api version to be one of [v2] but got ${given}` },
      default: "v2",
    },
    ...httpClientFields(true),
    sigv4: { kind: raw },
    ...serviceDiscoveryFields(),
    relabel_configs: relabelList("empty or null Alertmanager target relabeling rule"),
    alert_relabel_configs: relabelList("empty or null Alertmanager alert relabeling rule"),
  },
  validate(o, v) {
    validateHTTPClient(o, v);
    checkStaticTargets(o, v);
  },
};

const AlertingConfigType: ObjectType = {
  name: "config.AlertingConfig",
  fields: {
    alert_relabel_configs: relabelList("empty or null alert relabeling rule"),
    alertmanagers: { kind: list(AlertmanagerConfigType, "empty or null alertmanager config"), default: [] },
  },
};

const RESERVED_HEADERS = new Set([
  "authorization", "host", "content-encoding", "content-length", "content-type", "user-agent", "connection",
  "keep-alive", "proxy-authenticate", "proxy-authorization", "www-authenticate", "accept-encoding",
  "x-prometheus-remote-write-version", "x-prometheus-remote-read-version",
  "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
]);

function validateHeaders(o: Record<string, any>, v: Validation): void {
  for (const header of Object.keys(o.headers ?? {})) {
    if (header.toLowerCase() === "authorization") {
      v.fail("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter", "headers");
    }
    if (RESERVED_HEADERS.has(header.toLowerCase())) v.fail(`${header} is a reserved header. It must not be changed`, "headers");
  }
}

const QueueConfigType: ObjectType = {
  name: "config.QueueConfig",
  fields: {
    capacity: { kind: int, default: 10000 },
    max_shards: { kind: int, default: 50 },
    min_shards: { kind: int, default: 1 },
    max_samples_per_send: { kind: int, default: 2000 },
    batch_send_deadline: { kind: duration, default: 5 * SECOND },
    min_backoff: { kind: duration, default: 30 },
    max_backoff: { kind: duration, default: 5 * SECOND },
    retry_on_http_429: { kind: bool, default: false },
    sample_age_limit: { kind: duration, default: 0 },
  },
};

const MetadataConfigType: ObjectType = {
  name: "config.MetadataConfig",
  fields: {
    send: { kind: bool, default: true },
    send_interval: { kind: duration, default: MINUTE },
    max_samples_per_send: { kind: int, default: 2000 },
  },
};

const PROTOBUF_MESSAGES = ["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];

const RemoteWriteConfigType: ObjectType = {
  name: "config.RemoteWriteConfig",
  fields: {
    url: { kind: url },
    remote_timeout: { kind: duration, default: 30 * SECOND },
    headers: { kind: strMap },
    write_relabel_configs: relabelList("empty or null relabeling rule in remote write config"),
    name: { kind: str },
    send_exemplars: { kind: bool, default: false },
    send_native_histograms: { kind: bool, default: false },
    round_robin_dns: { kind: bool, default: false },
    protobuf_message: {
      kind: {
        t: "enum",
        values: PROTOBUF_MESSAGES,
        error: (given) => `invalid protobuf_message value: unknown type for remote write protobuf message ${given}, supported: ${PROTOBUF_MESSAGES.join(", ")}`,
      },
      default: "prometheus.WriteRequest",
    },
    ...httpClientFields(false),
    queue_config: { kind: obj(QueueConfigType), defaultEmpty: true },
    metadata_config: { kind: obj(MetadataConfigType), defaultEmpty: true },
    sigv4: { kind: raw },
    azuread: { kind: raw },
    google_iam: { kind: raw },
  },
  validate(o, v) {
    if (v.written("url") !== "value") v.fail("url for remote_write is empty", "url");
    validateHeaders(o, v);
    const auth = ["basic_auth", "authorization", "oauth2", "sigv4", "azuread", "google_iam"].filter(
      (f) => o[f] !== undefined || (f === "authorization" && (o.bearer_token || o.bearer_token_file)),
    );
    if (auth.length > 1) {
      v.fail(`at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [${auth.join(" ")}]`, auth[1]);
    }
    validateHTTPClient(o, v);
  },
};

const RemoteReadConfigType: ObjectType = {
  name: "config.RemoteReadConfig",
  fields: {
    url: { kind: url },
    remote_timeout: { kind: duration, default: MINUTE },
    headers: { kind: strMap },
    name: { kind: str },
    read_recent: { kind: bool, default: false },
    required_matchers: { kind: strMap },
    filter_external_labels: { kind: bool, default: true },
    ...httpClientFields(true),
  },
  validate(o, v) {
    if (v.written("url") !== "value") v.fail("url for remote_read is empty", "url");
    validateHeaders(o, v);
    validateHTTPClient(o, v);
  },
};

const StorageConfigType: ObjectType = {
  name: "config.StorageConfig",
  fields: {
    tsdb: {
      kind: obj({ name: "config.TSDBConfig", fields: { out_of_order_time_window: { kind: duration, default: 0 } } }),
    },
    exemplars: {
      kind: obj({ name: "config.ExemplarsConfig", fields: { max_exemplars: { kind: int, default: 100000 } } }),
    },
  },
};

const TracingConfigType: ObjectType = {
  name: "config.TracingConfig",
  fields: {
    client_type: {
      kind: { t: "enum", values: ["grpc", "http"], error: (given) => `expected tracing client type to be to be one of [grpc http] but got ${given}` },
      default: "grpc",
    },
    endpoint: { kind: str },
    sampling_fraction: { kind: float },
    insecure: { kind: bool },
    headers: { kind: strMap },
    compression: { kind: str },
    timeout: { kind: duration },
    tls_config: { kind: obj(TLSConfigType), defaultEmpty: true },
  },
  validate(o, v) {
    // Prometheus validates the section only when it is written.
    if (!v.present) return;
    for (const header of Object.keys(o.headers ?? {})) {
      if (header.toLowerCase() === "authorization") v.fail("custom authorization header configuration is not yet supported", "headers");
      if (RESERVED_HEADERS.has(header.toLowerCase())) v.fail(`${header} is a reserved header. It must not be changed`, "headers");
    }
    if (!o.endpoint) v.fail("tracing endpoint must be set", "endpoint");
    if (o.compression && o.compression !== "gzip") v.fail(`invalid compression type ${o.compression} provided, valid options: gzip`, "compression");
  },
};

/**
 * The top level of `prometheus.yml`. Cross-section checks (inheritance from
 * global, duplicate job and remote names) run in its validate hook.
 */
export const PrometheusConfigType: ObjectType = {
  name: "config.plain",
  fields: {
    global: { kind: obj(GlobalConfigType), defaultEmpty: true },
    runtime: { kind: raw },
    rule_files: {
      kind: { t: "list", of: { t: "string", file: true, check: (p) => (GLOB_PATH.test(p) ? undefined : `invalid rule file path ${JSON.stringify(p)}`) } },
      default: [],
    },
    scrape_config_files: {
      kind: { t: "list", of: { t: "string", file: true, check: (p) => (GLOB_PATH.test(p) ? undefined : `invalid scrape config file path ${JSON.stringify(p)}`) } },
      default: [],
    },
    scrape_configs: { kind: list(ScrapeConfigType, "empty or null scrape config section"), default: [] },
    alerting: { kind: obj(AlertingConfigType), defaultEmpty: true },
    remote_write: { kind: list(RemoteWriteConfigType, "empty or null remote write config section"), default: [] },
    remote_read: { kind: list(RemoteReadConfigType, "empty or null remote read config section"), default: [] },
    storage: { kind: obj(StorageConfigType), defaultEmpty: true },
    tracing: { kind: obj(TracingConfigType), defaultEmpty: true },
    otlp: { kind: raw },
  },
  validate(o, v) {
    const jobs = new Set<string>();
    for (const sc of o.scrape_configs) {
      applyGlobalToScrapeConfig(sc, o.global, v);
      if (jobs.has(sc.job_name)) v.failAt(sc, "job_name", `found multiple scrape configs with job name ${JSON.stringify(sc.job_name)}`);
      jobs.add(sc.job_name);
    }
    for (const [section, what] of [["remote_write", "write"], ["remote_read", "read"]] as const) {
      const names = new Set<string>();
      for (const r of o[section]) {
        if (r.name && names.has(r.name)) v.failAt(r, "name", `found multiple remote ${what} configs with job name ${JSON.stringify(r.name)}`);
        if (r.name) names.add(r.name);
      }
    }
  },
};
