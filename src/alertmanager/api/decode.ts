/**
 * Decoding API v2 request bodies and query parameters with the errors
 * Alertmanager's go-swagger server gives:
 *
 * - a body that is not the JSON type expected → 400
 *   `{"code":400,"message":"parsing alerts body from \"\" failed, because …"}`;
 * - a schema violation → 422 `{"code":6xx,"message":"…"}` (601 wrong
 *   format, 602 required field missing, 612 too few items), the first
 *   problem in the order the generated validators check;
 * - a handler's own refusal → 400 with a JSON string body.
 *
 * @example
 * const alerts = decodePostableAlerts(await req.text()); // throws APIError
 */
import { compileRE2, labelsFromPairs, newMatcher, translateRE2, type Labels, type Matcher, type MatchType, type RE2Regexp } from "../../model/index.ts";
import type { PostableAlert, PostableSilence, SilenceMatcher } from "../index.ts";
import { arrayElements, firstJSONValue, goTimeParseError } from "./gojson.ts";

/** How long the API works synchronously on one request before letting the event loop turn, in ms. */
const SLICE_MS = 8;

/**
 * Paces long request work (a 100k-alert POST): {@link maybePause} resolves
 * at once until SLICE_MS of work were done, then after one turn of the
 * event loop, so health checks and other requests are served meanwhile.
 */
export class Pacer {
  private start = performance.now();

  due(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  async maybePause(): Promise<void> {
    if (!this.due()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.start = performance.now();
  }
}

/** go-openapi's validation codes (errors.InvalidTypeCode …). */
export const INVALID_TYPE_CODE = 601;
/** A required field is missing. */
export const REQUIRED_CODE = 602;
/** An array has fewer items than `minItems`. */
export const MIN_ITEMS_CODE = 612;

/** A refused request: the status and the JSON value to answer with. */
export class APIError extends Error {
  override name = "APIError";
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === "string" ? body : JSON.stringify(body));
  }
}

/** A go-swagger validation failure (HTTP 422 for codes ≥ 600). */
function validationError(code: number, message: string): APIError {
  return new APIError(422, { code, message });
}

/** A body that does not decode: go-swagger's ParseError. */
function parseError(what: string, reason: string): APIError {
  return new APIError(400, { code: 400, message: `parsing ${what} body from "" failed, because ${reason}` });
}

/** The JSON type names Go's decoder uses in its messages. */
function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "boolean" ? "bool" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Go's zero time (0001-01-01T00:00:00Z) in Unix milliseconds: an unset time. */
const GO_ZERO_TIME = -62135596800000;
// A date and time with an optional fraction and an optional zone (UTC without one), as strfmt.DateTime's layouts read it.
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * Parses a date-time as `strfmt.DateTime` does (RFC 3339, or
 * `2006-01-02T15:04:05` / `2006-01-02 15:04:05` read as UTC) to Unix
 * milliseconds; "" and Go's zero time give 0 (unset). Returns undefined
 * for anything else.
 *
 * @example parseDateTime("2024-01-01T00:00:00.5+01:00") // Date.UTC(2023, 11, 31, 23, 0, 0, 500)
 */
export function parseDateTime(text: string): number | undefined {
  if (text === "") return 0;
  const m = DATE_TIME_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const millis = (frac ?? "").padEnd(3, "0").slice(0, 3);
  let ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}Z`);
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(d)) return undefined;
  if (sign) ms -= (sign === "+" ? 1 : -1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return ms === GO_ZERO_TIME ? 0 : ms;
}

/**
 * Decodes a JSON body as go-swagger's JSON consumer does: the first value
 * only (a `json.Decoder`), syntax errors in Go's words.
 */
function parseJSON(text: string, what: string): unknown {
  if (text.trim() === "") throw validationError(REQUIRED_CODE, `${what} in body is required`);
  const first = firstJSONValue(text);
  if ("error" in first) throw parseError(what, first.error);
  const value = JSON.parse(first.text) as unknown;
  return ESCAPED_SURROGATE.test(first.text) ? wellFormed(value) : value;
}

/** A `\uD800`–`\uDFFF` escape: JSON.parse may then give strings with lone surrogates. */
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces lone surrogates in every string and key with U+FFFD, as Go's
 * encoding/json decodes an escaped surrogate that is not part of a pair
 * (raw invalid UTF-8 bytes already became U+FFFD when the body was read).
 */
function wellFormed(v: unknown): unknown {
  if (typeof v === "string") return v.replace(LONE_SURROGATE, "\ufffd");
  if (Array.isArray(v)) return v.map(wellFormed);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // defineProperty, so a "__proto__" key stays a plain key as JSON.parse made it.
      Object.defineProperty(out, k.replace(LONE_SURROGATE, "\ufffd"), { value: wellFormed(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

/**
 * Go's json decoding into one struct: type mismatches are remembered (the
 * first one is reported once the struct is done), while errors from custom
 * unmarshalers (date-times) stop decoding at once.
 */
class StructDecoder {
  private firstTypeError: string | undefined;
  constructor(private readonly what: string) {}

  /** Records `json: cannot unmarshal <type> into Go struct field <field> of type <goType>`. */
  mismatch(v: unknown, field: string, goType: string): void {
    this.firstTypeError ??= `json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type ${goType}`;
  }

  /** Reports the first recorded mismatch, if any. */
  finish(): void {
    if (this.firstTypeError) throw parseError(this.what, this.firstTypeError);
  }

  string(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    this.mismatch(v, field, "string");
    return undefined;
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "boolean") return v;
    this.mismatch(v, field, "bool");
    return undefined;
  }

  labelSet(v: unknown, field: string): Labels | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) {
      this.mismatch(v, field, "models.LabelSet");
      return undefined;
    }
    const pairs: [string, string][] = [];
    for (const [name, value] of Object.entries(v)) {
      if (typeof value === "string") pairs.push([name, value]);
      else if (value !== null) this.mismatch(value, field, "string");
    }
    return labelsFromPairs(pairs);
  }

  /** A `strfmt.DateTime`: its errors end decoding at once. */
  time(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw parseError(this.what, `json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type string`);
    const ms = parseDateTime(v);
    if (ms === undefined) throw parseError(this.what, goTimeParseError(v));
    return ms;
  }
}

/** The anonymous struct go-swagger decodes an alert's second half (allOf part) into. */
const ALERT_TIMES_STRUCT = 'struct { Annotations models.LabelSet "json:\\"annotations,omitempty\\""; EndsAt strfmt.DateTime "json:\\"endsAt,omitempty\\""; StartsAt strfmt.DateTime "json:\\"startsAt,omitempty\\"" }';
/** The anonymous struct go-swagger first decodes a silence's id into. */
const SILENCE_ID_STRUCT = 'struct { ID string "json:\\"id,omitempty\\"" }';

/**
 * Decodes the body of `POST /api/v2/alerts` (`postableAlerts`): every
 * alert is decoded (each in two passes, as go-swagger does for its allOf
 * parts) before any is validated. Label names are not checked here: that
 * is the alert validation's job, which answers 400 per alert.
 */
export function decodePostableAlerts(text: string): PostableAlert[] {
  const body = parseJSON(text, "alerts");
  if (!Array.isArray(body)) throw parseError("alerts", `json: cannot unmarshal ${jsonType(body)} into Go value of type models.PostableAlerts`);
  return checkAlerts(body.map(decodeAlertItem), body.map(hasLabels));
}

/**
 * {@link decodePostableAlerts} in slices: an array body is scanned, parsed
 * and decoded element by element, letting the event loop turn between
 * slices, so a POST of 100k alerts does not hold other requests up. The
 * answer (alerts or error) is the same.
 */
export async function decodePostableAlertsSliced(text: string, pacer = new Pacer()): Promise<PostableAlert[]> {
  const scan = arrayElements(text);
  let step = scan.next();
  while (!step.done) {
    await pacer.maybePause();
    step = scan.next();
  }
  const found = step.value;
  if (found === undefined) return decodePostableAlerts(text);
  if ("error" in found) throw parseError("alerts", found.error);
  const decoded: (PostableAlert | undefined)[] = [];
  const labelled: boolean[] = [];
  for (const [start, end] of found.elements) {
    const source = text.slice(start, end);
    const parsed = JSON.parse(source) as unknown;
    const item = ESCAPED_SURROGATE.test(source) ? wellFormed(parsed) : parsed;
    decoded.push(decodeAlertItem(item));
    labelled.push(hasLabels(item));
    if ((decoded.length & 63) === 0) await pacer.maybePause();
  }
  return checkAlerts(decoded, labelled);
}

/** Decodes one element of a posted alerts array (undefined for null); throws Go's unmarshal errors. */
function decodeAlertItem(item: unknown): PostableAlert | undefined {
  const what = "alerts";
  if (item === null) return undefined;
  if (!isObject(item)) throw parseError(what, `json: cannot unmarshal ${jsonType(item)} into Go value of type ${ALERT_TIMES_STRUCT}`);
  const alert: PostableAlert = { labels: [] };
  const first = new StructDecoder(what);
  const generatorURL = first.string(item.generatorURL, "Alert.generatorURL");
  const labels = first.labelSet(item.labels, "Alert.labels");
  first.finish();
  const second = new StructDecoder(what);
  const annotations = second.labelSet(item.annotations, ".annotations");
  const endsAt = second.time(item.endsAt, ".endsAt");
  const startsAt = second.time(item.startsAt, ".startsAt");
  second.finish();
  if (generatorURL !== undefined) alert.generatorURL = generatorURL;
  if (labels !== undefined) alert.labels = labels;
  if (annotations !== undefined) alert.annotations = annotations;
  if (endsAt !== undefined) alert.endsAt = endsAt;
  if (startsAt !== undefined) alert.startsAt = startsAt;
  return alert;
}

function hasLabels(item: unknown): boolean {
  const labels = (item as Record<string, unknown> | null)?.labels;
  return labels !== undefined && labels !== null;
}

/** The schema validation after decoding (422s), in the generated validator's order. */
function checkAlerts(decoded: (PostableAlert | undefined)[], labelled: boolean[]): PostableAlert[] {
  return decoded.map((alert, i) => {
    if (alert && alert.generatorURL && /\s/.test(alert.generatorURL)) {
      throw validationError(INVALID_TYPE_CODE, `${i}.generatorURL in body must be of type uri: ${JSON.stringify(alert.generatorURL)}`);
    }
    if (!alert || !labelled[i]) throw validationError(REQUIRED_CODE, `${i}.labels in body is required`);
    return alert;
  });
}

/**
 * Decodes the body of `POST /api/v2/silences` (`postableSilence`): the id
 * first, then the silence, then the required fields in the generated
 * validator's order (comment, createdBy, endsAt, matchers, startsAt).
 */
export function decodePostableSilence(text: string): PostableSilence {
  const what = "silence";
  const body = parseJSON(text, what);
  if (!isObject(body)) throw parseError(what, `json: cannot unmarshal ${jsonType(body)} into Go value of type ${SILENCE_ID_STRUCT}`);
  const idPass = new StructDecoder(what);
  const id = idPass.string(body.id, ".id");
  idPass.finish();
  const d = new StructDecoder(what);
  const comment = d.string(body.comment, "Silence.comment");
  const createdBy = d.string(body.createdBy, "Silence.createdBy");
  const endsAt = d.time(body.endsAt, "Silence.endsAt");
  let matchers: (Partial<SilenceMatcher> | undefined)[] | undefined;
  if (Array.isArray(body.matchers)) {
    matchers = body.matchers.map((m: unknown) => {
      if (m === null) return undefined;
      if (!isObject(m)) {
        d.mismatch(m, "Silence.matchers", "models.Matcher");
        return undefined;
      }
      return {
        isEqual: d.bool(m.isEqual, "Matcher.matchers.isEqual"),
        isRegex: d.bool(m.isRegex, "Matcher.matchers.isRegex"),
        name: d.string(m.name, "Matcher.matchers.name"),
        value: d.string(m.value, "Matcher.matchers.value"),
      };
    });
  } else if (body.matchers !== undefined && body.matchers !== null) {
    d.mismatch(body.matchers, "Silence.matchers", "models.Matchers");
  }
  const startsAt = d.time(body.startsAt, "Silence.startsAt");
  d.finish();
  if (comment === undefined) throw validationError(REQUIRED_CODE, "comment in body is required");
  if (createdBy === undefined) throw validationError(REQUIRED_CODE, "createdBy in body is required");
  if (endsAt === undefined) throw validationError(REQUIRED_CODE, "endsAt in body is required");
  if (matchers === undefined) throw validationError(REQUIRED_CODE, "matchers in body is required");
  if (matchers.length === 0) throw validationError(MIN_ITEMS_CODE, "matchers in body should have at least 1 items");
  const checked = matchers.map((m, i): SilenceMatcher => {
    for (const field of ["isRegex", "name", "value"] as const) {
      if (m?.[field] === undefined) throw validationError(REQUIRED_CODE, `matchers.${i}.${field} in body is required`);
    }
    return { name: m!.name!, value: m!.value!, isRegex: m!.isRegex!, isEqual: m!.isEqual ?? true };
  });
  if (startsAt === undefined) throw validationError(REQUIRED_CODE, "startsAt in body is required");
  return { ...(id !== undefined && id !== "" ? { id } : {}), matchers: checked, startsAt, endsAt, createdBy, comment };
}

const TRUE_WORDS = new Set(["true", "1", "yes", "y", "on", "t", "ok", "selected", "checked", "enabled"]);

/**
 * A boolean query parameter as go-openapi's swag.ConvertBool reads it:
 * absent or empty gives `fallback`, one of its true words true, anything
 * else false (never an error).
 *
 * @example queryBool("maybe", true) // false
 */
export function queryBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  return TRUE_WORDS.has(value.toLowerCase());
}

/** Alertmanager 0.25's `labels.ParseMatcher` pattern (Go's \s is [\t\n\f\r ]). */
const FILTER_RE = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/;

/**
 * One `filter` parameter as Alertmanager's `labels.ParseMatcher` reads it:
 * an unquoted label name, an operator and a value that may be wrapped in
 * double quotes (`\"`, `\\` and `\n` escapes). Throws Error with its messages.
 *
 * @example parseFilterMatcher('team = "db"') // team="db"
 */
export function parseFilterMatcher(text: string): Matcher {
  const m = FILTER_RE.exec(text);
  if (!m) throw new Error(`bad matcher format: ${text}`);
  const [, name, op, raw] = m as unknown as [string, string, MatchType, string];
  const quoted = raw.startsWith('"');
  const body = quoted ? raw.slice(1) : raw;
  const unescapedQuote = () => new Error(`matcher value contains unescaped double quote: ${raw}`);
  let value = "";
  let expectTrailingQuote = quoted;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\" && i < body.length - 1) {
      const next = body[++i]!;
      value += next === "n" ? "\n" : next === '"' || next === "\\" ? next : `\\${next}`;
    } else if (c === '"') {
      if (!expectTrailingQuote || i < body.length - 1) throw unescapedQuote();
      expectTrailingQuote = false;
    } else {
      value += c;
    }
  }
  if (expectTrailingQuote) throw unescapedQuote();
  // Go's regexp error, naming the anchored expression Alertmanager compiles.
  if (op === "=~" || op === "!~") translateRE2(`^(?:${value})$`);
  return newMatcher(op, name, value);
}

/** The `filter` parameters, one matcher each; a bad one answers 400 with Alertmanager's message. */
export function queryMatchers(filters: readonly string[]): Matcher[] {
  return filters.map((f) => {
    try {
      return parseFilterMatcher(f);
    } catch (e) {
      throw new APIError(400, (e as Error).message);
    }
  });
}

/**
 * The `receiver` parameter as an anchored regex; a bad one answers 400
 * `failed to parse receiver param: …`.
 */
export function queryReceiver(value: string | undefined): RE2Regexp | undefined {
  if (value === undefined) return undefined;
  try {
    return compileRE2(value); // anchored as Alertmanager compiles it: ^(?:value)$
  } catch (e) {
    throw new APIError(400, `failed to parse receiver param: ${(e as Error).message}`);
  }
}

const UUID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

/** Checks the `silenceID` path parameter is a UUID (422 otherwise, as go-swagger does). */
export function pathSilenceID(id: string): string {
  if (!UUID_RE.test(id)) throw validationError(INVALID_TYPE_CODE, `silenceID in path must be of type uuid: ${JSON.stringify(id)}`);
  return id;
}
