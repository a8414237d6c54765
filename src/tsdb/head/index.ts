/**
 * The head: in-memory series, postings and open chunks backed by the WAL.
 * See {@link Head}.
 *
 * @example
 * const head = await Head.open({ dir: "data", registry });
 * const app = head.appender();
 */
export { APPEND_ERRORS, DEFAULT_CHUNK_RANGE, DEFAULT_MAX_REF, Head, type HeadFootprint, type HeadOptions } from "./head.ts";
export { literalAlternatives, postingsForMatchers } from "./matching.ts";
export { MemPostings, intersectPostings, mergePostings, withoutPostings, type PostingsEntry } from "./postings.ts";
export { postingsStats, type CardinalityStat, type TSDBHeadStats, type TSDBStats } from "./stats.ts";
