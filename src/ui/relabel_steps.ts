/**
 * Each target's relabel steps, as Prometheus 3's UI shows them:
 * `GET /api/v1/targets/relabel_steps?scrapePool=<job>&labels=<JSON object>`
 * answers `{status:"success", data:{steps:[{rule, output, keep}]}}`, one
 * step per relabel_configs entry of the pool applied in order to the
 * target's discovered labels, stopping at the rule that drops it.
 */
import { Hono } from "hono";
import { labelsFromRecord, labelsToRecord, relabel, type RelabelRule } from "../model/index.ts";

/** The pools' relabel rules, from the configuration in effect. */
export interface ScrapePoolRelabeling {
  job_name: string;
  relabel_configs: readonly RelabelRule[];
}

export interface RelabelStep {
  rule: RelabelRule;
  /** The labels after this rule; empty when it dropped the target. */
  output: Record<string, string>;
  /** False when this rule dropped the target (the last step then). */
  keep: boolean;
}

/** Applies the rules one by one; throws on an invalid rule. */
export function relabelSteps(labels: Record<string, string>, rules: readonly RelabelRule[]): RelabelStep[] {
  const steps: RelabelStep[] = [];
  let current = labelsFromRecord(labels);
  for (const rule of rules) {
    const out = relabel(current, [rule]);
    if (out === null) {
      steps.push({ rule, output: {}, keep: false });
      break;
    }
    current = out;
    steps.push({ rule, output: labelsToRecord(out), keep: true });
  }
  return steps;
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } });
}

function bad(error: string): Response {
  return json({ status: "error", errorType: "bad_data", error }, 400);
}

/** The route, to mount at `/api/v1/targets/relabel_steps`. */
export function relabelStepsAPI(pools: () => readonly ScrapePoolRelabeling[]): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const pool = c.req.query("scrapePool");
    const raw = c.req.query("labels");
    if (!pool) return bad("scrapePool: missing");
    if (!raw) return bad("labels: missing");
    let labels: unknown;
    try {
      labels = JSON.parse(raw);
    } catch (e) {
      return bad(`labels: not JSON: ${(e as Error).message}`);
    }
    if (typeof labels !== "object" || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== "string")) {
      return bad("labels: must be a JSON object of strings");
    }
    const cfg = pools().find((p) => p.job_name === pool);
    if (!cfg) return json({ status: "error", errorType: "not_found", error: `scrapePool: no scrape pool ${JSON.stringify(pool)}` }, 404);
    try {
      return json({ status: "success", data: { steps: relabelSteps(labels as Record<string, string>, cfg.relabel_configs) } });
    } catch (e) {
      return bad(`scrapePool ${JSON.stringify(pool)}: ${(e as Error).message}`);
    }
  });
  return app;
}
