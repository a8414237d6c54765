/**
 * A parser for the OpenMetrics 1.0 text format: metric families with
 * `# TYPE` / `# HELP` / `# UNIT`, samples with escaped labels, float values
 * and optional timestamps in seconds, exemplars after ` # `, and the
 * mandatory `# EOF` line with nothing after it. Malformed input throws an
 * OpenMetricsParseError whose message starts with `line N:`.
 *
 * `parseOpenMetrics` returns the whole exposition (label sets of repeated
 * series parsed once and shared between samples); `OpenMetricsParser` is the
 * cursor underneath it, which scrape loops drive directly so that a series
 * they saw in the previous scrape costs no label parsing at all.
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

const SPACE = 32, HASH = 35, QUOTE = 34, BACKSLASH = 92, COMMA = 44, BRACE_OPEN = 123;

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

/** Whether `tok` is digits only (the common case, checked without the regular expression). */
function isPlainInteger(tok: string): boolean {
  if (tok.length === 0) return false;
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses an OpenMetrics number: a real number, [+-]Inf/Infinity or NaN (case-insensitive); undefined when invalid. */
function parseNumber(tok: string): number | undefined {
  if (isPlainInteger(tok)) return Number(tok);
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
      const c = this.text.charCodeAt(this.pos);
      if (c === QUOTE) {
        out += this.text.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === BACKSLASH) {
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

/** What `OpenMetricsParser.next()` stopped on. */
export type OpenMetricsEntry = "series" | "type" | "help" | "unit" | "eof";

/** An exemplar of the current sample of an `OpenMetricsParser`. */
export interface OpenMetricsSampleExemplar {
  labels: Labels;
  v: number;
  t?: number;
}

/**
 * Cursor over an OpenMetrics exposition, for scrape loops: `next()` stops
 * on each sample and each TYPE/HELP/UNIT line. It checks everything
 * `parseOpenMetrics` checks, with the same errors, but builds a sample's
 * label set only when `labels()` is called, and `nextKnownSeries` skips
 * even the label scan of a series the caller saw before.
 *
 * @example
 * const p = new OpenMetricsParser('# TYPE up gauge\nup{job="a"} 1\n# EOF\n');
 * for (let e = p.next(); e !== "eof"; e = p.next()) {
 *   if (e === "series") console.log(p.series(), p.value, p.timestamp()); // up{job="a"} 1 undefined
 * }
 */
export class OpenMetricsParser {
  private nextLineStart = 0;
  private lineNo = 0;
  private eofLine = 0;
  private readonly familyStates = new Map<string, FamilyState>();
  private current: FamilyState | undefined;
  private readonly labelCache = new Map<string, Labels>();
  private entry: OpenMetricsEntry = "eof";
  private lineStart = 0;
  private lineEnd = 0;
  private seriesEnd = 0;
  /** Labels of the current sample; null while `nextKnownSeries` skipped them. */
  private sampleLabels: Labels | null = null;
  private sampleTs: number | undefined = undefined;
  private sampleExemplar: OpenMetricsSampleExemplar | undefined = undefined;
  private entryFamily: FamilyState | undefined;

  /** Value of the current sample. */
  value = 0;

  /**
   * With `shareLabelSets`, a series repeated in the body has its labels
   * parsed once and the same array returned for every sample of it (what
   * `parseOpenMetrics` does for backfill files); without, each first-seen
   * line is parsed on its own, which is cheaper when series do not repeat.
   */
  constructor(private text: string, private readonly opts: OpenMetricsParseOptions = {}, private readonly shareLabelSets = false) {}

  /** False while more text follows (see `continueWith`): the end of the text is then not the end of the exposition. */
  private final = true;

  /**
   * Goes on parsing `text` as the continuation of the exposition so far (a
   * body read in segments that each end with a line end, the last one
   * excepted). With `final` false, the
   * end of `text` makes `next()` return "eof" without checking for `# EOF`;
   * the caller then continues with the next segment.
   */
  continueWith(text: string, final: boolean): void {
    this.text = text;
    this.nextLineStart = 0;
    this.final = final;
  }

  /** 1-based line number of the current entry. */
  get line(): number {
    return this.lineNo;
  }

  /**
   * Advances to the next sample or metadata line; "eof" after `# EOF`.
   * Throws OpenMetricsParseError on malformed input, a missing `# EOF` or
   * anything after it (the cursor is then unusable).
   */
  next(): OpenMetricsEntry {
    return this.advance(null);
  }

  /**
   * Like `next()`, for a caller that guesses the next series: when the next
   * line is a plain sample (no exemplar, no timestamp) of exactly the series
   * text `expected` (what `series()` returned for an earlier body), its label
   * set is not scanned again; `knownSeries` tells whether that happened.
   */
  nextKnownSeries(expected: string): OpenMetricsEntry {
    return this.advance(expected);
  }

  /** Whether the current sample matched the text given to `nextKnownSeries`. */
  get knownSeries(): boolean {
    return this.entry === "series" && this.sampleLabels === null;
  }

  /** Raw text of the current sample's series (`name{…}` as written): a stable cache key. */
  series(): string {
    return this.text.slice(this.lineStart, this.seriesEnd);
  }

  /** Label set of the current sample: `__name__` first among sorted names, empty values dropped. */
  labels(): Labels {
    if (this.sampleLabels === null) this.parseSampleLine(this.text.slice(this.lineStart, this.lineEnd));
    return this.sampleLabels!;
  }

  /** Timestamp of the current sample in ms, or undefined. */
  timestamp(): number | undefined {
    return this.sampleTs;
  }

  /** Exemplar of the current sample, if it has one. */
  exemplar(): OpenMetricsSampleExemplar | undefined {
    return this.sampleExemplar;
  }

  /** The family of the current TYPE/HELP/UNIT line, or of the current sample. */
  family(): MetricFamilyMetadata {
    return this.entryFamily!.meta;
  }

  /** Families seen so far, in order of first appearance. */
  families(): MetricFamilyMetadata[] {
    return [...this.familyStates.values()].map((f) => f.meta);
  }

  private advance(expected: string | null): OpenMetricsEntry {
    const text = this.text;
    while (this.nextLineStart <= text.length) {
      const start = this.nextLineStart;
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      this.nextLineStart = end + 1;
      this.lineNo++;
      if (end === text.length && end === start) break;
      if (this.eofLine > 0) throw new OpenMetricsParseError(this.lineNo, "unexpected content after # EOF");
      if (end === start) throw new OpenMetricsParseError(this.lineNo, "unexpected empty line");
      this.lineStart = start;
      this.lineEnd = end;
      if (text.charCodeAt(start) === HASH) {
        const line = text.slice(start, end);
        if (line === "# EOF") {
          this.eofLine = this.lineNo;
          continue;
        }
        this.entry = this.parseMetadataLine(line);
        return this.entry;
      }
      this.entry = "series";
      if (expected === null || !this.knownSample(start, end, expected)) this.parseSampleLine(text.slice(start, end));
      return this.entry;
    }
    if (this.final && this.eofLine === 0) throw new OpenMetricsParseError(this.lineNo, "data does not end with # EOF");
    this.entry = "eof";
    return "eof";
  }

  private familyState(name: string): FamilyState {
    let f = this.familyStates.get(name);
    if (!f) {
      f = { meta: { name, type: "unknown", help: "", unit: "" }, typeSeen: false, helpSeen: false, unitSeen: false };
      this.familyStates.set(name, f);
    }
    return f;
  }

  private parseMetadataLine(line: string): OpenMetricsEntry {
    const lineNo = this.lineNo;
    const sc = new LineScanner(line, lineNo);
    if (!line.startsWith("# ")) sc.fail('"# " followed by TYPE, HELP, UNIT or EOF');
    sc.pos = 2;
    const keyword = sc.token();
    if (keyword !== "TYPE" && keyword !== "HELP" && keyword !== "UNIT") {
      throw new OpenMetricsParseError(lineNo, `expected TYPE, HELP, UNIT or EOF after #, got ${describe(keyword)}`);
    }
    sc.space(`metric name after ${keyword}`);
    const name = sc.metricName();
    const f = this.familyState(name);
    this.current = f;
    this.entryFamily = f;
    if (keyword === "TYPE") {
      sc.space("metric type");
      const type = sc.token();
      if (!TYPES.has(type)) throw new OpenMetricsParseError(lineNo, `invalid metric type ${describe(type)}`);
      if (f.typeSeen) throw new OpenMetricsParseError(lineNo, `second TYPE line for metric family ${name}`);
      f.typeSeen = true;
      f.meta.type = type as OpenMetricsType;
      if (!sc.atEnd()) sc.fail("end of line after metric type");
      return "type";
    }
    if (keyword === "HELP") {
      if (f.helpSeen) throw new OpenMetricsParseError(lineNo, `second HELP line for metric family ${name}`);
      f.helpSeen = true;
      if (!sc.atEnd()) {
        sc.space("help text");
        f.meta.help = unescapeHelp(sc.rest(), lineNo);
      }
      return "help";
    }
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
    return "unit";
  }

  private belongs(f: FamilyState, sampleName: string): boolean {
    for (const suffix of SUFFIXES[f.meta.type]) {
      if (sampleName.length === f.meta.name.length + suffix.length && sampleName.startsWith(f.meta.name) && sampleName.endsWith(suffix)) return true;
    }
    return false;
  }

  /** `belongs` for the sample name at text[start, nameEnd), without slicing it out. */
  private belongsAt(f: FamilyState, start: number, nameEnd: number): boolean {
    const text = this.text, family = f.meta.name;
    for (const suffix of SUFFIXES[f.meta.type]) {
      if (nameEnd - start === family.length + suffix.length && text.startsWith(family, start) && text.startsWith(suffix, start + family.length)) return true;
    }
    return false;
  }

  /** Sets `current` to the family a sample named `name` belongs to (creating an "unknown" one if none). */
  private resolveFamily(name: string): FamilyState {
    const cur = this.current;
    if (cur && this.belongs(cur, name)) return cur;
    const existing = this.familyStates.get(name);
    this.current = existing && this.belongs(existing, name) ? existing : this.familyState(name);
    return this.current;
  }

  /** Whether the label set in text[from, to) has a label named `le` (the text is a well-formed label set). */
  private hasLeLabel(from: number, to: number): boolean {
    const text = this.text;
    let i = text.indexOf("{", from);
    if (i < 0 || i >= to) return false;
    i++;
    let atName = true;
    while (i < to) {
      if (atName && text.startsWith('le="', i)) return true;
      atName = false;
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        while (i < to && text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
      } else if (c === COMMA) {
        atName = true;
      }
      i++;
    }
    return false;
  }

  /**
   * The fast path of `nextKnownSeries`: `expected value` with nothing after it.
   * Returns false (and the line is parsed in full) for anything else.
   */
  private knownSample(start: number, end: number, expected: string): boolean {
    const text = this.text;
    if (!text.startsWith(expected, start)) return false;
    const seriesEnd = start + expected.length;
    if (text.charCodeAt(seriesEnd) !== SPACE) return false;
    let i = seriesEnd + 1;
    const vs = i;
    let int = 0;
    let plainInt = true;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === SPACE) return false;
      if (c >= 48 && c <= 57) int = int * 10 + (c - 48);
      else plainInt = false;
    }
    if (i === vs || this.opts.requireTimestamps) return false;
    let v: number | undefined = int;
    if (!plainInt || i - vs > 15) {
      v = parseNumber(text.slice(vs, i));
      if (v === undefined) return false;
    }
    let nameEnd = start;
    while (nameEnd < seriesEnd) {
      const c = text.charCodeAt(nameEnd);
      if (!(isNameChar(c) || c === 58)) break;
      nameEnd++;
    }
    const cur = this.current;
    const f = cur && this.belongsAt(cur, start, nameEnd) ? cur : this.resolveFamily(text.slice(start, nameEnd));
    if ((f.meta.type === "histogram" || f.meta.type === "gaugehistogram") && text.startsWith("_bucket", nameEnd - 7) &&
      text.charCodeAt(nameEnd) === BRACE_OPEN && !this.hasLeLabel(nameEnd, seriesEnd)) {
      return false;
    }
    this.entryFamily = f;
    this.seriesEnd = seriesEnd;
    this.sampleLabels = null;
    this.sampleTs = undefined;
    this.sampleExemplar = undefined;
    this.value = v;
    return true;
  }

  /** A sample: name[{labels}] value [timestamp] [# {labels} value [timestamp]] */
  private parseSampleLine(line: string): void {
    const lineNo = this.lineNo;
    const sc = new LineScanner(line, lineNo);
    const name = sc.metricName();
    let seriesEnd = sc.pos;
    let labels: Labels;
    if (line[sc.pos] === "{" && !this.shareLabelSets) {
      const pairs = sc.labelPairs();
      for (const p of pairs) {
        if (p.name === "__name__") throw new OpenMetricsParseError(lineNo, "label name __name__ is reserved for the metric name");
      }
      labels = sortedLabels(pairs, name);
      seriesEnd = sc.pos;
    } else if (line[sc.pos] === "{") {
      const close = line.indexOf("} ", sc.pos);
      const cacheKey = close > 0 ? line.slice(0, close + 1) : "";
      const cached = cacheKey !== "" ? this.labelCache.get(cacheKey) : undefined;
      if (cached) {
        labels = cached;
        sc.pos = close + 1;
        seriesEnd = sc.pos;
      } else {
        const pairs = sc.labelPairs();
        for (const p of pairs) {
          if (p.name === "__name__") throw new OpenMetricsParseError(lineNo, "label name __name__ is reserved for the metric name");
        }
        labels = sortedLabels(pairs, name);
        seriesEnd = sc.pos;
        this.labelCache.set(line.slice(0, seriesEnd), labels);
      }
    } else if (this.shareLabelSets) {
      labels = this.labelCache.get(name) ?? sortedLabels([], name);
      this.labelCache.set(name, labels);
    } else {
      labels = sortedLabels([], name);
    }

    const f = this.resolveFamily(name);
    this.entryFamily = f;
    if ((f.meta.type === "histogram" || f.meta.type === "gaugehistogram") && name.endsWith("_bucket")) {
      if (!labels.some((l) => l.name === "le")) throw new OpenMetricsParseError(lineNo, `histogram bucket ${name} without le label`);
    }

    sc.space("value after metric");
    const valueTok = sc.token();
    const v = parseNumber(valueTok);
    if (v === undefined) throw new OpenMetricsParseError(lineNo, `invalid value ${describe(valueTok)}`);
    let t: number | undefined;
    if (!sc.atEnd() && line[sc.pos + 1] !== "#") {
      sc.space("timestamp");
      t = timestampMs(sc.token(), sc, "timestamp");
    } else if (this.opts.requireTimestamps) {
      throw new OpenMetricsParseError(lineNo, `expected timestamp for series ${seriesText(labels)}, got none`);
    }
    this.seriesEnd = this.lineStart + seriesEnd;
    this.sampleLabels = labels;
    this.value = v;
    this.sampleTs = t;
    this.sampleExemplar = undefined;
    if (sc.atEnd()) return;

    sc.space("exemplar");
    sc.expectChar("#", "exemplar or end of line");
    sc.space("exemplar labels");
    const exLabels = sortedLabels(sc.labelPairs());
    sc.space("exemplar value");
    const exTok = sc.token();
    const exValue = parseNumber(exTok);
    if (exValue === undefined) throw new OpenMetricsParseError(lineNo, `invalid exemplar value ${describe(exTok)}`);
    const exemplar: OpenMetricsSampleExemplar = { labels: exLabels, v: exValue };
    if (!sc.atEnd()) {
      sc.space("exemplar timestamp");
      exemplar.t = timestampMs(sc.token(), sc, "exemplar timestamp");
      if (!sc.atEnd()) sc.fail("end of line after exemplar");
    }
    this.sampleExemplar = exemplar;
  }
}

/**
 * Parses a whole OpenMetrics exposition. Throws OpenMetricsParseError for
 * malformed input, a missing `# EOF`, anything after it, or (with
 * `requireTimestamps`) a sample without a timestamp.
 */
export function parseOpenMetrics(text: string, opts: OpenMetricsParseOptions = {}): OpenMetricsParseResult {
  const samples: OpenMetricsSample[] = [];
  const exemplars: OpenMetricsExemplar[] = [];
  const p = new OpenMetricsParser(text, opts, true);
  for (let e = p.next(); e !== "eof"; e = p.next()) {
    if (e !== "series") continue;
    const t = p.timestamp();
    samples.push(t === undefined ? { labels: p.labels(), v: p.value } : { labels: p.labels(), v: p.value, t });
    const ex = p.exemplar();
    if (ex) exemplars.push({ sampleIndex: samples.length - 1, ...ex });
  }
  return { samples, exemplars, families: p.families() };
}
