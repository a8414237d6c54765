/**
 * URL checking the way Go's `net/url.Parse` does it, which is what
 * Prometheus applies to every URL in its config. Go is far more lenient
 * than the WHATWG parser (`""`, `"not a url"`, `"http:"` and
 * `"http://h:99999/"` all parse) but refuses bad percent escapes, bad
 * ports and odd characters in host names, so the accept/reject decision
 * must follow Go, not `new URL()`.
 */

/** The parts of a URL that config validation looks at. */
export interface GoURL {
  /** Lower-cased scheme; empty for a relative reference. */
  scheme: string;
  /** Host with port as written; empty when there is no authority. */
  host: string;
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** Validates percent escapes; `host` mode also refuses characters Go will not put in a host name. */
function unescapeProblem(s: string, mode: "host" | "path" | "userinfo" | "fragment"): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
      if (mode === "host" && parseInt(hex[0]!, 16) < 8 && hex !== "25") return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
      i += 2;
      continue;
    }
    if (mode === "host" && c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(c)) {
      return `invalid character ${JSON.stringify(c)} in host name`;
    }
  }
  return undefined;
}

function validOptionalPort(port: string): boolean {
  return port === "" || /^:[0-9]*$/.test(port);
}

function hostProblem(host: string): string | undefined {
  let colonPort = "";
  if (host.startsWith("[")) {
    const close = host.lastIndexOf("]");
    if (close < 0) return "missing ']' in host";
    colonPort = host.slice(close + 1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) colonPort = host.slice(colon);
  }
  if (!validOptionalPort(colonPort)) return `invalid port ${JSON.stringify(colonPort)} after host`;
  return unescapeProblem(host, "host");
}

/** Go's getScheme: a scheme is letters then letters, digits, `+-.`, ended by `:`. */
function splitScheme(raw: string): { scheme: string; rest: string } | string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: "", rest: raw };
      continue;
    }
    if (c === ":") {
      if (i === 0) return "missing protocol scheme";
      return { scheme: raw.slice(0, i).toLowerCase(), rest: raw.slice(i + 1) };
    }
    return { scheme: "", rest: raw };
  }
  return { scheme: "", rest: raw };
}

/**
 * Parses `raw` like Go's `url.Parse`. Returns the scheme and host, or the
 * error text Prometheus shows (`parse "…": invalid URL escape "%zz"`).
 *
 * @example parseGoURL("http://a/%zz") // 'parse "http://a/%zz": invalid URL escape "%zz"'
 * @example parseGoURL("localhost:9090") // { scheme: "localhost", host: "" } (opaque, like Go)
 */
export function parseGoURL(raw: string): GoURL | string {
  const fail = (reason: string) => `parse ${JSON.stringify(raw)}: ${reason}`;
  const hash = raw.indexOf("#");
  const main = hash < 0 ? raw : raw.slice(0, hash);
  if (/[\x00-\x1f\x7f]/.test(raw)) return fail("net/url: invalid control character in URL");
  if (hash >= 0) {
    const problem = unescapeProblem(raw.slice(hash + 1), "fragment");
    if (problem) return fail(problem);
  }
  if (main === "*") return { scheme: "", host: "" };
  const split = splitScheme(main);
  if (typeof split === "string") return fail(split);
  const { scheme } = split;
  let rest = split.rest;
  const question = rest.indexOf("?");
  if (question >= 0) rest = rest.slice(0, question);
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { scheme, host: "" };
    const firstSegment = rest.split("/")[0]!;
    if (firstSegment.includes(":")) return fail("first path segment in URL cannot contain colon");
  }
  let host = "";
  if ((scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf("/");
    const authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
    rest = slash < 0 ? "" : afterSlashes.slice(slash);
    const at = authority.lastIndexOf("@");
    host = at < 0 ? authority : authority.slice(at + 1);
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) return fail("net/url: invalid userinfo");
      const problem = unescapeProblem(userinfo, "userinfo");
      if (problem) return fail(problem);
    }
    const problem = hostProblem(host);
    if (problem) return fail(problem);
  }
  const problem = unescapeProblem(rest, "path");
  if (problem) return fail(problem);
  return { scheme, host };
}
