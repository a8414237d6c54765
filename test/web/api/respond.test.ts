import { describe, expect, test } from "bun:test";
import { EvalError, parseExpr, QueryTimeoutError, TooManySamplesError } from "../../../src/promql/index.ts";
import { capAnnotations, queryError } from "../../../src/web/api/query.ts";
import { ApiError, errorResponse, invalidParam, successResponse } from "../../../src/web/api/respond.ts";

function parseErrorOf(q: string): unknown {
  try {
    parseExpr(q);
  } catch (e) {
    return e;
  }
  throw new Error(`${q} parsed`);
}

describe("error mapping", () => {
  const cases: [string, unknown, string, number, string][] = [
    ["parse error", parseErrorOf("1 +"), "bad_data", 400, 'invalid parameter "query": 1:4: parse error: unexpected end of input'],
    ["timeout", new QueryTimeoutError(), "timeout", 503, "query timed out in expression evaluation"],
    ["too many samples", new TooManySamplesError(), "execution", 422, "query processing would load too many samples into memory in query execution"],
    ["evaluation error", new EvalError("boom"), "execution", 422, "boom"],
    ["unexpected exception", new TypeError("x is undefined"), "internal", 500, "x is undefined"],
  ];
  for (const [name, err, type, status, message] of cases) {
    test(name, async () => {
      const apiErr = queryError(err);
      expect(apiErr.type).toBe(type as ApiError["type"]);
      expect(apiErr.status).toBe(status);
      expect(apiErr.message).toBe(message);
      const res = errorResponse(apiErr);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ status: "error", errorType: type, error: message });
    });
  }
  test("ApiErrors pass through unchanged", () => {
    const e = new ApiError("not_found", "gone");
    expect(queryError(e)).toBe(e);
    expect(e.status).toBe(404);
  });
  test("invalidParam wording", () => {
    expect(invalidParam("step", new Error("bad")).message).toBe('invalid parameter "step": bad');
  });
});

describe("success envelope", () => {
  test("warnings and infos only when non-empty, in Prometheus's field order", async () => {
    expect(await successResponse("1").text()).toBe('{"status":"success","data":1}');
    expect(await successResponse("1", { warnings: [], infos: [] }).text()).toBe('{"status":"success","data":1}');
    expect(await successResponse("[]", { warnings: ["w<"], infos: ["i"] }).text()).toBe('{"status":"success","data":[],"warnings":["w\\u003c"],"infos":["i"]}');
  });
});

describe("capAnnotations", () => {
  test("keeps ten and summarises the rest", () => {
    const many = Array.from({ length: 13 }, (_, i) => `PromQL info: ${i}`);
    const capped = capAnnotations(many, "info");
    expect(capped).toHaveLength(11);
    expect(capped[9]).toBe("PromQL info: 9");
    expect(capped[10]).toBe("3 more info annotations omitted");
    expect(capAnnotations(many.slice(0, 10), "warning")).toEqual(many.slice(0, 10));
  });
});
