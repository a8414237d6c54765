/**
 * Parser for the Prometheus text exposition format 0.0.4 — what exporters
 * serve on `/metrics` with `Content-Type: text/plain; version=0.0.4`.
 *
 * The parser is a cursor: `next()` advances to the next entry and the
 * accessors describe it. No object is allocated per sample on the hot path:
 * `series()` returns the raw series text (`name{a="b"}`, usable as a cache
 * key) and `labels()` decodes the label set only when asked, so a scrape loop
 * that has seen a series before never builds its labels again.
 *
 * Accepted syntax follows Prometheus's own parser: `# HELP` / `# TYPE` lines
 * (`#` followed by blanks), other `#` lines as comments, blank lines,
 * `name{l="v",…} value [timestamp_ms]`, empty label sets `{}`, a trailing
 * comma in label sets, blanks around label terms, quoted (UTF-8) metric and
 * label names (`{"my.metric", "a.b"="c"}`), label value escapes `\\`, `\"`,
 * `\n`, and Go float syntax for values (`NaN`, `+Inf`, `-Inf`, `1e3`, `.5`).
 *
 * @example
 * const p = new TextParser('# TYPE up gauge\nup{job="node"} 1 1700000000000\n');
 * for (let e = p.next(); e !== "eof"; e = p.next()) {
 *   if (e === "series") console.log(p.series(), p.value, p.timestamp());
 * }
 */
import { METRIC_NAME, type Label, type Labels } from "./labels.ts";

/** Metric types a `# TYPE` line may declare in the text format. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** What `TextParser.next()` stopped on. */
export type TextEntry = "series" | "help" | "type" | "comment" | "eof";

/** Metadata of one metric family, from its `# HELP` and `# TYPE` lines. */
export interface MetricMetadata {
  type: MetricType;
  help: string;
}

/**
 * A syntax error in a text-format body. `line` is 1-based; the message names
 * what was expected, what was found and the start of the offending line.
 */
export class TextParseError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = "TextParseError";
  }
}

const TAB = 9, NL = 10, CR = 13, SP = 32, QUOTE = 34, HASH = 35, COMMA = 44, EQUAL = 61;
const BACKSLASH = 92, BRACE_OPEN = 123, BRACE_CLOSE = 125, MINUS = 45;

const METRIC_TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isMetricNameStart(c: number): boolean {
  return isLabelNameStart(c) || c === 58;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || isDigit(c);
}
function isMetricNameChar(c: number): boolean {
  return isMetricNameStart(c) || isDigit(c);
}
function isBlank(c: number): boolean {
  return c === SP || c === TAB;
}

/** Undoes the label-value escapes `\\`, `\"` and `\n`; other backslashes stay as they are. */
function unescapeQuoted(s: string): string {
  let out = "";
  let from = 0;
  for (let i = s.indexOf("\\"); i >= 0 && i < s.length - 1; i = s.indexOf("\\", i)) {
    const c = s.charCodeAt(i + 1);
    const rep = c === BACKSLASH ? "\\" : c === QUOTE ? '"' : c === 110 ? "\n" : null;
    if (rep === null) {
      i += 2;
      continue;
    }
    out += s.slice(from, i) + rep;
    from = i + 2;
    i += 2;
  }
  return out + s.slice(from);
}

/** Undoes the HELP-text escapes `\\` and `\n`. */
function unescapeHelp(s: string): string {
  if (s.indexOf("\\") < 0) return s;
  return s.replace(/\\([\\n])/g, (_m, c: string) => (c === "n" ? "\n" : "\\"));
}

/**
 * Parses a sample value with Go's `strconv.ParseFloat` syntax, minus hex
 * floats and digit separators (Prometheus rejects those). Throws a message
 * string (the caller adds the position).
 */
function parseGoFloat(tok: string): number {
  let plain = tok.length > 0;
  for (let i = 0; i < tok.length && plain; i++) {
    const c = tok.charCodeAt(i);
    plain = isDigit(c) || c === 46 || c === 101 || c === 69 || c === 43 || c === MINUS;
  }
  if (plain) {
    const v = Number(tok);
    if (Number.isFinite(v)) return v;
    if (!Number.isNaN(v)) throw `strconv.ParseFloat: parsing ${JSON.stringify(tok)}: value out of range`;
  } else {
    const lower = tok.toLowerCase();
    let body = lower, sign = 1;
    if (body[0] === "+" || body[0] === "-") {
      if (body[0] === "-") sign = -1;
      body = body.slice(1);
      if (body === "inf" || body === "infinity") return sign * Infinity;
    } else if (body === "inf" || body === "infinity") {
      return Infinity;
    } else if (body === "nan") {
      return NaN;
    }
    if (/[pP_]/.test(tok)) throw "unsupported character in float";
  }
  throw `strconv.ParseFloat: parsing ${JSON.stringify(tok)}: invalid syntax`;
}

/**
 * Cursor over a text-format body. Reuse-friendly: all per-entry state lives
 * in fields that `next()` overwrites, and label positions are kept in one
 * growable Int32Array.
 */
export class TextParser {
  private pos = 0;
  private lineNo = 0;
  private lineStart = 0;
  private entry: TextEntry = "eof";
  // Current entry's spans.
  private entryStart = 0;
  private entryEnd = 0;
  private nameStart = -1;
  private nameEnd = -1;
  private nameEscaped = false;
  private seriesEnd = 0;
  private textStart = 0;
  private textEnd = 0;
  /** 5 ints per label: nameStart, nameEnd, valueStart, valueEnd, flags (1: name escaped, 2: value escaped). */
  private spans = new Int32Array(5 * 16);
  private labelCount = 0;
  private tsValue = 0;
  private hasTs = false;
  private metricTypeValue: MetricType = "untyped";
  /** False while the current series' labels were skipped by `nextKnownSeries`. */
  private labelsScanned = true;

  /** Value of the current series entry. */
  value = 0;

  constructor(private body: string) {}

  /**
   * Goes on parsing `body` as the continuation of the text so far (a body
   * read in segments that end at line ends); line numbers keep counting.
   */
  continueWith(body: string): void {
    this.body = body;
    this.pos = 0;
  }

  /** 1-based line number of the current entry. */
  get line(): number {
    return this.lineNo;
  }

  /**
   * Advances to the next entry and returns its kind; "eof" at the end.
   * Throws `TextParseError` on malformed input (the cursor is then unusable).
   */
  next(): TextEntry {
    return this.advance(null);
  }

  /**
   * Like `next()`, for a caller that guesses the next series: when the next
   * entry is a series whose text (`series()`) is exactly `expected` — text
   * this parser type accepted before, e.g. from the previous scrape of the
   * same target — its label set is not scanned again, only its value and
   * timestamp; `knownSeries` tells whether that happened. `labels()` and
   * `metricName()` still work (they rescan the series on demand).
   *
   * @example
   * const p = new TextParser('a{x="1"} 5\n');
   * p.nextKnownSeries('a{x="1"}'); // "series", p.knownSeries === true, p.value === 5
   */
  nextKnownSeries(expected: string): TextEntry {
    return this.advance(expected);
  }

  /** Whether the current series entry matched the text given to `nextKnownSeries`. */
  get knownSeries(): boolean {
    return this.entry === "series" && !this.labelsScanned;
  }

  private advance(expected: string | null): TextEntry {
    const b = this.body, n = b.length;
    let i = this.pos;
    for (;;) {
      if (i >= n) {
        this.pos = n;
        this.entry = "eof";
        return "eof";
      }
      // Start of a line.
      this.lineNo++;
      this.lineStart = i;
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      if (i >= n) continue;
      const c = b.charCodeAt(i);
      if (c === NL) {
        i++;
        continue;
      }
      if (c === CR && b.charCodeAt(i + 1) === NL) {
        i += 2;
        continue;
      }
      this.entryStart = i;
      if (c === HASH) this.entry = this.parseComment(i);
      else if (expected !== null && this.matchesKnown(i, expected)) this.entry = this.parseSample(i + expected.length);
      else this.entry = this.parseSeries(i);
      return this.entry;
    }
  }

  /** Raw text of the current series (`name{…}` as written): a stable cache key for the series. */
  series(): string {
    return this.body.slice(this.entryStart, this.seriesEnd);
  }

  /** Explicit timestamp (ms) of the current series, or undefined when the line has none. */
  timestamp(): number | undefined {
    return this.hasTs ? this.tsValue : undefined;
  }

  /** Metric name of the current series, or the family name of a HELP/TYPE entry. */
  metricName(): string {
    this.scanLabels();
    if (this.nameStart < 0) return "";
    const raw = this.body.slice(this.nameStart, this.nameEnd);
    return this.nameEscaped ? unescapeQuoted(raw) : raw;
  }

  /** Help text of the current HELP entry, unescaped. */
  help(): string {
    return unescapeHelp(this.body.slice(this.textStart, this.textEnd));
  }

  /** Type declared by the current TYPE entry. */
  type(): MetricType {
    return this.metricTypeValue;
  }

  /** Full text of the current comment line, including the leading `#`. */
  comment(): string {
    return this.body.slice(this.entryStart, this.entryEnd);
  }

  /**
   * Decodes the label set of the current series, `__name__` included, sorted
   * by name, with empty values dropped. Throws `TextParseError` when a label
   * name repeats.
   */
  labels(): Labels {
    this.scanLabels();
    const b = this.body, sp = this.spans;
    const out: Label[] = [{ name: METRIC_NAME, value: this.metricName() }];
    for (let k = 0; k < this.labelCount; k++) {
      const o = k * 5;
      const rawName = b.slice(sp[o]!, sp[o + 1]!);
      const rawValue = b.slice(sp[o + 2]!, sp[o + 3]!);
      const flags = sp[o + 4]!;
      out.push({
        name: flags & 1 ? unescapeQuoted(rawName) : rawName,
        value: flags & 2 ? unescapeQuoted(rawValue) : rawValue,
      });
    }
    out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (let k = 1; k < out.length; k++) {
      if (out[k]!.name === out[k - 1]!.name) {
        throw new TextParseError(
          `label name ${JSON.stringify(out[k]!.name)} is not unique in series ${JSON.stringify(this.series())} (line ${this.lineNo})`,
          this.lineNo,
        );
      }
    }
    let empty = 0;
    for (const l of out) if (l.value === "") empty++;
    return empty === 0 ? out : out.filter((l) => l.value !== "");
  }

  /**
   * Whether the line at `i` starts with the series text `expected` followed
   * by blanks and a value (not by a label set, as `a {x="1"}` after `a` would).
   */
  private matchesKnown(i: number, expected: string): boolean {
    const b = this.body;
    if (!b.startsWith(expected, i)) return false;
    let j = i + expected.length;
    if (!isBlank(b.charCodeAt(j))) return false;
    while (isBlank(b.charCodeAt(j))) j++;
    if (b.charCodeAt(j) === BRACE_OPEN) return false;
    this.seriesEnd = i + expected.length;
    this.labelsScanned = false;
    this.hasTs = false;
    return true;
  }

  /** Scans the current series' name and labels when `nextKnownSeries` skipped them. */
  private scanLabels(): void {
    if (this.labelsScanned || this.entry !== "series") return;
    const pos = this.pos;
    this.parseSeries(this.entryStart);
    this.pos = pos;
  }

  // ---- errors -----------------------------------------------------------

  private fail(message: string, at: number): never {
    const b = this.body;
    let end = Math.min(at + 1, b.length);
    if (end - this.lineStart > 120) end = this.lineStart + 120;
    throw new TextParseError(
      `${message} while parsing line ${this.lineNo}: ${JSON.stringify(b.slice(this.lineStart, end))}`,
      this.lineNo,
    );
  }

  /** `<what>, got "<text>" ("<TOKEN>")` for the character at `at`. */
  private expected(what: string, at: number): never {
    const b = this.body;
    if (at >= b.length) this.fail(`${what}, got EOF`, at);
    const c = b.charCodeAt(at);
    const tok =
      c === EQUAL ? "EQUAL" : c === COMMA ? "COMMA" : c === BRACE_OPEN ? "BRACE_OPEN" : c === BRACE_CLOSE ? "BRACE_CLOSE"
      : c === QUOTE ? "QUOTED_STRING" : isMetricNameStart(c) ? "NAME" : isDigit(c) ? "NUMBER" : c === NL ? "LINEBREAK" : "INVALID";
    this.fail(`${what}, got ${JSON.stringify(b[at])} (${JSON.stringify(tok)})`, at);
  }

  // ---- comments and metadata ---------------------------------------------

  private endOfLine(i: number): number {
    const nl = this.body.indexOf("\n", i);
    return nl < 0 ? this.body.length : nl;
  }

  private finishLine(eol: number): void {
    this.pos = eol < this.body.length ? eol + 1 : eol;
  }

  private parseComment(start: number): TextEntry {
    const b = this.body;
    const eol = this.endOfLine(start);
    let lineEnd = eol;
    if (lineEnd > start && b.charCodeAt(lineEnd - 1) === CR) lineEnd--;
    this.entryEnd = lineEnd;
    this.finishLine(eol);
    let i = start + 1;
    if (!isBlank(b.charCodeAt(i))) return "comment";
    while (i < lineEnd && isBlank(b.charCodeAt(i))) i++;
    const keyword = b.slice(i, i + 4);
    if ((keyword !== "HELP" && keyword !== "TYPE") || !isBlank(b.charCodeAt(i + 4))) return "comment";
    i += 4;
    while (i < lineEnd && isBlank(b.charCodeAt(i))) i++;
    i = this.scanMetadataName(i, lineEnd, keyword);
    if (i < lineEnd && !isBlank(b.charCodeAt(i))) {
      this.expected(keyword === "HELP" ? "expected text in HELP" : "expected type in TYPE", i);
    }
    while (i < lineEnd && isBlank(b.charCodeAt(i))) i++;
    if (keyword === "HELP") {
      this.textStart = i;
      this.textEnd = lineEnd;
      return "help";
    }
    let typeEnd = lineEnd;
    while (typeEnd > i && isBlank(b.charCodeAt(typeEnd - 1))) typeEnd--;
    const t = b.slice(i, typeEnd);
    if (!METRIC_TYPES.has(t)) this.fail(`invalid metric type ${JSON.stringify(t)}`, typeEnd - 1);
    this.metricTypeValue = t as MetricType;
    return "type";
  }

  /** Scans the family name of a HELP/TYPE line (plain or quoted); returns the index after it. */
  private scanMetadataName(i: number, lineEnd: number, keyword: string): number {
    const b = this.body;
    const c = b.charCodeAt(i);
    if (i < lineEnd && isMetricNameStart(c)) {
      const s = i;
      while (i < lineEnd && isMetricNameChar(b.charCodeAt(i))) i++;
      this.nameStart = s;
      this.nameEnd = i;
      this.nameEscaped = false;
      return i;
    }
    if (i < lineEnd && c === QUOTE) {
      const end = this.scanQuoted(i, `expected metric name after ${keyword}`);
      if (end > lineEnd) this.expected(`expected metric name after ${keyword}`, i);
      this.nameStart = i + 1;
      this.nameEnd = end - 1;
      this.nameEscaped = this.lastQuotedEscaped;
      return end;
    }
    this.expected(`expected metric name after ${keyword}`, i);
  }

  // ---- series -------------------------------------------------------------

  private lastQuotedEscaped = false;

  /** Scans a quoted string starting at the quote at `i`; returns the index after the closing quote. */
  private scanQuoted(i: number, what: string): number {
    const b = this.body, n = b.length;
    let j = i + 1;
    let escaped = false;
    while (j < n) {
      const c = b.charCodeAt(j);
      if (c === QUOTE) {
        this.lastQuotedEscaped = escaped;
        return j + 1;
      }
      if (c === NL) break;
      if (c === BACKSLASH) {
        if (j + 1 >= n || b.charCodeAt(j + 1) === NL) break;
        escaped = true;
        j += 2;
      } else {
        j++;
      }
    }
    this.fail(`${what}, got unterminated quoted string`, Math.min(j, n));
  }

  private pushLabel(ns: number, ne: number, vs: number, ve: number, flags: number): void {
    const o = this.labelCount * 5;
    if (o + 5 > this.spans.length) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    const sp = this.spans;
    sp[o] = ns;
    sp[o + 1] = ne;
    sp[o + 2] = vs;
    sp[o + 3] = ve;
    sp[o + 4] = flags;
    this.labelCount++;
  }

  private parseSeries(start: number): TextEntry {
    const b = this.body, n = b.length;
    let i = start;
    this.nameStart = -1;
    this.nameEnd = -1;
    this.nameEscaped = false;
    this.labelCount = 0;
    this.hasTs = false;
    this.labelsScanned = true;
    let c = b.charCodeAt(i);
    if (isMetricNameStart(c)) {
      while (i < n && isMetricNameChar(b.charCodeAt(i))) i++;
      this.nameStart = start;
      this.nameEnd = i;
      this.seriesEnd = i;
      const afterName = i;
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      if (b.charCodeAt(i) === BRACE_OPEN) {
        i = this.parseLabelSet(i);
      } else if (i === afterName) {
        this.expected("expected value after metric", i);
      }
    } else if (c === BRACE_OPEN) {
      i = this.parseLabelSet(i);
    } else {
      this.expected("expected a valid start token", i);
    }
    if (this.nameStart < 0 || this.nameEnd === this.nameStart) this.fail("metric name not set", i);
    // Value.
    if (i < n && !isBlank(b.charCodeAt(i)) && i === this.seriesEnd) this.expected("expected value after metric", i);
    return this.parseSample(i);
  }

  /** Parses the value, optional timestamp and line end of a series entry, from the blanks after the series text at `i`. */
  private parseSample(i: number): TextEntry {
    const b = this.body, n = b.length;
    let c: number;
    while (i < n && isBlank(b.charCodeAt(i))) i++;
    const vs = i;
    // Plain integers (most counters and gauges) are read as they are scanned; anything else goes through parseGoFloat.
    let int = 0;
    let plainInt = true;
    while (i < n) {
      c = b.charCodeAt(i);
      if (c === SP || c === TAB || c === NL || (c === CR && b.charCodeAt(i + 1) === NL)) break;
      if (c >= 48 && c <= 57) int = int * 10 + (c - 48);
      else plainInt = false;
      i++;
    }
    if (i === vs) this.expected("expected value after metric", i);
    if (plainInt && i - vs <= 15) {
      this.value = int;
    } else {
      try {
        this.value = parseGoFloat(b.slice(vs, i));
      } catch (msg) {
        this.fail(msg as string, i - 1);
      }
    }
    // Optional timestamp.
    while (i < n && isBlank(b.charCodeAt(i))) i++;
    c = b.charCodeAt(i);
    if (i < n && c !== NL && c !== CR) {
      const ts = i;
      if (c === MINUS) i++;
      const digits = i;
      while (i < n && isDigit(b.charCodeAt(i))) i++;
      if (i === digits) this.expected("expected timestamp or new record", i);
      this.tsValue = Number(b.slice(ts, i));
      if (Math.abs(this.tsValue) >= 2 ** 63) this.fail(`strconv.ParseInt: parsing ${JSON.stringify(b.slice(ts, i))}: value out of range`, i - 1);
      this.hasTs = true;
      c = b.charCodeAt(i);
      if (i < n && !isBlank(c) && c !== NL && c !== CR) this.expected("expected next entry after timestamp", i);
      while (i < n && isBlank(b.charCodeAt(i))) i++;
    }
    c = b.charCodeAt(i);
    if (c === CR && b.charCodeAt(i + 1) === NL) i++;
    else if (i < n && c !== NL) this.expected("expected next entry after timestamp", i);
    this.pos = i < n ? i + 1 : n;
    return "series";
  }

  /** Parses `{…}` starting at the brace at `i`; returns the index after `}`. */
  private parseLabelSet(i: number): number {
    const b = this.body, n = b.length;
    i++;
    let needSeparator = false;
    for (;;) {
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      if (i >= n) this.expected("expected label name or closing brace", i);
      let c = b.charCodeAt(i);
      if (c === BRACE_CLOSE) {
        this.seriesEnd = i + 1;
        return i + 1;
      }
      if (c === COMMA && needSeparator) {
        needSeparator = false;
        i++;
        continue;
      }
      let ns: number, ne: number, nameFlags = 0;
      if (isLabelNameStart(c)) {
        ns = i;
        while (i < n && isLabelNameChar(b.charCodeAt(i))) i++;
        ne = i;
      } else if (c === QUOTE) {
        const end = this.scanQuoted(i, "expected label name");
        ns = i + 1;
        ne = end - 1;
        if (this.lastQuotedEscaped) nameFlags = 1;
        i = end;
        while (i < n && isBlank(b.charCodeAt(i))) i++;
        c = b.charCodeAt(i);
        if (c !== EQUAL) {
          // A quoted string not followed by `=` names the metric (UTF-8 syntax).
          if (this.nameStart >= 0 || (c !== COMMA && c !== BRACE_CLOSE)) this.expected("expected equal", i);
          this.nameStart = ns;
          this.nameEnd = ne;
          this.nameEscaped = nameFlags === 1;
          needSeparator = true;
          continue;
        }
      } else {
        this.expected("expected label name", i);
      }
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      if (b.charCodeAt(i) !== EQUAL) this.expected("expected equal", i);
      i++;
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      if (b.charCodeAt(i) !== QUOTE) this.expected("expected label value", i);
      const end = this.scanQuoted(i, "expected label value");
      this.pushLabel(ns, ne, i + 1, end - 1, nameFlags | (this.lastQuotedEscaped ? 2 : 0));
      i = end;
      needSeparator = true;
      while (i < n && isBlank(b.charCodeAt(i))) i++;
      c = b.charCodeAt(i);
      if (i < n && c !== COMMA && c !== BRACE_CLOSE && !isLabelNameStart(c) && c !== QUOTE) {
        this.expected("expected comma or closing brace", i);
      }
    }
  }
}

/** One sample of a fully parsed body. */
export interface TextSample {
  labels: Labels;
  value: number;
  /** Explicit timestamp in ms, when the line had one. */
  timestampMs?: number;
}

/** A fully parsed body: samples in input order and metadata per family. */
export interface ParsedText {
  samples: TextSample[];
  metadata: Map<string, MetricMetadata>;
}

/**
 * Parses a whole body into objects — convenient for tests, the Pushgateway
 * and tools; scrape loops use `TextParser` directly. Throws `TextParseError`.
 *
 * @example
 * parseText("# TYPE a counter\na 1\n").samples[0].value; // 1
 */
export function parseText(body: string): ParsedText {
  const p = new TextParser(body);
  const samples: TextSample[] = [];
  const metadata = new Map<string, MetricMetadata>();
  const meta = (name: string): MetricMetadata => {
    let m = metadata.get(name);
    if (!m) {
      m = { type: "untyped", help: "" };
      metadata.set(name, m);
    }
    return m;
  };
  for (let e = p.next(); e !== "eof"; e = p.next()) {
    if (e === "series") {
      const ts = p.timestamp();
      samples.push(ts === undefined ? { labels: p.labels(), value: p.value } : { labels: p.labels(), value: p.value, timestampMs: ts });
    } else if (e === "help") {
      meta(p.metricName()).help = p.help();
    } else if (e === "type") {
      meta(p.metricName()).type = p.type();
    }
  }
  return { samples, metadata };
}
