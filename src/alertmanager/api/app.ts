/**
 * Alertmanager's HTTP API v2 as a Hono sub-app over the core, to mount
 * under `/api/v2`: status, receivers, alerts (list, post, groups) and
 * silences (list, post, get, delete), with Alertmanager's query filters,
 * JSON shapes and error answers. The handlers only translate between HTTP
 * and the core.
 *
 * @example
 * const app = new Hono();
 * app.route("/api/v2", alertmanagerAPIv2({ alertmanager: () => am, versionInfo }));
 * await app.request("/api/v2/alerts?filter=alertname%3D%22Down%22");
 */
import { Hono, type Context } from "hono";
import { readBoundedText } from "../../base/index.ts";
import { alertmanagerConfigToYAML } from "../../config/index.ts";
import { nopLogger, type Logger } from "../../log/index.ts";
import { labelsToRecord, type Labels, type Matcher } from "../../model/index.ts";
import {
  compareAlerts, compareLabelSets, isResolved, matchesAll, SilenceError,
  type Alertmanager, type AlertWithStatus, type Silence,
} from "../index.ts";
import { APIError, decodePostableAlertsSliced, decodePostableSilence, Pacer, pathSilenceID, queryBool, queryMatchers, queryReceiver } from "./decode.ts";
import {
  apiTime, compareSilences, goJSON, toGettableAlert, toGettableSilence,
  type APIAlertGroup, type AlertmanagerStatus, type ClusterStatus, type VersionInfo,
} from "./json.ts";

/** Alerts stored between checks whether to let the event loop turn. */
const PUT_BATCH = 128;

/** Largest request body the API reads (alerts batches from busy Prometheus servers fit easily). */
export const MAX_BODY_BYTES = 32 << 20;

/** What the API serves. */
export interface AlertmanagerAPIOptions {
  /** The Alertmanager, or undefined while it is not running yet (answers 503). */
  alertmanager: () => Alertmanager | undefined;
  /** `versionInfo` of `GET /status`. */
  versionInfo: VersionInfo;
  /** `cluster` of `GET /status`; the Alertmanager's own cluster status when absent. */
  cluster?: () => ClusterStatus;
  logger?: Logger;
}

function respond(status: number, value?: unknown): Response {
  if (value === undefined) return new Response(null, { status });
  return new Response(goJSON(value), { status, headers: { "Content-Type": "application/json" } });
}

/**
 * Reads a request body as UTF-8 text, stopping as soon as it grows past
 * `maxBytes` (a declared Content-Length over the limit is refused before
 * reading). Throws {@link APIError} 413 for larger bodies.
 *
 * @example const text = await readBodyText(request, MAX_BODY_BYTES);
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () => new APIError(413, `request body larger than ${maxBytes} bytes`);
  if (Number(request.headers.get("content-length") ?? "0") > maxBytes) throw tooLarge();
  return readBoundedText(request.body, maxBytes, tooLarge);
}

function filters(c: Context): string[] {
  return [...(c.req.queries("filter") ?? []), ...(c.req.queries("filter[]") ?? [])];
}

/** Whether a silence has, for every filter matcher, a matcher with the same name, operator and value. */
function silenceMatchesFilter(s: Silence, filter: readonly Matcher[]): boolean {
  return filter.every((f) => s.matchers.some((m) => {
    const equal = m.isEqual ?? true;
    const type = m.isRegex ? (equal ? "=~" : "!~") : equal ? "=" : "!=";
    return m.name === f.name && m.value === f.value && type === f.type;
  }));
}

/** Builds the API v2 app; see the module comment. */
export function alertmanagerAPIv2(opts: AlertmanagerAPIOptions): Hono {
  const logger = opts.logger ?? nopLogger;
  const app = new Hono();
  const handle = (fn: (c: Context, am: Alertmanager) => Response | Promise<Response>) => async (c: Context): Promise<Response> => {
    const am = opts.alertmanager();
    if (!am) return respond(503, "Alertmanager is not ready yet");
    try {
      return await fn(c, am);
    } catch (e) {
      if (e instanceof APIError) {
        logger.debug("API request refused", { path: c.req.path, status: e.status, err: e.message });
        return respond(e.status, e.body);
      }
      throw e;
    }
  };

  app.get("/status", handle((_c, am) => {
    const s = am.status();
    const status: AlertmanagerStatus = {
      cluster: opts.cluster?.() ?? am.clusterStatus(),
      config: { original: alertmanagerConfigToYAML(s.config) },
      uptime: apiTime(s.uptime),
      versionInfo: opts.versionInfo,
    };
    return respond(200, status);
  }));

  app.get("/receivers", handle((_c, am) => respond(200, am.receivers().map((r) => ({ name: r.name })))));

  app.get("/alerts", handle((c, am) => {
    const matchers = queryMatchers(filters(c));
    const receiver = queryReceiver(c.req.query("receiver"));
    const alerts = am.getAlerts({
      active: queryBool(c.req.query("active"), true),
      silenced: queryBool(c.req.query("silenced"), true),
      inhibited: queryBool(c.req.query("inhibited"), true),
      unprocessed: queryBool(c.req.query("unprocessed"), true),
      receiver,
      matchers,
    });
    return respond(200, alerts.map(toGettableAlert));
  }));

  app.post("/alerts", handle(async (c, am) => {
    // Decoding and storing many alerts runs in slices, so /-/healthy and other requests are served meanwhile.
    const pacer = new Pacer();
    const posted = await decodePostableAlertsSliced(await readBodyText(c.req.raw, MAX_BODY_BYTES), pacer);
    const problems: string[] = [];
    for (let i = 0; i < posted.length; i += PUT_BATCH) {
      problems.push(...am.putAlerts(posted.slice(i, i + PUT_BATCH)));
      await pacer.maybePause();
    }
    if (problems.length > 0) {
      logger.error("Failed to validate alerts", { err: problems.join("; ") });
      return respond(400, problems.join("; "));
    }
    return respond(200);
  }));

  app.get("/alerts/groups", handle((c, am) => {
    const matchers = queryMatchers(filters(c));
    const receiver = queryReceiver(c.req.query("receiver"));
    const active = queryBool(c.req.query("active"), true);
    const silenced = queryBool(c.req.query("silenced"), true);
    const inhibited = queryBool(c.req.query("inhibited"), true);
    const now = am.clock.now();
    // As Alertmanager: an alert's receivers are those of the listed groups holding it, sorted.
    const receiversOf = new Map<string, string[]>();
    const groups: { alerts: AlertWithStatus[]; labels: Labels; receiver: string }[] = [];
    for (const g of am.groups()) {
      const receiverName = g.route.opts.receiver;
      if (receiver && !receiver.test(receiverName)) continue;
      const alerts: AlertWithStatus[] = [];
      for (const alert of g.alerts) {
        if (isResolved(alert, now) || !matchesAll(matchers, alert.labels)) continue;
        const s = am.alertStatus(alert);
        if (!active && s.state === "active") continue;
        if (!silenced && s.silencedBy.length > 0) continue;
        if (!inhibited && s.inhibitedBy.length > 0) continue;
        const names = receiversOf.get(s.fingerprint) ?? [];
        names.push(receiverName);
        receiversOf.set(s.fingerprint, names);
        alerts.push(s);
      }
      if (alerts.length === 0) continue;
      groups.push({ alerts: alerts.sort((a, b) => compareAlerts(a.alert, b.alert)), labels: g.groupLabels, receiver: receiverName });
    }
    groups.sort((a, b) => compareLabelSets(a.labels, b.labels) || (a.receiver < b.receiver ? -1 : a.receiver > b.receiver ? 1 : 0));
    const body: APIAlertGroup[] = groups.map((g) => ({
      alerts: g.alerts.map((s) => toGettableAlert({ ...s, receivers: [...receiversOf.get(s.fingerprint)!].sort() })),
      labels: labelsToRecord(g.labels),
      receiver: { name: g.receiver },
    }));
    return respond(200, body);
  }));

  app.get("/silences", handle((c, am) => {
    const matchers = queryMatchers(filters(c));
    const silences = am.listSilences().filter((s) => silenceMatchesFilter(s, matchers)).sort(compareSilences);
    return respond(200, silences.map(toGettableSilence));
  }));

  app.post("/silences", handle(async (c, am) => {
    const silence = decodePostableSilence(await readBodyText(c.req.raw, MAX_BODY_BYTES));
    if (silence.startsAt >= silence.endsAt) return respond(400, "Failed to create silence: start time must be before end time");
    if (silence.endsAt < am.clock.now()) return respond(400, "Failed to create silence: end time can't be in the past");
    try {
      return respond(200, { silenceID: am.setSilence(silence) });
    } catch (e) {
      if (!(e instanceof SilenceError)) throw e;
      logger.error("Failed to create silence", { err: e });
      return e.notFound ? respond(404, "silence not found") : respond(400, e.message);
    }
  }));

  app.get("/silence/:id", handle((c, am) => {
    const silence = am.getSilence(pathSilenceID(c.req.param("id") ?? ""));
    return silence ? respond(200, toGettableSilence(silence)) : respond(404);
  }));

  app.delete("/silence/:id", handle((c, am) => {
    const id = pathSilenceID(c.req.param("id") ?? "");
    // Alertmanager answers 200 for a silence that has already expired.
    if (am.getSilence(id)?.state === "expired") return respond(200);
    try {
      am.expireSilence(id);
      return respond(200);
    } catch (e) {
      if (!(e instanceof SilenceError)) throw e;
      logger.error("Failed to expire silence", { err: e });
      return e.notFound ? respond(404) : respond(500, e.message);
    }
  }));

  return app;
}
