/**
 * Go's spelling of strings: strconv.Quote (`%q`), and UTF-8 decoding that
 * keeps invalid bytes visible, so errors can quote input the way
 * Prometheus's and the Pushgateway's Go code prints it.
 */

/**
 * Quotes a string like Go's strconv.Quote: double quotes, `\"` and `\\`,
 * named escapes for control characters, `\x`/`\u` for other non-printables.
 *
 * @example
 * goQuote('a"b\n'); // "\"a\\\"b\\n\""
 */
export function goQuote(s: string): string {
  let out = '"';
  let plainFrom = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 34 && c !== 92) continue;
    if (c >= 0xa0 && c !== 0xad && !(c >= 0xd800 && c <= 0xdfff) && c !== 0x2028 && c !== 0x2029 && c !== 0xfeff) continue;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        i++;
        continue;
      }
    }
    out += s.slice(plainFrom, i);
    plainFrom = i + 1;
    switch (c) {
      case 34: out += '\\"'; break;
      case 92: out += "\\\\"; break;
      case 7: out += "\\a"; break;
      case 8: out += "\\b"; break;
      case 12: out += "\\f"; break;
      case 10: out += "\\n"; break;
      case 13: out += "\\r"; break;
      case 9: out += "\\t"; break;
      case 11: out += "\\v"; break;
      default:
        if (c < 0x80) out += `\\x${c.toString(16).padStart(2, "0")}`;
        else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16)}`;
        else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
        else out += `\\u${c.toString(16).padStart(4, "0")}`;
    }
  }
  return out + s.slice(plainFrom) + '"';
}

/**
 * Decodes UTF-8 bytes; each byte that is not part of a valid sequence becomes
 * the lone surrogate U+DC00+byte. So a Go string with invalid UTF-8 (e.g.
 * from `"\xff"`) survives as a JS string that is detectably not well-formed
 * (`!s.isWellFormed()`), and `goQuote` prints those bytes back as `\xNN`.
 */
export function decodeUTF8Escaping(bytes: ArrayLike<number>): string {
  let out = "";
  const n = bytes.length;
  const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => i < n && bytes[i] >= lo && bytes[i] <= hi;
  for (let i = 0; i < n;) {
    const b = bytes[i];
    let cp = -1;
    let len = 1;
    if (b < 0x80) {
      cp = b;
    } else if (b >= 0xc2 && b <= 0xdf && cont(i + 1)) {
      cp = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      const lo = b === 0xe0 ? 0xa0 : 0x80;
      const hi = b === 0xed ? 0x9f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2)) {
        cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
        len = 3;
      }
    } else if (b >= 0xf0 && b <= 0xf4) {
      const lo = b === 0xf0 ? 0x90 : 0x80;
      const hi = b === 0xf4 ? 0x8f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3)) {
        cp = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
        len = 4;
      }
    }
    out += cp < 0 ? String.fromCharCode(0xdc00 + b) : String.fromCodePoint(cp);
    i += len;
  }
  return out;
}
