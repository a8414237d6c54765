/**
 * A parser for the OpenMetrics 1.0 text format: metric families with
 * `# TYPE` / `# HELP` / `# UNIT`, samples with escaped labels, float values
 * and optional timestamps in seconds, exemplars after ` # `, and the
 * mandatory `# EOF` line with nothing after it. Malformed input throws an
 * OpenMetricsParseError whose message starts with `line N:`.
 *
 * Label sets of repeated series are parsed once and shared between samples.
 *
 * @example
 * const r = parseOpenMetrics('# TYPE up gauge\nup{job="a"} 1 1700000000\n# EOF\n');
 * r.samples[0]; // { labels: [{name:"__name__",value:"up"},{name:"job",value:"a"}], v: 1, t: 1700000000000 }
 */
import type { Label, Labels } from "./labels.ts";

/** The metric types OpenMetrics defines. */
export type OpenMetricsType = "counter" | "gauge" | "histogram" | "gaugehistogram" | "summary" | "info" | "stateset" | "unknown";

/** Metadata of one metric family (help and unit are "" when not given). */
export interface MetricFamilyMetadata {
  name: string;
  type: OpenMetricsType;
  help: string;
  unit: string;
}

/** One sample; `t` is in milliseconds (seconds × 1000, truncated as Prometheus does) when given. */
export interface OpenMetricsSample {
  labels: Labels;
  v: number;
  t?: number;
}

/** An exemplar attached to samples[sampleIndex]. */
export interface OpenMetricsExemplar {
  sampleIndex: number;
  labels: Labels;
  v: number;
  t?: number;
}

/** Everything parsed from one exposition. */
export interface OpenMetricsParseResult {
  samples: OpenMetricsSample[];
  exemplars: OpenMetricsExemplar[];
  /** Families in order of first appearance; samples of undeclared families get type "unknown". */
  families: MetricFamilyMetadata[];
}

/** Parsing options. */
export interface OpenMetricsParseOptions {
  /** Reject samples without a timestamp (backfilling needs them), as promtool does. */
  requireTimestamps?: boolean;
}

/** A syntax or semantic error, with the 1-based line it was found on. */
export class OpenMetricsParseError extends Error {
  override name = "OpenMetricsParseError";
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const TYPES = new Set<string>(["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"]);

/** Suffixes a sample name may add to its family name, per type. */
const SUFFIXES: Record<OpenMetricsType, readonly string[]> = {
  counter: ["_total", "_created"],
  gauge: [""],
  histogram: ["_bucket", "_count", "_sum", "_created"],
  gaugehistogram: ["_bucket", "_gcount", "_gsum"],
  summary: ["", "_count", "_sum", "_created"],
  info: ["_info"],
  stateset: [""],
  unknown: [""],
};

const REAL_NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function describe(s: string): string {
  return s === "" ? "end of line" : JSON.stringify(s.length > 40 ? s.slice(0, 40) + "…" : s);
}

/** Parses an OpenMetrics number: a real number, [+-]Inf/Infinity or NaN (case-insensitive); undefined when invalid. */
function parseNumber(tok: string): number | undefined {
  if (REAL_NUMBER.test(tok)) return Number(tok);
  const lower = tok.toLowerCase();
  if (lower === "nan") return NaN;
  const unsigned = lower[0] === "+" || lower[0] === "-" ? lower.slice(1) : lower;
  if (unsigned === "inf" || unsigned === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  return undefined;
}

interface FamilyState {
  meta: MetricFamilyMetadata;
  typeSeen: boolean;
  helpSeen: boolean;
  unitSeen: boolean;
}

/** A cursor over one line. */
class LineScanner {
  pos = 0;
  constructor(readonly text: string, readonly lineNo: number) {}

  fail(expected: string): never {
    throw new OpenMetricsParseError(this.lineNo, `expected ${expected}, got ${describe(this.rest())}`);
  }

  rest(): string {
    return this.text.slice(this.pos);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  expectChar(ch: string, what: string): void {
    if (this.text[this.pos] !== ch) this.fail(what);
    this.pos++;
  }

  metricName(): string {
    const start = this.pos;
    const c = this.peek();
    if (!(isNameStart(c) || c === 58)) this.fail("metric name");
    this.pos++;
    while (this.pos < this.text.length) {
      const d = this.peek();
      if (!(isNameChar(d) || d === 58)) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  labelName(): string {
    const start = this.pos;
    if (!isNameStart(this.peek())) this.fail("label name");
    this.pos++;
    while (this.pos < this.text.length && isNameChar(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** A double-quoted label value with \\ \" \n escapes; the cursor is on the opening quote. */
  quoted(): string {
    this.expectChar('"', "label value");
    let out = "";
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) throw new OpenMetricsParseError(this.lineNo, "unterminated label value");
      const c = this.text[this.pos]!;
      if (c === '"') {
        out += this.text.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === "\\") {
        out += this.text.slice(chunkStart, this.pos);
        const e = this.text[this.pos + 1];
        if (e === "\\") out += "\\";
        else if (e === '"') out += '"';
        else if (e === "n") out += "\n";
        else throw new OpenMetricsParseError(this.lineNo, `invalid escape sequence "\\${e ?? ""}" in label value`);
        this.pos += 2;
        chunkStart = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /** `{name="value",...}`; the cursor is on `{`. Returns pairs in input order. */
  labelPairs(): Label[] {
    this.expectChar("{", "{");
    const pairs: Label[] = [];
    if (this.text[this.pos] === "}") {
      this.pos++;
      return pairs;
    }
    for (;;) {
      const name = this.labelName();
      this.expectChar("=", "equal");
      const value = this.quoted();
      for (const p of pairs) {
        if (p.name === name) throw new OpenMetricsParseError(this.lineNo, `duplicate label name ${JSON.stringify(name)}`);
      }
      pairs.push({ name, value });
      const c = this.text[this.pos];
      if (c === "}") {
        this.pos++;
        return pairs;
      }
      this.expectChar(",", "comma or closing brace");
    }
  }

  /** Text up to the next space or the end of line. */
  token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && this.text.charCodeAt(this.pos) !== 32) this.pos++;
    return this.text.slice(start, this.pos);
  }

  space(what: string): void {
    if (this.text[this.pos] !== " ") this.fail(what);
    this.pos++;
  }
}

function sortedLabels(pairs: Label[], metricName?: string): Labels {
  const out: Label[] = [];
  if (metricName !== undefined) out.push({ name: "__name__", value: metricName });
  for (const p of pairs) if (p.value !== "") out.push(p);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function unescapeHelp(s: string, lineNo: number): string {
  if (!s.includes("\\")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = s[++i];
    if (e === "\\") out += "\\";
    else if (e === '"') out += '"';
    else if (e === "n") out += "\n";
    else throw new OpenMetricsParseError(lineNo, `invalid escape sequence "\\${e ?? ""}" in HELP`);
  }
  return out;
}

/** `name{a="1", …}` for messages. */
function seriesText(labels: Labels): string {
  let name = "";
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === "__name__") name = l.value;
    else parts.push(`${l.name}=${JSON.stringify(l.value)}`);
  }
  return parts.length > 0 ? `${name}{${parts.join(", ")}}` : name;
}

function timestampMs(tok: string, sc: LineScanner, what: string): number {
  const ts = REAL_NUMBER.test(tok) ? Number(tok) : NaN;
  if (!Number.isFinite(ts)) throw new OpenMetricsParseError(sc.lineNo, `invalid ${what} ${describe(tok)}`);
  return Math.trunc(ts * 1000);
}

/**
 * Parses a whole OpenMetrics exposition. Throws OpenMetricsParseError for
 * malformed input, a missing `# EOF`, anything after it, or (with
 * `requireTimestamps`) a sample without a timestamp.
 */
export function parseOpenMetrics(text: string, opts: OpenMetricsParseOptions = {}): OpenMetricsParseResult {
  const samples: OpenMetricsSample[] = [];
  const exemplars: OpenMetricsExemplar[] = [];
  const families = new Map<string, FamilyState>();
  const labelCache = new Map<string, Labels>();
  let current: FamilyState | undefined;
  let eofLine = 0;
  let lineNo = 0;
  let start = 0;

  const family = (name: string): FamilyState => {
    let f = families.get(name);
    if (!f) {
      f = { meta: { name, type: "unknown", help: "", unit: "" }, typeSeen: false, helpSeen: false, unitSeen: false };
      families.set(name, f);
    }
    return f;
  };

  const belongs = (f: FamilyState, sampleName: string): boolean => {
    for (const suffix of SUFFIXES[f.meta.type]) {
      if (sampleName.length === f.meta.name.length + suffix.length && sampleName.startsWith(f.meta.name) && sampleName.endsWith(suffix)) return true;
    }
    return false;
  };

  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    const isLast = end === text.length;
    start = end + 1;
    lineNo++;
    if (isLast && line === "") break;
    if (eofLine > 0) throw new OpenMetricsParseError(lineNo, "unexpected content after # EOF");
    if (line === "") throw new OpenMetricsParseError(lineNo, "unexpected empty line");
    const sc = new LineScanner(line, lineNo);

    if (line.charCodeAt(0) === 35) {
      if (line === "# EOF") {
        eofLine = lineNo;
        continue;
      }
      if (!line.startsWith("# ")) sc.fail('"# " followed by TYPE, HELP, UNIT or EOF');
      sc.pos = 2;
      const keyword = sc.token();
      if (keyword !== "TYPE" && keyword !== "HELP" && keyword !== "UNIT") {
        throw new OpenMetricsParseError(lineNo, `expected TYPE, HELP, UNIT or EOF after #, got ${describe(keyword)}`);
      }
      sc.space(`metric name after ${keyword}`);
      const name = sc.metricName();
      const f = family(name);
      current = f;
      if (keyword === "TYPE") {
        sc.space("metric type");
        const type = sc.token();
        if (!TYPES.has(type)) throw new OpenMetricsParseError(lineNo, `invalid metric type ${describe(type)}`);
        if (f.typeSeen) throw new OpenMetricsParseError(lineNo, `second TYPE line for metric family ${name}`);
        f.typeSeen = true;
        f.meta.type = type as OpenMetricsType;
        if (!sc.atEnd()) sc.fail("end of line after metric type");
      } else if (keyword === "HELP") {
        if (f.helpSeen) throw new OpenMetricsParseError(lineNo, `second HELP line for metric family ${name}`);
        f.helpSeen = true;
        if (!sc.atEnd()) {
          sc.space("help text");
          f.meta.help = unescapeHelp(sc.rest(), lineNo);
        }
      } else {
        if (f.unitSeen) throw new OpenMetricsParseError(lineNo, `second UNIT line for metric family ${name}`);
        f.unitSeen = true;
        if (!sc.atEnd()) {
          sc.space("unit");
          const unit = sc.token();
          if (!sc.atEnd()) sc.fail("end of line after unit");
          if (unit !== "" && !name.endsWith("_" + unit)) {
            throw new OpenMetricsParseError(lineNo, `unit ${JSON.stringify(unit)} is not a suffix of metric family ${name}`);
          }
          f.meta.unit = unit;
        }
      }
      continue;
    }

    // A sample: name[{labels}] value [timestamp] [# {labels} value [timestamp]]
    const name = sc.metricName();
    let seriesEnd = sc.pos;
    let labels: Labels;
    if (line[sc.pos] === "{") {
      const close = line.indexOf("} ", sc.pos);
      const cacheKey = close > 0 ? line.slice(0, close + 1) : "";
      const cached = cacheKey !== "" ? labelCache.get(cacheKey) : undefined;
      if (cached) {
        labels = cached;
        sc.pos = close + 1;
      } else {
        const pairs = sc.labelPairs();
        for (const p of pairs) {
          if (p.name === "__name__") throw new OpenMetricsParseError(lineNo, "label name __name__ is reserved for the metric name");
        }
        labels = sortedLabels(pairs, name);
        seriesEnd = sc.pos;
        labelCache.set(line.slice(0, seriesEnd), labels);
      }
    } else {
      const cacheKey = name;
      labels = labelCache.get(cacheKey) ?? sortedLabels([], name);
      labelCache.set(cacheKey, labels);
    }

    if (!current || !belongs(current, name)) {
      const existing = families.get(name);
      current = existing && belongs(existing, name) ? existing : family(name);
    }
    if ((current.meta.type === "histogram" || current.meta.type === "gaugehistogram") && name.endsWith("_bucket")) {
      if (!labels.some((l) => l.name === "le")) throw new OpenMetricsParseError(lineNo, `histogram bucket ${name} without le label`);
    }

    sc.space("value after metric");
    const valueTok = sc.token();
    const v = parseNumber(valueTok);
    if (v === undefined) throw new OpenMetricsParseError(lineNo, `invalid value ${describe(valueTok)}`);
    const sample: OpenMetricsSample = { labels, v };
    if (!sc.atEnd() && line[sc.pos + 1] !== "#") {
      sc.space("timestamp");
      sample.t = timestampMs(sc.token(), sc, "timestamp");
    } else if (opts.requireTimestamps) {
      throw new OpenMetricsParseError(lineNo, `expected timestamp for series ${seriesText(labels)}, got none`);
    }
    samples.push(sample);
    if (sc.atEnd()) continue;

    sc.space("exemplar");
    sc.expectChar("#", "exemplar or end of line");
    sc.space("exemplar labels");
    const exLabels = sortedLabels(sc.labelPairs());
    sc.space("exemplar value");
    const exTok = sc.token();
    const exValue = parseNumber(exTok);
    if (exValue === undefined) throw new OpenMetricsParseError(lineNo, `invalid exemplar value ${describe(exTok)}`);
    const exemplar: OpenMetricsExemplar = { sampleIndex: samples.length - 1, labels: exLabels, v: exValue };
    if (!sc.atEnd()) {
      sc.space("exemplar timestamp");
      exemplar.t = timestampMs(sc.token(), sc, "exemplar timestamp");
      if (!sc.atEnd()) sc.fail("end of line after exemplar");
    }
    exemplars.push(exemplar);
  }
  if (eofLine === 0) throw new OpenMetricsParseError(lineNo, "data does not end with # EOF");
  return { samples, exemplars, families: [...families.values()].map((f) => f.meta) };
}
