/**
 * The base room's door: a leaf every other room may import (it imports no
 * room). It holds the spellings shared across rooms: Prometheus durations
 * and byte sizes, Go's float formatting (strconv.FormatFloat), RE2's
 * QuoteMeta and `$1` expansion, strconv.Quote, and bounded reading of HTTP
 * bodies.
 */
export { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";
export { formatGoFloat, formatGoFloatE, formatGoFloatF, formatGoFloatG, type GoFloatFormat } from "./gofloat.ts";
export { expandRegexpTemplate, quoteMeta, type RegexpGroups } from "./regexp_text.ts";
export { readBoundedBytes, readBoundedText } from "./body.ts";
export { writeFileAtomic } from "./files.ts";
export { ownString } from "./strings.ts";
export { checkCBOR, type CBORLimits } from "./cbor_check.ts";
export { decodeUTF8Escaping, goQuote } from "./gostrings.ts";
