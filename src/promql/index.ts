export * from "./ast.ts";
export * from "./signatures.ts";
export * from "./parser.ts";
export * from "./printer.ts";
export * from "./engine.ts";
