/**
 * The rule and alerting endpoints of Prometheus's HTTP API, as a Hono
 * sub-app mounted at /api/v1 beside the query API: `/rules`, `/alerts` and
 * `/alertmanagers`, in Prometheus's JSON shapes and error envelope.
 *
 * Handlers only read a {@link RulesSource} (the server's rule manager and
 * notifier) and parse parameters; the JSON is built by the rules room.
 */
import { Hono } from "hono";
import type { AlertmanagersData } from "../notifier/index.ts";
import { alertsAPIData, rulesAPIData, type GroupStatus, type RulesFilter } from "../rules/index.ts";
import { ApiError, handleForm, type RequestForm, successValue } from "./api/index.ts";

/** What the rule endpoints read: the rule groups' state and the notifier's Alertmanagers. */
export interface RulesSource {
  /** Every rule group, sorted by file then name (RuleManager.groups). */
  ruleGroups(): readonly GroupStatus[];
  /** The Alertmanagers alerts go to, and those relabeling dropped (Notifier.alertmanagers). */
  alertmanagers(): AlertmanagersData;
}

const RULE_TYPES: readonly NonNullable<RulesFilter["type"]>[] = ["", "alert", "record"];

function isRuleType(text: string): text is NonNullable<RulesFilter["type"]> {
  return (RULE_TYPES as readonly string[]).includes(text);
}

/** Go's strconv.ParseBool on an already lower-cased value; undefined when it is not a boolean. */
function parseGoBool(text: string): boolean | undefined {
  if (text === "1" || text === "t" || text === "true") return true;
  if (text === "0" || text === "f" || text === "false") return false;
  return undefined;
}

/**
 * The filters of GET /rules. `type` must be "alert", "record" or empty and
 * `exclude_alerts` a Go boolean; both are read lower-cased, as Prometheus does.
 */
export function parseRulesFilter(form: RequestForm): RulesFilter {
  const type = form.get("type").toLowerCase();
  if (!isRuleType(type)) {
    throw new ApiError("bad_data", `unsupported type ${JSON.stringify(type)}`);
  }
  const excludeText = form.get("exclude_alerts").toLowerCase();
  const exclude = excludeText === "" ? false : parseGoBool(excludeText);
  if (exclude === undefined) {
    throw new ApiError("bad_data", `error converting exclude_alerts: strconv.ParseBool: parsing ${JSON.stringify(excludeText)}: invalid syntax`);
  }
  return {
    type,
    rule_name: form.getAll("rule_name[]"),
    group_name: form.getAll("rule_group[]"),
    file: form.getAll("file[]"),
    exclude_alerts: exclude,
  };
}

/**
 * The rule routes, relative to /api/v1.
 *
 * @example
 * const v1 = new Hono();
 * v1.route("/", rulesAPI({ ruleGroups: () => manager.groups(), alertmanagers: () => notifier.alertmanagers() }));
 * await v1.request("/rules?type=alert&exclude_alerts=true");
 */
export function rulesAPI(source: RulesSource): Hono {
  const app = new Hono();
  app.get("/rules", handleForm((form) => successValue(rulesAPIData(source.ruleGroups(), parseRulesFilter(form)))));
  app.get("/alerts", handleForm(() => successValue(alertsAPIData(source.ruleGroups()))));
  app.get("/alertmanagers", handleForm(() => successValue(source.alertmanagers())));
  return app;
}
