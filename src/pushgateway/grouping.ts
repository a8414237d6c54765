/**
 * Grouping keys: `/metrics/job/<JOB>{/<LABEL_NAME>/<LABEL_VALUE>}`. A name
 * ending in `@base64` takes a base64url value (padding optional; `=` alone
 * is the empty value), so values may hold `/`. The job's value must not be
 * empty; later repeats of a label win; `job` in the label part is ignored in
 * favour of the job segment, as the Pushgateway does.
 *
 * @example
 * parseGroupingKey("some_job", "instance/host1");          // [["instance","host1"],["job","some_job"]]
 * parseGroupingKey("j", "path@base64/L3Zhci90bXA");        // [["job","j"],["path","/var/tmp"]]
 */
import { sortPairs, type Pair } from "./families.ts";

/** A grouping key the Pushgateway refuses (answered with 400 and this message). */
export class GroupingKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GroupingKeyError";
  }
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes base64url without padding checks beyond the alphabet, as Go's RawURLEncoding after trimming '='. */
export function decodeBase64URL(text: string, what: string): string {
  const s = text.replace(/=+$/, "");
  if (!B64URL.test(s)) {
    const bad = [...s].findIndex((c) => !/[A-Za-z0-9_-]/.test(c));
    throw new GroupingKeyError(`invalid base64 encoding for ${what}: illegal base64 data at input byte ${bad}`);
  }
  if (s.length % 4 === 1) throw new GroupingKeyError(`invalid base64 encoding for ${what}: illegal base64 data at input byte ${s.length - 1}`);
  const bytes = Buffer.from(s, "base64url");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new GroupingKeyError(`invalid base64 encoding for ${what}: value is not valid UTF-8`);
  }
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/**
 * Parses the job segment (`job` or `job@base64`'s value: pass `base64` true)
 * and the rest of the path into a sorted grouping key.
 */
export function parseGroupingKey(job: string, rest: string, jobBase64 = false): Pair[] {
  const jobValue = jobBase64 ? decodeBase64URL(job, `job "${job}"`) : decodeSegment(job);
  if (jobValue === "") throw new GroupingKeyError("job name is required");
  const labels = new Map<string, string>();
  const trimmed = rest.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed !== "") {
    const parts = trimmed.split("/");
    if (parts.length % 2 !== 0) throw new GroupingKeyError(`odd number of components in label string "/${trimmed}"`);
    for (let i = 0; i < parts.length; i += 2) {
      let name = decodeSegment(parts[i]!);
      let value = decodeSegment(parts[i + 1]!);
      if (name.endsWith("@base64")) {
        name = name.slice(0, -"@base64".length);
        value = decodeBase64URL(value, `label ${name}="${value}"`);
      }
      if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new GroupingKeyError(`improper label name "${name}"`);
      labels.set(name, value);
    }
  }
  labels.set("job", jobValue);
  return sortPairs([...labels]);
}

/** The canonical string of a grouping key (a map key; stable across restarts). */
export function groupingKeyString(key: readonly Pair[]): string {
  return key.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(",");
}
