/**
 * Shapes shared by the rule kinds and the group that evaluates them.
 */
import type { Labels } from "../model/index.ts";
import type { Alert as NotifierAlert } from "../notifier/index.ts";
import type { TemplateQueryFunc } from "../template/index.ts";

/** A rule's health as the API reports it: "unknown" until first evaluated. */
export type RuleHealth = "ok" | "err" | "unknown";

/** One sample a rule evaluation produces (ms timestamp). */
export interface OutputSample {
  metric: Labels;
  t: number;
  v: number;
}

/** An alert handed to the notify callback; the notifier's own alert type. */
export type SentAlert = NotifierAlert;

/** Runs an instant query; returns a vector (a scalar result as one sample without labels). */
export type RuleQueryFunc = (query: string, t: number) => Promise<OutputSample[]>;

/** What a rule evaluation needs from its group and manager. */
export interface EvalContext {
  query: RuleQueryFunc;
  /** The `query` function alert templates call, evaluating at the given time. */
  templateQuery: (t: number) => TemplateQueryFunc;
  queryOffset: number;
  /** The group's `limit`; 0 means none. */
  limit: number;
  externalLabels: Readonly<Record<string, string>>;
  externalURL: string;
}
