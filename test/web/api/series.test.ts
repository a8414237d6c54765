import { describe, expect, test } from "bun:test";
import { labelNameFromPath, unescapeLabelName } from "../../../src/web/api/series.ts";

describe("unescapeLabelName", () => {
  const cases: [string, string][] = [
    ["job", "job"],
    ["U__a__b", "a_b"],
    ["U__foo_2e_bar", "foo.bar"],
    ["U___1f600_", "😀"],
    ["U__bad_zz_", "U__bad_zz_"],
    ["U__open_2e", "U__open_2e"],
    ["U___d800_", "U___d800_"],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => expect(unescapeLabelName(input)).toBe(want));
});

describe("labelNameFromPath", () => {
  test("decodes percent-encoded UTF-8", () => {
    expect(labelNameFromPath("job")).toBe("job");
    expect(labelNameFromPath("f%C3%BCr")).toBe("für");
    expect(labelNameFromPath("a%2Fb")).toBe("a/b");
    expect(labelNameFromPath("100%")).toBe("100%");
  });
  test("rejects invalid UTF-8 and empty names", () => {
    expect(() => labelNameFromPath("%C3")).toThrow('invalid label name: "\\xc3"');
    expect(() => labelNameFromPath("")).toThrow('invalid label name: ""');
  });
});
