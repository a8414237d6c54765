/** html/template-style contextual escaping of printed values (TemplateSet.executeHTML). */
import { expect, test } from "bun:test";
import { alertmanagerFuncs, TemplateSet } from "../../src/template/index.ts";

async function html(text: string, data: unknown): Promise<string> {
  return new TemplateSet(alertmanagerFuncs()).parse("t", text).executeHTML("t", data);
}

test("element text and attributes are HTML-escaped as Go's htmlEscaper does", async () => {
  expect(await html("<p>{{ .s }}</p>", { s: `<b>"x" & 'y' 1+1</b>` })).toBe("<p>&lt;b&gt;&#34;x&#34; &amp; &#39;y&#39; 1&#43;1&lt;/b&gt;</p>");
  expect(await html(`<td title="{{ .s }}">`, { s: `a"b` })).toBe(`<td title="a&#34;b">`);
  expect(await html("<title>{{ .s }}</title>", { s: "<x>" })).toBe("<title>&lt;x&gt;</title>");
});

test("URL attributes: scheme filter, normalization, query escaping", async () => {
  expect(await html(`<a href="{{ .u }}">`, { u: "javascript:alert(1)" })).toBe(`<a href="#ZgotmplZ">`);
  expect(await html(`<a href="{{ .u }}">`, { u: "http://a/b c?x=1&y=<2>" })).toBe(`<a href="http://a/b%20c?x=1&amp;y=%3c2%3e">`);
  expect(await html(`<a href="http://x/?q={{ .u }}">`, { u: "a b&c" })).toBe(`<a href="http://x/?q=a%20b%26c">`);
});

test("safeHtml output stays HTML; comments in the template are dropped; text mode is untouched", async () => {
  expect(await html("<!-- note {{ .s }} --><p>{{ safeHtml .s }}</p>", { s: "<b>x</b>" })).toBe("<p><b>x</b></p>");
  const set = new TemplateSet(alertmanagerFuncs()).parse("t", "<p>{{ .s }}</p>");
  expect(await set.execute("t", { s: "<b>" })).toBe("<p><b></p>");
});
