import { describe, expect, test } from "bun:test";
import { parseGoURL } from "../../src/config/url.ts";

describe("parseGoURL follows Go's url.Parse", () => {
  test("accepts what Go accepts, however odd", () => {
    const cases: [string, string, string][] = [
      ["", "", ""],
      ["not a url", "", ""],
      ["http:", "http", ""],
      ["http://", "http", ""],
      ["/api/v1/write", "", ""],
      ["HTTPS://Example.org:9090/x?y=1#z", "https", "Example.org:9090"],
      ["http://h:99999/", "http", "h:99999"],
      ["http://user:p%40ss@h/", "http", "h"],
      ["http://[::1]:9090/", "http", "[::1]:9090"],
      ["example.org:9090/api/v1/write", "example.org", ""],
      ["http:///x", "http", ""],
    ];
    for (const [raw, scheme, host] of cases) expect({ raw, parsed: parseGoURL(raw) }).toEqual({ raw, parsed: { scheme, host } });
  });

  test("refuses what Go refuses, with Go's message", () => {
    const cases: [string, string][] = [
      ["://x", 'parse "://x": missing protocol scheme'],
      ["http://a/%zz", 'parse "http://a/%zz": invalid URL escape "%zz"'],
      ["http://a b/", 'parse "http://a b/": invalid character " " in host name'],
      ["http://[::1", `parse "http://[::1": missing ']' in host`],
      ["http://h:port/", 'parse "http://h:port/": invalid port ":port" after host'],
      ["1http://x", 'parse "1http://x": first path segment in URL cannot contain colon'],
      ["http://a/\u0001", 'parse "http://a/\\u0001": net/url: invalid control character in URL'],
      ["http://us er@h/", 'parse "http://us er@h/": net/url: invalid userinfo'],
      ["http://h/#%zz", 'parse "http://h/#%zz": invalid URL escape "%zz"'],
    ];
    for (const [raw, message] of cases) expect({ raw, parsed: parseGoURL(raw) }).toEqual({ raw, parsed: message });
  });
});
