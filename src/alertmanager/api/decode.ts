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
import { labelsFromPairs, type Labels } from "../../model/index.ts";
import { parseMatcher, type PostableAlert, type PostableSilence, type SilenceMatcher } from "../index.ts";
import type { Matcher } from "../../model/index.ts";

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
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time (what `strfmt.DateTime` accepts) to Unix
 * milliseconds; "" and Go's zero time give 0 (unset). Returns undefined
 * for anything else.
 *
 * @example parseDateTime("2024-01-01T00:00:00.5+01:00") // Date.UTC(2023, 11, 31, 23, 0, 0, 500)
 */
export function parseDateTime(text: string): number | undefined {
  if (text === "") return 0;
  const m = DATE_TIME_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om] = m;
  const millis = (frac ?? "").padEnd(3, "0").slice(0, 3);
  let ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}Z`);
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(d)) return undefined;
  if (sign) ms -= (sign === "+" ? 1 : -1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return ms === GO_ZERO_TIME ? 0 : ms;
}

/** Decodes a JSON body, mapping syntax errors to go-swagger's parse error. */
function parseJSON(text: string, what: string): unknown {
  if (text.trim() === "") throw validationError(REQUIRED_CODE, `${what} in body is required`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw parseError(what, `invalid JSON: ${(e as Error).message}`);
  }
}

/** A label set (`labelSet`: object of strings); `field` names it in errors. */
function decodeLabelSet(v: unknown, what: string, field: string, model: string): Labels {
  if (!isObject(v)) throw parseError(what, `json: cannot unmarshal ${jsonType(v)} into Go struct field ${model}.${field} of type models.LabelSet`);
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(v)) {
    if (typeof value !== "string") {
      throw parseError(what, `json: cannot unmarshal ${jsonType(value)} into Go struct field ${model}.${field} of type string`);
    }
    pairs.push([name, value]);
  }
  return labelsFromPairs(pairs);
}

function decodeTime(v: unknown, what: string, field: string): number {
  if (typeof v !== "string") throw parseError(what, `json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type strfmt.DateTime`);
  const ms = parseDateTime(v);
  if (ms === undefined) throw parseError(what, `parsing time ${JSON.stringify(v)}: not an RFC 3339 date-time (${field})`);
  return ms;
}

function decodeString(v: unknown, what: string, field: string): string {
  if (typeof v !== "string") throw parseError(what, `json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type string`);
  return v;
}

function decodeBool(v: unknown, what: string, field: string): boolean {
  if (typeof v !== "boolean") throw parseError(what, `json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type bool`);
  return v;
}

/**
 * Decodes the body of `POST /api/v2/alerts` (`postableAlerts`). Label
 * names are not checked here: that is the alert validation's job, which
 * answers 400 per alert.
 */
export function decodePostableAlerts(text: string): PostableAlert[] {
  const what = "alerts";
  const body = parseJSON(text, what);
  if (!Array.isArray(body)) throw parseError(what, `json: cannot unmarshal ${jsonType(body)} into Go value of type models.PostableAlerts`);
  return body.map((item, i): PostableAlert => {
    if (item === null) throw validationError(REQUIRED_CODE, `${i}.labels in body is required`);
    if (!isObject(item)) throw parseError(what, `json: cannot unmarshal ${jsonType(item)} into Go value of type models.PostableAlert`);
    const alert: PostableAlert = { labels: [] };
    if (item.annotations !== undefined && item.annotations !== null) {
      alert.annotations = decodeLabelSet(item.annotations, what, "annotations", "PostableAlert");
    }
    if (item.endsAt !== undefined && item.endsAt !== null) alert.endsAt = decodeTime(item.endsAt, what, "PostableAlert.endsAt");
    if (item.startsAt !== undefined && item.startsAt !== null) alert.startsAt = decodeTime(item.startsAt, what, "PostableAlert.startsAt");
    if (item.generatorURL !== undefined && item.generatorURL !== null) {
      alert.generatorURL = decodeString(item.generatorURL, what, "PostableAlert.generatorURL");
    }
    if (item.labels === undefined || item.labels === null) throw validationError(REQUIRED_CODE, `${i}.labels in body is required`);
    alert.labels = decodeLabelSet(item.labels, what, "labels", "PostableAlert");
    return alert;
  });
}

/**
 * Decodes the body of `POST /api/v2/silences` (`postableSilence`),
 * checking required fields in the generated validator's order (comment,
 * createdBy, endsAt, matchers, startsAt).
 */
export function decodePostableSilence(text: string): PostableSilence {
  const what = "silence";
  const body = parseJSON(text, what);
  if (!isObject(body)) throw parseError(what, `json: cannot unmarshal ${jsonType(body)} into Go value of type models.PostableSilence`);
  const present = (k: string) => body[k] !== undefined && body[k] !== null;
  const id = present("id") ? decodeString(body.id, what, "PostableSilence.id") : undefined;
  for (const field of ["comment", "createdBy", "endsAt", "matchers", "startsAt"]) {
    if (!present(field)) throw validationError(REQUIRED_CODE, `${field} in body is required`);
  }
  const comment = decodeString(body.comment, what, "PostableSilence.comment");
  const createdBy = decodeString(body.createdBy, what, "PostableSilence.createdBy");
  const endsAt = decodeTime(body.endsAt, what, "PostableSilence.endsAt");
  if (!Array.isArray(body.matchers)) {
    throw parseError(what, `json: cannot unmarshal ${jsonType(body.matchers)} into Go struct field PostableSilence.matchers of type models.Matchers`);
  }
  if (body.matchers.length === 0) throw validationError(MIN_ITEMS_CODE, "matchers in body should have at least 1 items");
  const matchers = body.matchers.map((m: unknown, i: number): SilenceMatcher => {
    if (!isObject(m)) throw parseError(what, `json: cannot unmarshal ${jsonType(m)} into Go struct field PostableSilence.matchers of type models.Matcher`);
    for (const field of ["isRegex", "name", "value"]) {
      if (m[field] === undefined || m[field] === null) throw validationError(REQUIRED_CODE, `matchers.${i}.${field} in body is required`);
    }
    return {
      name: decodeString(m.name, what, "Matcher.name"),
      value: decodeString(m.value, what, "Matcher.value"),
      isRegex: decodeBool(m.isRegex, what, "Matcher.isRegex"),
      isEqual: m.isEqual === undefined || m.isEqual === null ? true : decodeBool(m.isEqual, what, "Matcher.isEqual"),
    };
  });
  const startsAt = decodeTime(body.startsAt, what, "PostableSilence.startsAt");
  return { ...(id !== undefined && id !== "" ? { id } : {}), matchers, startsAt, endsAt, createdBy, comment };
}

const TRUE_WORDS = new Set(["true", "1", "yes", "y", "on", "t", "ok", "selected", "checked", "enabled"]);
const FALSE_WORDS = new Set(["false", "0", "no", "n", "off", "f", "disabled", ""]);

/**
 * A boolean query parameter (go-openapi's swag.ConvertBool words); absent
 * gives `fallback`, anything else is a 422 naming the parameter.
 */
export function queryBool(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw validationError(INVALID_TYPE_CODE, `${name} in query must be of type bool: ${JSON.stringify(value)}`);
}

/** The `filter` parameters, one matcher each; a bad one answers 400 with the parser's message. */
export function queryMatchers(filters: readonly string[]): Matcher[] {
  return filters.map((f) => {
    try {
      return parseMatcher(f);
    } catch (e) {
      throw new APIError(400, (e as Error).message);
    }
  });
}

/**
 * The `receiver` parameter as an anchored regex; a bad one answers 400
 * `failed to parse receiver param: …`.
 */
export function queryReceiver(value: string | undefined): RegExp | undefined {
  if (value === undefined) return undefined;
  try {
    return new RegExp(`^(?:${value})$`);
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
