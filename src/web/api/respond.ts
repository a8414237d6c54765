/**
 * The API's response envelope and error kinds, as in Prometheus's
 * web/api/v1: `{"status":"success","data":…,"warnings":[…],"infos":[…]}` or
 * `{"status":"error","errorType":"bad_data","error":"…"}` with the HTTP
 * status that goes with the error type.
 */
import { goJSON, jsonString } from "./json.ts";

/** Prometheus's API error types. */
export type ApiErrorType = "bad_data" | "execution" | "timeout" | "canceled" | "internal" | "not_found" | "not_acceptable" | "unavailable";

const STATUS_BY_TYPE: Record<ApiErrorType, number> = {
  bad_data: 400,
  execution: 422,
  canceled: 499,
  timeout: 503,
  internal: 500,
  not_found: 404,
  not_acceptable: 406,
  unavailable: 503,
};

/**
 * An error an API handler answers with; its message is the `error` field.
 *
 * @example
 * throw new ApiError("bad_data", "no match[] parameter provided");
 */
export class ApiError extends Error {
  constructor(readonly type: ApiErrorType, message: string) {
    super(message);
    this.name = "ApiError";
  }

  /** The HTTP status code Prometheus uses for this error type. */
  get status(): number {
    return STATUS_BY_TYPE[this.type];
  }
}

/**
 * A `bad_data` error for a request parameter, worded as Prometheus's
 * invalidParamError: `invalid parameter "time": <cause>`.
 */
export function invalidParam(name: string, cause: unknown): ApiError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ApiError("bad_data", `invalid parameter ${JSON.stringify(name)}: ${message}`);
}

/** Notes that do not stop a request, rendered as the envelope's `warnings` and `infos`. */
export interface Annotations {
  warnings?: readonly string[];
  infos?: readonly string[];
}

const JSON_HEADERS = { "Content-Type": "application/json" };

/**
 * A success response around `dataJSON` (already-encoded JSON). `warnings` and
 * `infos` appear only when non-empty, as in Prometheus.
 */
export function successResponse(dataJSON: string, notes: Annotations = {}): Response {
  let body = `{"status":"success","data":${dataJSON}`;
  if (notes.warnings && notes.warnings.length > 0) body += `,"warnings":[${notes.warnings.map(jsonString).join(",")}]`;
  if (notes.infos && notes.infos.length > 0) body += `,"infos":[${notes.infos.map(jsonString).join(",")}]`;
  return new Response(body + "}", { status: 200, headers: JSON_HEADERS });
}

/** Bytes encoded per pull of a streamed body: small enough to keep each turn of the event loop short. */
const STREAM_CHUNK_CHARS = 256 * 1024;

/**
 * {@link successResponse} for data given as pieces of JSON text (see
 * queryDataJSONParts): the body is streamed, each pull encoding about
 * 256 KiB, so a result of tens of MB is never joined or encoded in one go.
 */
export function successResponseParts(dataParts: readonly string[], notes: Annotations = {}): Response {
  let tail = "";
  if (notes.warnings && notes.warnings.length > 0) tail += `,"warnings":[${notes.warnings.map(jsonString).join(",")}]`;
  if (notes.infos && notes.infos.length > 0) tail += `,"infos":[${notes.infos.map(jsonString).join(",")}]`;
  const pieces = [`{"status":"success","data":`, ...dataParts, `${tail}}`];
  let total = 0;
  for (const p of pieces) total += p.length;
  if (total <= STREAM_CHUNK_CHARS) return new Response(pieces.join(""), { status: 200, headers: JSON_HEADERS });
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next >= pieces.length) {
        controller.close();
        return;
      }
      const batch: string[] = [];
      let size = 0;
      while (next < pieces.length && (batch.length === 0 || size + pieces[next]!.length <= STREAM_CHUNK_CHARS)) {
        size += pieces[next]!.length;
        batch.push(pieces[next++]!);
      }
      controller.enqueue(encoder.encode(batch.join("")));
    },
  });
  return new Response(body, { status: 200, headers: JSON_HEADERS });
}

/** A success response whose data is a plain value encoded with Go's escaping. */
export function successValue(data: unknown, notes: Annotations = {}): Response {
  return successResponse(goJSON(data), notes);
}

/** The error envelope for `err` with its HTTP status. */
export function errorResponse(err: ApiError): Response {
  const body = `{"status":"error","errorType":"${err.type}","error":${jsonString(err.message)}}`;
  return new Response(body, { status: err.status, headers: JSON_HEADERS });
}
