/**
 * A set of named templates sharing one function map — Go's
 * `*template.Template` with its associated templates.
 */

import type { Tree } from "./ast.ts";
import { executeTree, type ExecEnv } from "./exec.ts";
import { BUILTINS, type FuncMap, type TemplateFunc } from "./funcs.ts";
import { escapeMarkedHTML, markPrinted, markSafeHTML, markSafeURL } from "./html_escape.ts";
import { isEmptyList, parseTrees } from "./parse.ts";

/** Options of a template set. */
export interface TemplateOptions {
  /** Go's `missingkey` option: "error" fails on a missing map key; the default prints `<no value>` (or `""` for string maps). */
  missingKey?: "default" | "zero" | "error";
}

/**
 * Named templates plus functions. `parse` adds the text's main template and
 * its `{{define}}`s (a later definition replaces an earlier one, as Go's
 * repeated `Parse` does); `execute` runs one of them.
 *
 * @example
 * const set = new TemplateSet({ shout: (s: string) => s.toUpperCase() });
 * set.parse("main", `{{define "x"}}[{{.}}]{{end}}{{template "x" shout .}}`);
 * await set.execute("main", "hi"); // "[HI]"
 */
export class TemplateSet {
  private readonly trees = new Map<string, Tree>();
  private readonly funcs = new Map<string, TemplateFunc>();
  private readonly missingKey: "default" | "error";
  private firstName: string | undefined;

  constructor(funcs: FuncMap = {}, options: TemplateOptions = {}) {
    for (const [k, f] of Object.entries(funcs)) this.funcs.set(k, f);
    this.missingKey = options.missingKey === "error" ? "error" : "default";
  }

  /** Adds or replaces functions; parse-time checks use the functions known when `parse` runs. */
  addFuncs(funcs: FuncMap): this {
    for (const [k, f] of Object.entries(funcs)) this.funcs.set(k, f);
    return this;
  }

  /**
   * Parses `text` as the template `name` (plus its definitions).
   * Throws {@link TemplateError} with Go's message on malformed text; the set is unchanged then.
   */
  parse(name: string, text: string): this {
    const trees = parseTrees(name, text, (fn) => this.funcs.has(fn) || fn in BUILTINS);
    for (const [n, tree] of trees) {
      const existing = this.trees.get(n);
      if (existing && isEmptyList(tree.root) && !isEmptyList(existing.root)) continue;
      this.trees.set(n, tree);
    }
    this.firstName ??= name;
    return this;
  }

  /** Reports whether a template of that name is defined. */
  has(name: string): boolean {
    return this.trees.has(name);
  }

  /** The names of all templates in the set, sorted. */
  names(): string[] {
    return [...this.trees.keys()].sort();
  }

  /** A copy sharing nothing mutable: parsing into the copy leaves this set alone. */
  clone(): TemplateSet {
    const c = new TemplateSet(Object.fromEntries(this.funcs), { missingKey: this.missingKey });
    for (const [n, t] of this.trees) c.trees.set(n, t);
    c.firstName = this.firstName;
    return c;
  }

  /**
   * Runs the template `name` over `data`; throws {@link TemplateError} on failure.
   * `funcs` replace same-named functions for this run only (e.g. a `query`
   * bound to this evaluation), so one parsed set can serve many runs.
   */
  execute(name: string, data: unknown, funcs?: FuncMap): Promise<string> {
    return this.run(name, data, funcs, false);
  }

  /**
   * Runs the template `name` with html/template semantics: each printed
   * value is escaped for its HTML context (see html_escape.ts), and
   * `safeHtml` / `safeUrl` values skip the escaping they vouch for.
   */
  async executeHTML(name: string, data: unknown, funcs?: FuncMap): Promise<string> {
    return escapeMarkedHTML(await this.run(name, data, funcs, true));
  }

  private run(name: string, data: unknown, funcs: FuncMap | undefined, html: boolean): Promise<string> {
    let fns: ReadonlyMap<string, TemplateFunc> = this.funcs;
    if (funcs || html) {
      const merged = new Map(this.funcs);
      for (const [k, f] of Object.entries(funcs ?? {})) merged.set(k, f);
      if (html) {
        for (const [k, mark] of [["safeHtml", markSafeHTML], ["safeUrl", markSafeURL]] as const) {
          const f = merged.get(k);
          if (f) merged.set(k, wrapResult(f, mark));
        }
      }
      fns = merged;
    }
    const env: ExecEnv = { trees: this.trees, funcs: fns, missingKey: this.missingKey, printed: html ? markPrinted : undefined };
    return executeTree(env, name, data, this.firstName ?? name);
  }

  /**
   * Parses `text` in a copy of this set (so it can call this set's
   * templates without adding its own definitions here) and runs it —
   * what Alertmanager does for each templated config field.
   */
  expand(text: string, data: unknown, name = ""): Promise<string> {
    const c = this.clone();
    c.parse(name, text);
    return c.execute(name, data);
  }

  /** {@link expand} with html/template semantics ({@link executeHTML}). */
  expandHTML(text: string, data: unknown, name = ""): Promise<string> {
    const c = this.clone();
    c.parse(name, text);
    return c.executeHTML(name, data);
  }
}

/**
 * Parses a template for later execution; the load-time check for rule and
 * notification templates. Throws {@link TemplateError} with the position
 * (`template: NAME:LINE: …`) if the text is malformed or calls an unknown function.
 *
 * @example
 * parseTemplate("summary", "{{ $labels.instance }} down", funcs);
 * parseTemplate("bad", "{{ .foo }"); // throws: template: bad:1: unexpected "}" in operand
 */
export function parseTemplate(name: string, text: string, funcs: FuncMap = {}, options: TemplateOptions = {}): TemplateSet {
  return new TemplateSet(funcs, options).parse(name, text);
}

/**
 * Parses and runs a template in one go.
 *
 * @example await expandTemplate("t", "{{ .a | printf \"%05.1f\" }}", { a: 3.14159 }) // "003.1"
 */
export function expandTemplate(name: string, text: string, data: unknown, funcs: FuncMap = {}, options: TemplateOptions = {}): Promise<string> {
  return parseTemplate(name, text, funcs, options).execute(name, data);
}

/** A function whose string result is passed through `mark` (keeping its type checks and metadata). */
function wrapResult(f: TemplateFunc, mark: (s: string) => string): TemplateFunc {
  const wrapped: TemplateFunc = function (this: unknown, ...args: unknown[]) {
    const r = (f as (...a: unknown[]) => unknown).apply(this, args);
    return typeof r === "string" ? mark(r) : r;
  };
  if (f.signature) wrapped.signature = f.signature;
  return wrapped;
}
