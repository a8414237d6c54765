export * from "./labels.ts";
export * from "./matchers.ts";
export * from "./registry.ts";
