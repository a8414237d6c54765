/**
 * A small schema language for YAML config files, and the two walks over it:
 * decoding a YAML AST into plain data (strict fields, types, defaults,
 * positions for every error) and encoding plain data back to YAML-ready
 * values (secrets hidden, durations and sizes spelled out).
 *
 * Each config type is described once as an {@link ObjectType}; everything
 * the walks do is driven by those descriptions, so adding a field is one
 * line and cannot forget its type check or its default.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument, visit, type Document, type Node, type Pair } from "yaml";
import { ConfigError } from "./error.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "../base/index.ts";
import { join, isAbsolute } from "node:path";

/** Keys quoted in "field X not found" errors: what a field name can look like. */
const FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Whether a scalar from the file may be quoted in an error: short, one line, printable. */
function isEchoable(text: string): boolean {
  return text.length <= 64 && !/[\x00-\x1f\x7f]/.test(text);
}

/**
 * What one value may be. `check` returns an error message or undefined.
 * Strings marked `secret` print as `<secret>`, `file` ones are resolved
 * against the config's directory, `url` ones print with the password
 * redacted (`xxxxx`, like Go's URL.Redacted). A `nullAsText` string
 * written as null reads as its text (`null`, `~`, empty), as Prometheus's
 * rule files do for fields kept as raw YAML nodes. A list with
 * `skipNullItems` drops null items instead of decoding them.
 */
export type Kind =
  | { t: "string"; secret?: boolean; file?: boolean; url?: boolean; nullAsText?: boolean; check?: (s: string) => string | undefined }
  | { t: "enum"; values: readonly string[]; lowerCase?: boolean; error: (given: string) => string }
  | { t: "bool" }
  | { t: "int"; unsigned?: boolean }
  | { t: "float" }
  | { t: "duration" }
  | { t: "size" }
  | { t: "list"; of: Kind; nullItem?: string; skipNullItems?: boolean }
  | { t: "map"; of: Kind; checkKey?: (k: string) => string | undefined }
  | { t: "object"; type: ObjectType }
  | { t: "any" };

/**
 * One field of an object type. `default` is used when the field is absent,
 * or null for kinds other than string and bool, which read null as `""` /
 * `false` as Go does (arrays and objects are cloned); `defaultEmpty` decodes an absent
 * object field as `{}` so its own defaults apply. `renamedTo` marks a legacy
 * spelling: it is decoded into the named field and `warning` is reported.
 */
export interface Field {
  kind: Kind;
  default?: unknown;
  defaultEmpty?: boolean;
  renamedTo?: string;
  warning?: string;
}

/**
 * A config type: its name for messages (Prometheus's Go type name, e.g.
 * `config.ScrapeConfig`), its fields in output order, and an optional
 * validation run after the fields are decoded (it may also fill in derived
 * defaults).
 */
export interface ObjectType {
  name: string;
  fields: Record<string, Field>;
  validate?: (obj: Record<string, any>, v: Validation) => void;
}

/** Where a decoded object came from, so later checks can point at it. */
interface Origin {
  node: Node | null;
  fallback: Node | null;
  path: string;
  fields: Map<string, { key: Node; value: Node | null; name: string }>;
}

/**
 * Handed to {@link ObjectType.validate}: fail at a field of the object being
 * validated, or of any object decoded earlier (for cross-section checks).
 */
export interface Validation {
  /** Throws a ConfigError at `field` of this object (or at the object). */
  fail(message: string, field?: string): never;
  /** Throws a ConfigError at `field` of another decoded object (at item `index` when the field is a list). */
  failAt(obj: object, field: string | undefined, message: string, index?: number): never;
  /**
   * How `field` appeared in the YAML: not at all, as an explicit null, or
   * with a value. Prometheus tells "set to the default" from "not set" in a
   * few checks (relabel `regex` on keepequal, a null relabel `action`).
   */
  written(field: string): "absent" | "null" | "value";
  /** Whether the object itself was written as a map (false when absent or null and decoded from defaults). */
  readonly present: boolean;
}

/** Joins a relative path with `dir` the way Prometheus's JoinDir does. */
function joinDir(dir: string, path: string): string {
  if (path === "" || isAbsolute(path)) return path;
  return join(dir, path);
}

const GO_TAG_CHECKS: Record<string, RegExp> = {
  "tag:yaml.org,2002:int": /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/,
  "tag:yaml.org,2002:float": /^([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$/,
  "tag:yaml.org,2002:bool": /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  "tag:yaml.org,2002:null": /^(~|null|Null|NULL|)$/,
};

/**
 * Parses YAML text the way Prometheus's Go YAML decoders see it: only the
 * first document counts (later ones are not even parsed), and a scalar
 * whose explicit tag does not fit its text (`!!int 15s`) is an error.
 * Throws a located ConfigError for syntax problems.
 *
 * @example const { doc, lineCounter } = parseYAML("a: 1", "x.yml");
 */
export function parseYAML(text: string, filename: string): { doc: Document; lineCounter: LineCounter } {
  let lineCounter = new LineCounter();
  let doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, keepSourceTokens: false });
  if (doc.errors.some((e) => e.code === "MULTIPLE_DOCS")) {
    lineCounter = new LineCounter();
    doc = parseAllDocuments(text, { lineCounter, prettyErrors: false, keepSourceTokens: false })[0] as Document;
  }
  const problem = doc.errors[0];
  if (problem) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    throw new ConfigError(filename, line, col, "", `yaml: ${problem.message.split("\n")[0]}`);
  }
  if (text.includes("!!")) checkExplicitTags(doc, lineCounter, filename);
  return { doc, lineCounter };
}

/** Go refuses a scalar whose explicit standard tag does not fit its text (`!!int 15s`); the yaml library only warns. */
function checkExplicitTags(doc: Document, lineCounter: LineCounter, filename: string): void {
  visit(doc, {
    Scalar: (_key, node) => {
      const check = node.tag ? GO_TAG_CHECKS[node.tag] : undefined;
      const text = typeof node.value === "string" ? node.value : undefined;
      if (check && text !== undefined && !check.test(text)) {
        const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
        throw new ConfigError(filename, line, col, "", `yaml: cannot decode !!str${isEchoable(text) ? ` \`${text}\`` : ""} as a !!${node.tag!.split(":").pop()}`);
      }
    },
  });
}

/** Far deeper than any real config; reached only through recursive aliases. */
const MAX_DEPTH = 64;
const MAX_ALIAS_RESOLUTIONS = 10_000;

function childPath(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

/**
 * What Go's YAML decoder leaves in a string or bool field written as null
 * (the zero value, not the default), which changes what validation sees
 * (`action: null` is an empty action, `replacement: null` an empty
 * replacement). Numbers, durations and sizes keep their defaults: a zero
 * interval or capacity is accepted either way but is no value to run with.
 */
const GO_ZERO_VALUES: Partial<Record<Kind["t"], unknown>> = {
  string: "",
  bool: false,
};

function isNullNode(node: Node | null | undefined): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

/**
 * Decodes one YAML document against object types, throwing a located
 * {@link ConfigError} on the first problem. One instance per file.
 */
export class Decoder {
  readonly warnings: string[] = [];
  private readonly origins = new WeakMap<object, Origin>();
  private aliasesResolved = 0;
  private anchors: Map<string, { offset: number; node: Node }[]> | undefined;
  private depth = 0;

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly file: string,
    private readonly dir: string,
  ) {}

  /** Decodes the document's root as `type`; an empty document decodes as `{}`. */
  decodeRoot(type: ObjectType): Record<string, any> {
    return this.decodeObject(this.doc.contents as Node | null, type, "", null);
  }

  /** Builds a located error for `node` (or `fallback` when node is absent). */
  errorAt(node: Node | null, fallback: Node | null, path: string, reason: string): ConfigError {
    const at = node?.range ?? fallback?.range;
    const { line, col } = at ? this.lineCounter.linePos(at[0]) : { line: 1, col: 1 };
    return new ConfigError(this.file, line, col, path, reason);
  }

  private fail(node: Node | null, path: string, reason: string, fallback: Node | null = null): never {
    throw this.errorAt(node, fallback, path, reason);
  }

  private resolve(node: Node | null | undefined): Node | null {
    if (node == null) return null;
    if (isAlias(node)) {
      // Bounds the work an alias-heavy document can cause ("billion laughs").
      if (++this.aliasesResolved > MAX_ALIAS_RESOLUTIONS) this.fail(node, "", "yaml: document contains too many aliases");
      const target = this.anchorBefore(node.source, node.range?.[0] ?? 0);
      if (!target) this.fail(node, "", `yaml: unknown anchor '${node.source}' referenced`);
      return target;
    }
    return node;
  }

  /**
   * The node an alias at `offset` refers to: the last anchor of that name
   * defined before it. Indexed once, since yaml's own Alias.resolve walks
   * the whole document on every call.
   */
  private anchorBefore(name: string, offset: number): Node | undefined {
    if (!this.anchors) {
      const anchors = new Map<string, { offset: number; node: Node }[]>();
      visit(this.doc, {
        Node: (_key, n) => {
          const anchor = (n as { anchor?: string }).anchor;
          if (anchor) {
            const list = anchors.get(anchor) ?? [];
            list.push({ offset: n.range?.[0] ?? 0, node: n });
            anchors.set(anchor, list);
          }
        },
      });
      this.anchors = anchors;
    }
    let found: Node | undefined;
    for (const a of this.anchors.get(name) ?? []) if (a.offset < offset) found = a.node;
    return found;
  }

  /** The map's pairs plus those pulled in with YAML merge keys (`<<: *anchor`). */
  private pairsOf(node: Node, path: string, mergeDepth = 0): Pair<Node, Node | null>[] {
    if (!isMap(node)) return [];
    if (mergeDepth > MAX_DEPTH) this.fail(node, path, "yaml: merge keys nest too deeply (recursive alias?)");
    const own: Pair<Node, Node | null>[] = [];
    const merged: Pair<Node, Node | null>[] = [];
    for (const pair of node.items as Pair<Node, Node | null>[]) {
      const key = this.resolve(pair.key);
      if (isScalar(key) && key.value === "<<" && !(key.type === "QUOTE_DOUBLE" || key.type === "QUOTE_SINGLE")) {
        const source = this.resolve(pair.value);
        const sources = isSeq(source) ? source.items.map((n) => this.resolve(n as Node)) : [source];
        for (const s of sources) {
          if (!isMap(s)) this.fail(s ?? key, path, "merge key value must be a mapping or a list of mappings", key);
          merged.push(...this.pairsOf(s, path, mergeDepth + 1));
        }
      } else {
        own.push(pair);
      }
    }
    // Explicit keys win over merged ones; among merged sources the first wins.
    const seen = new Set(own.map((p) => this.keyString(p, path)));
    const out = [...own];
    for (const p of merged) {
      const key = this.keyString(p, path);
      if (!seen.has(key)) out.push(p);
      seen.add(key);
    }
    return out;
  }

  private keyString(pair: Pair<Node, Node | null>, path: string): string {
    const key = this.resolve(pair.key);
    if (!isScalar(key) || key.value === null || typeof key.value === "object") {
      this.fail(key, path, "map keys must be strings");
    }
    return typeof key.value === "string" ? key.value : (key.source ?? String(key.value));
  }

  /**
   * The YAML tag of a node, with the scalar as written (as Go's yaml quotes
   * it) when it is short and on one line. A longer value, or any value at the
   * top of the document, is not echoed: a file that is not a config at all
   * (`rule_files: [/etc/shadow]`) must not have its contents shown in errors.
   */
  private tagOf(node: Node, path: string): string {
    if (isMap(node)) return "!!map";
    if (isSeq(node)) return "!!seq";
    if (isScalar(node)) {
      const v = node.value;
      const text = node.source ?? String(v);
      if (v === null) return "!!null";
      const tag = typeof v === "boolean" ? "!!bool" : typeof v === "number" ? (Number.isInteger(v) ? "!!int" : "!!float") : "!!str";
      return path !== "" && isEchoable(text) ? `${tag} \`${text}\`` : tag;
    }
    return "!!unknown";
  }

  private goType(kind: Kind): string {
    switch (kind.t) {
      case "string":
      case "enum":
        return kind.t === "string" && kind.secret ? "config.Secret" : "string";
      case "bool":
        return "bool";
      case "int":
        return kind.unsigned ? "uint" : "int";
      case "float":
        return "float64";
      case "duration":
        return "model.Duration";
      case "size":
        return "units.Base2Bytes";
      case "list":
        return `[]${this.goType(kind.of)}`;
      case "map":
        return `map[string]${this.goType(kind.of)}`;
      case "object":
        return kind.type.name;
      case "any":
        return "interface {}";
    }
  }

  private typeError(node: Node, kind: Kind, path: string): never {
    this.fail(node, path, `cannot unmarshal ${this.tagOf(node, path)} into ${this.goType(kind)}`);
  }

  /** The text of a scalar as written (numbers and booleans keep their spelling). */
  private scalarText(node: Node, kind: Kind, path: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === "object") this.typeError(node, kind, path);
    if (typeof node.value === "string") return node.value;
    return node.source ?? String(node.value);
  }

  /** Decodes `raw` (possibly an alias) as `kind`; `fallback` locates errors for absent nodes. */
  decode(raw: Node | null, kind: Kind, path: string, fallback: Node | null): unknown {
    const node = this.resolve(raw);
    if (this.depth >= MAX_DEPTH) this.fail(node, path, "yaml: document nests too deeply (recursive alias?)", fallback);
    this.depth++;
    try {
      return this.decodeKind(node, kind, path, fallback);
    } finally {
      this.depth--;
    }
  }

  private decodeKind(node: Node | null, kind: Kind, path: string, fallback: Node | null): unknown {
    switch (kind.t) {
      case "object":
        return this.decodeObject(node, kind.type, path, fallback);
      case "list": {
        if (node === null || isNullNode(node)) return [];
        if (!isSeq(node)) this.typeError(node, kind, path);
        const items: unknown[] = [];
        node.items.forEach((item, i) => {
          const itemPath = `${path}[${i}]`;
          const itemNode = this.resolve(item as Node);
          if (isNullNode(itemNode) && kind.nullItem) this.fail(itemNode ?? node, itemPath, kind.nullItem);
          if (isNullNode(itemNode) && kind.skipNullItems) return;
          items.push(this.decode(itemNode, kind.of, itemPath, node));
        });
        return items;
      }
      case "map": {
        if (node === null || isNullNode(node)) return {};
        if (!isMap(node)) this.typeError(node, kind, path);
        const out: Record<string, unknown> = {};
        for (const pair of this.pairsOf(node, path)) {
          const key = this.keyString(pair, path);
          const keyPath = childPath(path, key);
          const problem = kind.checkKey?.(key);
          if (problem) this.fail(this.resolve(pair.key), keyPath, problem);
          const value = this.resolve(pair.value);
          out[key] = isNullNode(value) && (kind.of.t === "string" || kind.of.t === "enum")
            ? ""
            : this.decode(value, kind.of, keyPath, pair.key);
        }
        return out;
      }
      case "any":
        return this.decodeAny(node, path);
      default:
        if (node === null) return undefined;
        return this.decodeScalar(node, kind, path);
    }
  }

  /** Plain data for fields kept as parsed YAML; aliases resolved through the same bounds. */
  private decodeAny(node: Node | null, path: string): unknown {
    if (node === null) return undefined;
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item, i) => this.decode(item as Node, { t: "any" }, `${path}[${i}]`, node));
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of this.pairsOf(node, path)) {
        const key = this.keyString(pair, path);
        out[key] = this.decode(pair.value, { t: "any" }, childPath(path, key), pair.key);
      }
      return out;
    }
    return this.fail(node, path, "unsupported YAML node");
  }

  private decodeScalar(node: Node, kind: Kind, path: string): unknown {
    switch (kind.t) {
      case "string": {
        const text = this.scalarText(node, kind, path);
        const problem = kind.check?.(text);
        if (problem) this.fail(node, path, problem);
        return kind.file ? joinDir(this.dir, text) : text;
      }
      case "enum": {
        const given = this.scalarText(node, kind, path);
        const value = kind.lowerCase ? given.toLowerCase() : given;
        if (!kind.values.includes(value)) this.fail(node, path, kind.error(given));
        return value;
      }
      case "bool": {
        if (isScalar(node) && typeof node.value === "boolean") return node.value;
        // YAML 1.1 spellings that Prometheus's YAML library also accepts, when unquoted.
        const text = isScalar(node) && typeof node.value === "string" && node.type === "PLAIN" ? node.value : undefined;
        if (text !== undefined && /^(y|Y|yes|Yes|YES|on|On|ON)$/.test(text)) return true;
        if (text !== undefined && /^(n|N|no|No|NO|off|Off|OFF)$/.test(text)) return false;
        return this.typeError(node, kind, path);
      }
      case "int": {
        const value = goInt(node, kind.unsigned === true);
        return value === undefined ? this.typeError(node, kind, path) : value;
      }
      case "float": {
        if (!isScalar(node) || typeof node.value !== "number") return this.typeError(node, kind, path);
        return node.value;
      }
      case "duration": {
        const text = this.scalarText(node, kind, path);
        try {
          return parseDuration(text);
        } catch (e) {
          return this.fail(node, path, (e as Error).message);
        }
      }
      case "size": {
        const text = this.scalarText(node, kind, path);
        try {
          return parseSize(text);
        } catch (e) {
          return this.fail(node, path, (e as Error).message);
        }
      }
      default:
        throw new Error(`unhandled kind ${kind.t}`);
    }
  }

  private decodeObject(raw: Node | null, type: ObjectType, path: string, fallback: Node | null): Record<string, any> {
    const node = isNullNode(raw) ? null : raw;
    if (node !== null && !isMap(node)) this.typeError(node, { t: "object", type }, path);
    const fields: Origin["fields"] = new Map();
    for (const pair of node ? this.pairsOf(node, path) : []) {
      const name = this.keyString(pair, path);
      const spec = type.fields[name];
      const keyNode = this.resolve(pair.key)!;
      if (!spec) {
        // A key that is no field name at all (a line of /etc/shadow, say) is located, not echoed.
        if (!FIELD_NAME_RE.test(name)) this.fail(keyNode, path, `field not found in type ${type.name}: the key here is not a field name`);
        this.fail(keyNode, childPath(path, name), `not found in type ${type.name}`);
      }
      const target = spec.renamedTo ?? name;
      if (fields.has(target)) {
        this.fail(keyNode, childPath(path, name), `cannot be used together with ${fields.get(target)!.name}`);
      }
      if (spec.renamedTo && spec.warning) this.warnAt(keyNode, childPath(path, name), spec.warning);
      fields.set(target, { key: keyNode, value: this.resolve(pair.value), name });
    }
    const out: Record<string, any> = {};
    for (const [name, spec] of Object.entries(type.fields)) {
      if (spec.renamedTo) continue;
      const entry = fields.get(name);
      const fieldPath = childPath(path, entry?.name ?? name);
      if (entry && !isNullNode(entry.value)) {
        out[name] = this.decode(entry.value, spec.kind, fieldPath, entry.key);
      } else if (entry && spec.kind.t === "string" && spec.kind.nullAsText) {
        out[name] = isScalar(entry.value) ? (entry.value.source ?? "") : "";
      } else if (entry && GO_ZERO_VALUES[spec.kind.t] !== undefined) {
        // An explicit null resets a Go field to its zero value, default or not.
        out[name] = GO_ZERO_VALUES[spec.kind.t];
      } else if (spec.default !== undefined) {
        out[name] = structuredClone(spec.default);
      } else if (spec.defaultEmpty || (entry && (spec.kind.t === "list" || spec.kind.t === "map"))) {
        out[name] = this.decode(null, spec.kind, fieldPath, entry?.key ?? node ?? fallback);
      }
    }
    const origin: Origin = { node, fallback, path, fields };
    this.origins.set(out, origin);
    type.validate?.(out, this.validation(out));
    return out;
  }

  private warnAt(node: Node, path: string, message: string): void {
    const e = this.errorAt(node, null, path, message);
    this.warnings.push(e.message);
  }

  private locate(obj: object, field: string | undefined, index?: number): { node: Node | null; path: string } {
    const origin = this.origins.get(obj);
    if (!origin) return { node: null, path: field ?? "" };
    const entry = field === undefined ? undefined : origin.fields.get(field);
    let node = entry?.value && !isNullNode(entry.value) ? entry.value : entry?.key ?? origin.node ?? origin.fallback;
    let path = field === undefined ? origin.path : childPath(origin.path, entry?.name ?? field);
    if (index !== undefined) {
      const item = isSeq(node) ? this.resolve(node.items[index] as Node) : null;
      if (item) node = item;
      path = `${path}[${index}]`;
    }
    return { node, path };
  }

  private validation(obj: object): Validation {
    const failAt = (target: object, field: string | undefined, message: string, index?: number): never => {
      const { node, path } = this.locate(target, field, index);
      return this.fail(node, path, message);
    };
    const origin = this.origins.get(obj);
    return {
      fail: (message, field) => failAt(obj, field, message),
      failAt,
      written: (field) => {
        const entry = origin?.fields.get(field);
        return entry === undefined ? "absent" : isNullNode(entry.value) ? "null" : "value";
      },
      present: origin?.node != null,
    };
  }
}

const MAX_INT64 = 2 ** 63;
const MAX_UINT64 = 2 ** 64;

/**
 * An integer field's value the way Go's yaml.v2 reads it: YAML 1.1 ints
 * (`_` separators allowed in plain scalars), and floats truncated toward
 * zero when they fit (a negative float into an unsigned field reads as 0).
 * Undefined when Go would refuse it.
 */
function goInt(node: Node, unsigned: boolean): number | undefined {
  if (!isScalar(node)) return undefined;
  let value = node.value;
  if (typeof value === "string" && node.type === "PLAIN" && /^[-+]?[0-9][0-9_]*$/.test(value)) value = Number(value.replaceAll("_", ""));
  if (typeof value !== "number" || Number.isNaN(value)) return undefined;
  const text = node.source ?? String(value);
  const isFloat = !Number.isInteger(value) || (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text) && /[.eE]/.test(text));
  if (unsigned) {
    if (value > MAX_UINT64) return undefined;
    if (value < 0) return isFloat ? 0 : undefined;
    return Math.trunc(value);
  }
  return Math.abs(value) < MAX_INT64 ? Math.trunc(value) : undefined;
}

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/**
 * Turns decoded data back into YAML-ready values following `type`: field
 * order from the schema, empty values left out unless their default is
 * non-empty (so `follow_redirects: false` still shows), secrets as
 * `<secret>`, durations and sizes in Prometheus spelling.
 */
export function encodeObject(obj: Record<string, any>, type: ObjectType): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(type.fields)) {
    if (spec.renamedTo) continue;
    const value = obj[name];
    if (value === undefined) continue;
    if (isEmptyValue(value) && isEmptyValue(spec.default)) continue;
    const encoded = encodeValue(value, spec.kind);
    // An empty block that decoding recreates anyway is noise in the output.
    if (spec.defaultEmpty && isEmptyValue(encoded)) continue;
    out[name] = encoded;
  }
  return out;
}

function encodeValue(value: unknown, kind: Kind): unknown {
  switch (kind.t) {
    case "string":
      if (kind.url) return redactURL(value as string);
      return kind.secret && value !== "" ? "<secret>" : value;
    case "duration":
      return formatDuration(value as number);
    case "size":
      return value === 0 ? "0" : formatSize(value as number);
    case "list":
      return (value as unknown[]).map((item) => encodeValue(item, kind.of));
    case "map":
      return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, encodeValue(v, kind.of)]));
    case "object":
      return encodeObject(value as Record<string, any>, kind.type);
    case "any":
      return redactRaw(value);
    default:
      return value;
  }
}

function redactURL(text: string): string {
  if (!URL.canParse(text)) return text;
  const parsed = new URL(text);
  if (parsed.password === "") return text;
  parsed.password = "xxxxx";
  return parsed.toString();
}

/**
 * Field names that hold secrets in the sections kept as parsed YAML
 * (unimplemented SD mechanisms, sigv4, azuread, http_headers …).
 */
const RAW_SECRET_KEYS = new Set([
  "password", "bearer_token", "credentials", "client_secret", "secret_key", "token", "key", "secret",
  "auth_token", "api_key", "application_credential_secret", "secrets",
]);

/** Copies parsed YAML with the values of secret-looking keys replaced by `<secret>`. */
function redactRaw(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactRaw);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (!RAW_SECRET_KEYS.has(k) || v === "" || v === null) return [k, redactRaw(v)];
      return [k, Array.isArray(v) ? v.map(() => "<secret>") : "<secret>"];
    }),
  );
}
