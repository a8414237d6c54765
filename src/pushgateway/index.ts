/**
 * The Pushgateway room: grouping keys, pushed families (text and protobuf
 * bodies), the metric store with its consistency check and group expiry,
 * persistence, and the HTTP API. The `pushgateway` role and the server's
 * `--pushgateway.enable` mount {@link pushgatewayApp}.
 */
export { parseTextFamilies, parseProtobufFamilies, writeTextFamilies, PushBodyError, type PushedFamily, type PushedMetric, type Pair } from "./families.ts";
export { parseGroupingKey, groupingKeyString, decodeBase64URL, GroupingKeyError } from "./grouping.ts";
export { PushStore, InconsistentPushError, goTime, groupChangeTime, type Group, type GroupChange, type PushStoreOptions } from "./store.ts";
export { Persistence, PersistenceError, encodeGroups, decodeGroups, groupToJSON, groupFromJSON } from "./persistence.ts";
export { replicatePushStore, decodeReplicaMessage, DELETION_RETENTION_MS } from "./replica.ts";
export { pushgatewayApp, mergeFamilies, DEFAULT_MAX_PUSH_BYTES, type PushgatewayAppOptions } from "./api.ts";
