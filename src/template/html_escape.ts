/**
 * html/template's contextual auto-escaping, for Alertmanager's HTML
 * templates (e-mail bodies, Telegram in HTML mode): every value an action
 * prints is escaped for where it lands in the HTML the template text
 * builds — element text, a quoted attribute, a URL attribute (scheme
 * filter, then normalized), a `<script>` body — and HTML comments in the
 * template are dropped, as Go does.
 *
 * How: while executing, printed values are fenced with private-use
 * marker characters; afterwards one pass over the output tracks the HTML
 * state of the literal template text around them and escapes each fenced
 * value for that state. Values typed safe by `safeHtml` / `safeUrl` carry
 * their own markers and skip the escaping their type vouches for.
 *
 * @example
 * await set.executeHTML("t", { u: "javascript:x", s: "<b>" }) // <a href="#ZgotmplZ">&lt;b&gt;</a>
 */
import { htmlEscape } from "./funcs.ts";

const VALUE_START = "\uE000";
const VALUE_END = "\uE001";
const SAFE_HTML_START = "\uE002";
const SAFE_HTML_END = "\uE003";
const SAFE_URL_START = "\uE004";
const SAFE_URL_END = "\uE005";
const MARKERS = /[\uE000-\uE005]/g;

/** Fences one printed value (markers inside it are removed, so values cannot forge them). */
export function markPrinted(_value: unknown, text: string): string {
  return VALUE_START + keepSafeMarkers(text) + VALUE_END;
}

/** Safe markers survive inside a value only as whole pairs produced by safeHtml/safeUrl. */
function keepSafeMarkers(text: string): string {
  return text.replace(/[\uE000\uE001]/g, "");
}

/** `safeHtml` in HTML mode: the value is trusted HTML in element text. */
export function markSafeHTML(s: string): string {
  return SAFE_HTML_START + s.replace(MARKERS, "") + SAFE_HTML_END;
}

/** `safeUrl` in HTML mode: the value skips the URL scheme filter. */
export function markSafeURL(s: string): string {
  return SAFE_URL_START + s.replace(MARKERS, "") + SAFE_URL_END;
}

/** Go's htmlEscaper (also used for attribute values): NUL, quotes, &, +, < and >. */
export function htmlContextEscape(s: string): string {
  return htmlEscape(s).replace(/\+/g, "&#43;");
}

const URL_ATTRS = new Set(["href", "src", "action", "cite", "formaction", "poster", "background", "longdesc", "usemap", "codebase", "data", "manifest", "profile", "icon", "xmlns"]);

/** Go's urlNormalizer: percent-encodes what may not appear in a URL, keeping reserved characters and existing escapes. */
export function normalizeURL(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~!#$&*+,/:;=?@[\]%()']/.test(c) && b < 0x80) out += c;
    else out += "%" + b.toString(16).padStart(2, "0");
  }
  return out;
}

/** Go's urlFilter: only http, https and mailto schemes (or none) pass; others become `#ZgotmplZ`. */
function filterURL(s: string): string {
  const colon = s.indexOf(":");
  if (colon >= 0 && !/[/?#]/.test(s.slice(0, colon))) {
    const scheme = s.slice(0, colon).toLowerCase();
    if (scheme !== "http" && scheme !== "https" && scheme !== "mailto") return "#ZgotmplZ";
  }
  return s;
}

/** A JavaScript value for a `<script>` body: a quoted string with HTML-significant characters escaped. */
function jsValue(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

type State = "text" | "tag" | "attrName" | "afterEq" | "attrValue" | "rawText" | "rcdata";

/** Splits a fenced value into its plain and safe parts. */
function parts(value: string): { text: string; safe: "" | "html" | "url" }[] {
  const out: { text: string; safe: "" | "html" | "url" }[] = [];
  const re = /\uE002([^]*?)\uE003|\uE004([^]*?)\uE005/g;
  let last = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    if (m.index > last) out.push({ text: value.slice(last, m.index), safe: "" });
    out.push(m[1] !== undefined ? { text: m[1], safe: "html" } : { text: m[2]!, safe: "url" });
    last = re.lastIndex;
  }
  if (last < value.length) out.push({ text: value.slice(last), safe: "" });
  return out;
}

/**
 * Resolves the fences left by an execution with {@link markPrinted}:
 * escapes each value for its HTML context and drops HTML comments.
 */
export function escapeMarkedHTML(output: string): string {
  let out = "";
  let state: State = "text";
  let tagName = "";
  let readingTagName = false;
  let attrName = "";
  let quote = "";
  let attrStart = 0;
  let rawEnd = "";
  let i = 0;
  while (i < output.length) {
    const c = output[i]!;
    if (c === VALUE_START) {
      const end = output.indexOf(VALUE_END, i + 1);
      const value = output.slice(i + 1, end < 0 ? output.length : end);
      i = end < 0 ? output.length : end + 1;
      const inQuery = state === "attrValue" && /[?#]/.test(out.slice(attrStart));
      out += escapeValue(value, state, attrName, out.length === attrStart, inQuery);
      if (state === "afterEq") {
        state = "attrValue";
        quote = "";
      }
      continue;
    }
    if (c === SAFE_HTML_START || c === SAFE_HTML_END || c === SAFE_URL_START || c === SAFE_URL_END || c === VALUE_END) {
      i++;
      continue;
    }
    switch (state) {
      case "text":
      case "rcdata":
        if (state === "text" && output.startsWith("<!--", i)) {
          const end = output.indexOf("-->", i + 4);
          i = end < 0 ? output.length : end + 3;
          continue;
        }
        if (c === "<") {
          const m = /^<\/?([A-Za-z][A-Za-z0-9-]*)/.exec(output.slice(i, i + 64));
          if (state === "rcdata" && !(m && m[0].startsWith("</") && m[1]!.toLowerCase() === rawEnd)) break;
          if (m) {
            state = "tag";
            tagName = m[0].startsWith("</") ? "" : m[1]!.toLowerCase();
            readingTagName = false;
            out += m[0];
            i += m[0].length;
            continue;
          }
        }
        break;
      case "rawText":
        if (output.startsWith(`</${rawEnd}`, i) || output.slice(i, i + rawEnd.length + 2).toLowerCase() === `</${rawEnd}`) {
          state = "tag";
          tagName = "";
        }
        break;
      case "tag":
        if (c === ">") {
          out += c;
          i++;
          if (tagName === "script" || tagName === "style") {
            state = "rawText";
            rawEnd = tagName;
          } else if (tagName === "title" || tagName === "textarea") {
            state = "rcdata";
            rawEnd = tagName;
          } else {
            state = "text";
          }
          continue;
        }
        if (/[A-Za-z_:@-]/.test(c)) {
          state = "attrName";
          attrName = c;
        }
        void readingTagName;
        break;
      case "attrName":
        if (c === "=") state = "afterEq";
        else if (/\s/.test(c)) state = "tag";
        else if (c === ">") {
          state = "tag";
          continue;
        } else attrName += c;
        if (state !== "attrName") attrName = attrName.toLowerCase();
        break;
      case "afterEq":
        if (c === '"' || c === "'") {
          quote = c;
          state = "attrValue";
          out += c;
          i++;
          attrStart = out.length;
          continue;
        }
        if (!/\s/.test(c)) {
          quote = "";
          state = "attrValue";
          attrStart = out.length;
        }
        break;
      case "attrValue":
        if ((quote && c === quote) || (!quote && (/\s/.test(c) || c === ">"))) {
          state = "tag";
          attrName = "";
          if (!quote) continue;
        }
        break;
    }
    out += c;
    i++;
  }
  return out;
}

/** Go's urlEscaper, for values in a URL's query or fragment: everything but unreserved characters is percent-encoded. */
function escapeURLPart(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && /[A-Za-z0-9\-._~]/.test(c) ? c : "%" + b.toString(16).toLowerCase().padStart(2, "0");
  }
  return out;
}

function escapeValue(value: string, state: State, attrName: string, atAttrStart: boolean, inQuery: boolean): string {
  let out = "";
  for (const p of parts(value)) {
    switch (state) {
      case "text":
        out += p.safe === "html" ? p.text : htmlContextEscape(p.text);
        break;
      case "rcdata":
        out += htmlContextEscape(p.text);
        break;
      case "rawText":
        out += jsValue(p.text);
        break;
      case "attrValue":
      case "afterEq":
        if (URL_ATTRS.has(attrName) || attrName.startsWith("on") === false && attrName.endsWith("url")) {
          const filtered = p.safe === "url" || !atAttrStart || out !== "" ? p.text : filterURL(p.text);
          out += htmlContextEscape(inQuery ? escapeURLPart(filtered) : normalizeURL(filtered));
        } else {
          out += htmlContextEscape(p.text);
        }
        break;
      default:
        // Inside a tag but not in an attribute value: Go rejects most of these; keep the value inert.
        out += htmlContextEscape(p.text).replace(/[\s=]/g, "");
    }
  }
  return out;
}
