import { describe, expect, test } from "bun:test";
import { expandRegexpTemplate, quoteMeta } from "../../src/base/index.ts";
import { getLabel } from "../../src/model/index.ts";
import { Engine } from "../../src/promql/index.ts";
import { MemStorage } from "../promql/promqltest_storage.ts";

const m = /^(?<host>[a-z]+):(\d+)$/.exec("web:8080")!;

// Expected strings are what Go's regexp.Expand / QuoteMeta give for the same template and match.
describe("expandRegexpTemplate (Go's Regexp.Expand)", () => {
  test("numbers, names, braces and $$", () => {
    expect(expandRegexpTemplate("$1", m)).toBe("web");
    expect(expandRegexpTemplate("${1}-${2}", m)).toBe("web-8080");
    expect(expandRegexpTemplate("$host.example:$2", m)).toBe("web.example:8080");
    expect(expandRegexpTemplate("${host}.example:$2", m)).toBe("web.example:8080");
    expect(expandRegexpTemplate("$$1 costs $$", m)).toBe("$1 costs $");
    expect(expandRegexpTemplate("no references", m)).toBe("no references");
  });

  test("Go's edge cases: longest name, leading zeros, huge numbers, malformed references", () => {
    expect(expandRegexpTemplate("$1x", m)).toBe("");
    expect(expandRegexpTemplate("$01", m)).toBe("");
    expect(expandRegexpTemplate("$123456789", m)).toBe("");
    expect(expandRegexpTemplate("$9", m)).toBe("");
    expect(expandRegexpTemplate("a$", m)).toBe("a$");
    expect(expandRegexpTemplate("${1", m)).toBe("${1");
    expect(expandRegexpTemplate("$-", m)).toBe("$-");
    expect(expandRegexpTemplate("${}", m)).toBe("${}");
    expect(expandRegexpTemplate("$é", /(?<é>x)/u.exec("x")!)).toBe("x");
  });
});

describe("quoteMeta (Go's regexp.QuoteMeta)", () => {
  test("escapes exactly Go's metacharacters", () => {
    expect(quoteMeta("a.b*c+d?e(f)g|h[i]j{k}l^m$n\\o")).toBe("a\\.b\\*c\\+d\\?e\\(f\\)g\\|h\\[i\\]j\\{k\\}l\\^m\\$n\\\\o");
    expect(quoteMeta("plain-text_0:/")).toBe("plain-text_0:/");
    expect(new RegExp(`^${quoteMeta("1.5+x")}$`).test("1.5+x")).toBe(true);
  });
});

test("label_replace expands as Go does: a leading-zero reference is a name", async () => {
  const storage = new MemStorage();
  const res = await new Engine().instantQuery(() => storage.querier(), 'label_replace(label_replace(vector(1), "src", "ab", "", ""), "dst", "[$01|$1]", "src", "(.*)")', 0);
  if (res.value.type !== "vector") throw new Error(`expected a vector, got ${res.value.type}`);
  expect(res.value.samples.map((s) => getLabel(s.metric, "dst"))).toEqual(["[|ab]"]);
});
