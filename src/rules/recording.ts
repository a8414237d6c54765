/**
 * Recording rules: evaluate an expression and store the result under a new
 * metric name, with the rule's labels set on every series.
 */
import { labelsKey, METRIC_NAME, type Label, type Labels } from "../model/index.ts";
import type { EvalContext, OutputSample, RuleHealth } from "./types.ts";

/** Static description of a recording rule (labels already include the group's). */
export interface RecordingRuleSpec {
  /** The metric name written (`record:`). */
  name: string;
  /** The expression as Prometheus prints it. */
  query: string;
  labels: Labels;
}

/** See the module comment. */
export class RecordingRule {
  readonly type = "recording";
  health: RuleHealth = "unknown";
  lastError = "";
  /** Wall time (ms) the last evaluation started; 0 when never evaluated. */
  lastEvaluation = 0;
  /** How long the last evaluation took (ms). */
  evaluationTime = 0;

  constructor(readonly spec: RecordingRuleSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** Identity for keeping state across reloads: name plus labels, as Prometheus's nameAndLabels. */
  identity(): string {
    return this.spec.name + labelsKey(this.spec.labels);
  }

  /**
   * Evaluates at ts − queryOffset and returns the samples to store. Throws
   * when two results end up with the same labels or `limit` is exceeded.
   */
  async eval(ts: number, ctx: EvalContext): Promise<OutputSample[]> {
    const result = await ctx.query(this.spec.query, ts - ctx.queryOffset);
    const seen = new Set<string>();
    const out: OutputSample[] = [];
    for (const s of result) {
      const m = new Map<string, string>();
      for (const l of s.metric) m.set(l.name, l.value);
      m.set(METRIC_NAME, this.spec.name);
      for (const l of this.spec.labels) m.set(l.name, l.value);
      const metric: Label[] = [];
      for (const [name, value] of m) if (value !== "") metric.push({ name, value });
      metric.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const key = labelsKey(metric);
      if (seen.has(key)) throw new Error("vector contains metrics with the same labelset after applying rule labels");
      seen.add(key);
      out.push({ metric, t: s.t, v: s.v });
    }
    if (ctx.limit > 0 && out.length > ctx.limit) throw new Error(`exceeded limit of ${ctx.limit} with ${out.length} series`);
    return out;
  }
}
