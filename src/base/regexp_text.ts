/**
 * The text side of Go's regexp package, written once for every room that
 * needs it: QuoteMeta, and the `$1` / `${name}` expansion of
 * Regexp.Expand (relabeling's replacement and target_label, PromQL's
 * label_replace, templates' reReplaceAll). Independent of the regex engine:
 * expansion reads the groups of a match however it was found.
 */

/** A match as expansion reads it: group `i` at `[i]` (undefined when it did not take part), named groups by name. */
export interface RegexpGroups {
  readonly [index: number]: string | undefined;
  readonly groups?: Readonly<Record<string, string | undefined>>;
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Go's `regexp.QuoteMeta`: escapes every regexp metacharacter.
 *
 * @example quoteMeta("a.b") // "a\\.b"
 */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/**
 * Expands a Go regexp template against a match, as `Regexp.Expand`: `$1`,
 * `${1}`, `$name`, `${name}`, `$$`. A name is the longest run of letters,
 * digits and `_` (`$1x` is the group named "1x"); a number with a leading
 * zero or of more than 8 digits is a name; unknown and out-of-range
 * references expand to ""; a malformed reference leaves the `$` as text.
 *
 * @example
 * expandRegexpTemplate("x-${1}-$2", /^(a)(b)$/.exec("ab")!); // "x-a-b"
 */
export function expandRegexpTemplate(template: string, m: RegexpGroups): string {
  if (!template.includes("$")) return template;
  let out = "";
  let rest = template;
  for (;;) {
    const d = rest.indexOf("$");
    if (d < 0) break;
    out += rest.slice(0, d);
    rest = rest.slice(d + 1);
    if (rest.startsWith("$")) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    let s = rest;
    const brace = s.startsWith("{");
    if (brace) s = s.slice(1);
    let i = 0;
    while (i < s.length) {
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      if (!NAME_CHAR.test(ch)) break;
      i += ch.length;
    }
    if (i === 0 || (brace && s[i] !== "}")) {
      out += "$";
      continue;
    }
    const name = s.slice(0, i);
    rest = s.slice(brace ? i + 1 : i);
    let num = -1;
    if (/^\d+$/.test(name) && !(name.length > 1 && name[0] === "0") && name.length <= 8) num = Number(name);
    if (num >= 0) out += m[num] ?? "";
    else out += m.groups?.[name] ?? "";
  }
  return out + rest;
}
