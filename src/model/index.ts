export * from "./labels.ts";
export * from "./matchers.ts";
export * from "./registry.ts";
export * from "./textformat.ts";
export * from "./relabel.ts";
export * from "./openmetrics.ts";
export { compileRE2, translateRE2, RE2SyntaxError } from "./re2.ts";
export { xxh64, prometheusLabelsHash } from "./xxhash.ts";
