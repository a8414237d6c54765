/**
 * Parser for Prometheus's PromQL conformance-script language (the `*.test`
 * files of promql/promqltest): `load`, `clear` and `eval` commands with
 * their expectations. See /work/shared/promqltest/FORMAT.md.
 *
 * @example
 * const cmds = parseScript("load 5m\n  x 1+1x3\n\neval instant at 5m x\n  x 2\n", "a.test");
 */
import { labelsFromPairs, type Labels } from "../../src/model/index.ts";

/** One point of an expanded sequence: a float, a staleness marker, an omitted point or a native histogram. */
export type SeqValue = { kind: "float"; v: number } | { kind: "stale" } | { kind: "omitted" } | { kind: "histogram" };

/** A `metric values…` line. */
export interface SeriesLine {
  metric: Labels;
  values: SeqValue[];
  hasHistogram: boolean;
  line: number;
}

export interface LoadCmd {
  type: "load";
  interval: number;
  withNHCB: boolean;
  series: SeriesLine[];
  line: number;
}

export interface ClearCmd {
  type: "clear";
  line: number;
}

/** An annotation or failure expectation. */
export interface Expectation {
  kind: "fail" | "warn" | "info" | "no_warn" | "no_info";
  msg?: string;
  regex?: RegExp;
}

export interface EvalCmd {
  type: "eval";
  mode: "instant" | "range";
  expr: string;
  /** Instant: evaluation time; range: start. ms. */
  start: number;
  end: number;
  step: number;
  ordered: boolean;
  expectations: Expectation[];
  /** Expected scalar (instant queries returning a scalar). */
  scalar: number | null;
  /** Expected string result. */
  string: string | null;
  /** For an instant query returning a range vector: the grid its expected points sit on (ms). */
  rangeVector: { start: number; end: number; step: number } | null;
  series: SeriesLine[];
  line: number;
}

export type Command = LoadCmd | ClearCmd | EvalCmd;

/** Parses a Prometheus duration ("5m", "1h30m", "10s53ms", "0") into ms; a bare number means seconds. */
export function parseDurationMs(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
  let total = 0, consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) throw new Error(`bad duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new Error(`bad duration ${JSON.stringify(s)}`);
  return total;
}

const NUM = String.raw`(?:[+-]?(?:Inf|inf|NaN|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))`;
const ITEM_RE = new RegExp(String.raw`^(_|stale|${NUM})(?:([+-])(${NUM.replace("[+-]?", "")}))?(?:x(\d+))?$`);

/** Parses a float literal as used in scripts (Inf, NaN, hex, decimal). */
export function parseNumber(s: string): number | null {
  const t = s.trim();
  if (!new RegExp(`^${NUM}$`).test(t)) return null;
  const sign = t.startsWith("-") ? -1 : 1;
  const body = t.replace(/^[+-]/, "");
  if (/^inf$/i.test(body)) return sign * Infinity;
  if (/^nan$/i.test(body)) return NaN;
  if (/^0x/i.test(body)) return sign * parseInt(body.slice(2), 16);
  return sign * Number(body);
}

/** Expands a values string ("1+2x3 _ stale 5x2") into points. */
export function expandValues(text: string, where: string): { values: SeqValue[]; hasHistogram: boolean } {
  const values: SeqValue[] = [];
  let hasHistogram = false;
  const tokens = tokenizeValues(text);
  for (const tok of tokens) {
    if (tok.includes("{{")) {
      hasHistogram = true;
      const times = /x(\d+)$/.exec(tok);
      const n = times ? Number(times[1]) + 1 : 1;
      for (let i = 0; i < n; i++) values.push({ kind: "histogram" });
      continue;
    }
    const m = ITEM_RE.exec(tok);
    if (!m) throw new Error(`${where}: cannot parse value ${JSON.stringify(tok)}`);
    const [, head, sign, incStr, timesStr] = m;
    const times = timesStr === undefined ? null : Number(timesStr);
    if (head === "_") {
      const n = times === null ? 1 : times;
      for (let i = 0; i < n; i++) values.push({ kind: "omitted" });
      continue;
    }
    if (head === "stale") {
      values.push({ kind: "stale" });
      continue;
    }
    const start = parseNumber(head!)!;
    if (times === null) {
      values.push({ kind: "float", v: start });
      continue;
    }
    let inc = incStr === undefined ? 0 : parseNumber(incStr)!;
    if (sign === "-") inc = -inc;
    let cur = start;
    for (let i = 0; i <= times; i++) {
      values.push({ kind: "float", v: cur });
      cur += inc;
    }
  }
  return { values, hasHistogram };
}

function tokenizeValues(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let j = i, depth = 0;
    while (j < text.length && (depth > 0 || !/\s/.test(text[j]!))) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}") depth--;
      j++;
    }
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function unquote(s: string, where: string): string {
  if (s.startsWith("`")) return s.slice(1, -1);
  if (s.startsWith("'")) s = `"${s.slice(1, -1).replace(/"/g, '\\"')}"`;
  try {
    return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\([abfv])/g, (_m, c: string) => ({ a: "\\u0007", b: "\\b", f: "\\f", v: "\\u000b" })[c]!)) as string;
  } catch {
    throw new Error(`${where}: bad string ${s}`);
  }
}

/** Splits "metric{labels} rest" into labels and the rest of the line. */
export function parseSeriesDesc(text: string, where: string): { metric: Labels; rest: string } {
  let i = 0;
  const pairs: [string, string][] = [];
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:.]*/.exec(text);
  if (nameMatch) {
    pairs.push(["__name__", nameMatch[0]]);
    i = nameMatch[0].length;
  }
  if (text[i] === "{") {
    i++;
    const str = String.raw`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`";
    const labelRe = new RegExp(String.raw`^\s*(?:([a-zA-Z_][a-zA-Z0-9_]*)|(${str}))\s*(?:=\s*(${str}))?\s*,?`);
    for (;;) {
      const rest = text.slice(i);
      if (/^\s*\}/.test(rest)) {
        i += rest.indexOf("}") + 1;
        break;
      }
      const m = labelRe.exec(rest);
      if (!m || m[0].length === 0) throw new Error(`${where}: cannot parse labels in ${JSON.stringify(text)}`);
      const name = m[1] ?? unquote(m[2]!, where);
      if (m[3] === undefined) pairs.push(["__name__", name]);
      else pairs.push([name, unquote(m[3], where)]);
      i += m[0].length;
    }
  } else if (!nameMatch) throw new Error(`${where}: cannot parse series ${JSON.stringify(text)}`);
  return { metric: labelsFromPairs(pairs), rest: text.slice(i) };
}

const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(\S+))?\s+(.+)$/;
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/;

function parseExpectation(body: string, where: string): Expectation {
  const m = /^(fail|warn|info|no_warn|no_info)(?:\s+(msg|regex):\s?(.*))?$/.exec(body.trim());
  if (!m) throw new Error(`${where}: cannot parse expectation ${JSON.stringify(body)}`);
  const e: Expectation = { kind: m[1] as Expectation["kind"] };
  if (m[2] === "msg") e.msg = m[3]!.trim();
  if (m[2] === "regex") e.regex = new RegExp(m[3]!.trim());
  return e;
}

/** Parses a whole script into commands; throws with file:line on malformed input. */
export function parseScript(text: string, file: string): Command[] {
  const lines = text.split("\n");
  const cmds: Command[] = [];
  let i = 0;
  const isBlockLine = (l: string | undefined): boolean => l !== undefined && l.trim() !== "" && /^\s/.test(l);
  while (i < lines.length) {
    const raw = lines[i]!;
    const line = raw.trim();
    const where = `${file}:${i + 1}`;
    if (line === "" || line.startsWith("#")) {
      i++;
      continue;
    }
    if (line === "clear") {
      cmds.push({ type: "clear", line: i + 1 });
      i++;
      continue;
    }
    const load = /^load(_with_nhcb)?\s+(\S+)$/.exec(line);
    if (load) {
      const cmd: LoadCmd = { type: "load", interval: parseDurationMs(load[2]!), withNHCB: !!load[1], series: [], line: i + 1 };
      i++;
      while (isBlockLine(lines[i]) || (lines[i] !== undefined && lines[i]!.trim().startsWith("#") && lines[i]!.trim() !== "")) {
        const l = lines[i]!.trim();
        if (!l.startsWith("#")) {
          const { metric, rest } = parseSeriesDesc(l, `${file}:${i + 1}`);
          const { values, hasHistogram } = expandValues(rest, `${file}:${i + 1}`);
          cmd.series.push({ metric, values, hasHistogram, line: i + 1 });
        }
        i++;
      }
      cmds.push(cmd);
      continue;
    }
    const inst = EVAL_INSTANT.exec(line), rng = inst ? null : EVAL_RANGE.exec(line);
    if (inst || rng) {
      const variant = (inst ? inst[1] : rng![1]) ?? "";
      const cmd: EvalCmd = {
        type: "eval",
        mode: inst ? "instant" : "range",
        expr: inst ? inst[3]! : rng![5]!,
        start: parseDurationMs(inst ? (inst[2] ?? "0") : rng![2]!),
        end: 0,
        step: 0,
        ordered: variant === "ordered",
        expectations: [],
        scalar: null,
        string: null,
        rangeVector: null,
        series: [],
        line: i + 1,
      };
      if (rng) {
        cmd.end = parseDurationMs(rng[3]!);
        cmd.step = parseDurationMs(rng[4]!);
      } else cmd.end = cmd.start;
      if (variant === "fail" || variant === "warn" || variant === "info") cmd.expectations.push({ kind: variant });
      i++;
      while (lines[i] !== undefined && lines[i]!.trim() !== "" && (/^\s/.test(lines[i]!) || lines[i]!.trim().startsWith("#"))) {
        const l = lines[i]!.trim();
        const w = `${file}:${i + 1}`;
        i++;
        if (l.startsWith("#")) continue;
        if (l.startsWith("expect ")) {
          const body = l.slice(7).trim();
          if (body === "ordered") cmd.ordered = true;
          else if (body.startsWith("string ")) cmd.string = unquote(body.slice(7).trim(), w);
          else if (body.startsWith("range vector")) {
            const m = /^range vector from (\S+) to (\S+) step (\S+)$/.exec(body);
            if (!m) throw new Error(`${w}: cannot parse ${JSON.stringify(body)}`);
            cmd.rangeVector = { start: parseDurationMs(m[1]!), end: parseDurationMs(m[2]!), step: parseDurationMs(m[3]!) };
          }
          else cmd.expectations.push(parseExpectation(body, w));
          continue;
        }
        if (l.startsWith("expected_fail_message ")) {
          cmd.expectations.push({ kind: "fail", msg: l.slice("expected_fail_message ".length).trim() });
          continue;
        }
        if (l.startsWith("expected_fail_regexp ")) {
          cmd.expectations.push({ kind: "fail", regex: new RegExp(l.slice("expected_fail_regexp ".length).trim()) });
          continue;
        }
        const num = parseNumber(l);
        if (num !== null) {
          cmd.scalar = num;
          continue;
        }
        const { metric, rest } = parseSeriesDesc(l, w);
        const { values, hasHistogram } = expandValues(rest, w);
        cmd.series.push({ metric, values, hasHistogram, line: i });
      }
      cmds.push(cmd);
      continue;
    }
    throw new Error(`${where}: unknown command ${JSON.stringify(line)}`);
  }
  return cmds;
}
