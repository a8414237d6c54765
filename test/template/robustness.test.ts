import { expect, test } from "bun:test";
import { asStringMap, expandTemplate, prometheusFuncs, TemplateError } from "../../src/template/index.ts";

const PIECES = [
  "{{", "}}", "{{-", "-}}", " ", "\n", ".", ".a", ".b.c", "$", "$x", ":=", "=", "|", "(", ")", '"s"', "`r`", "'c'", "1", "-2", "1.5",
  "0x1f", "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil", "true", "and", "or", "not",
  "len", "index", "slice", "printf", "print", "eq", "lt", "call", "html", "js", "humanize", "query", "first", "title", "match",
  "reReplaceAll", '"%d %s %v %.2f"', "/*", "*/", ",", "#", "}", "{", "\\", '"\\x"', "é", "😀",
];

test("random template text fails only with TemplateError", async () => {
  let seed = 20240601;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const funcs = prometheusFuncs({ query: async () => [{ labels: { a: "b" }, value: 1 }] });
  const data = { a: 1.5, b: { c: [1n, "x"] }, l: asStringMap({ a: "b" }) };
  let succeeded = 0;
  let failed = 0;
  for (let i = 0; i < 3000; i++) {
    let text = "";
    const n = 1 + Math.floor(rnd() * 14);
    for (let j = 0; j < n; j++) text += PIECES[Math.floor(rnd() * PIECES.length)];
    if (rnd() < 0.5) text = `{{ ${text} }}`;
    try {
      await expandTemplate("f", text, data, funcs);
      succeeded++;
    } catch (e) {
      if (!(e instanceof TemplateError)) throw new Error(`${JSON.stringify(text)} threw ${String(e)}`);
      expect(e.message.startsWith("template: f")).toBe(true);
      failed++;
    }
  }
  expect(succeeded).toBeGreaterThan(100);
  expect(failed).toBeGreaterThan(100);
});
