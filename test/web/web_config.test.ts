import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Registry } from "../../src/model/index.ts";
import { newWebApp, parseWebConfig, serveTLSOptions } from "../../src/web/index.ts";

const TESTDATA = join(import.meta.dir, "testdata");
const CONFIG_FILE = join(TESTDATA, "web.yml");

describe("parseWebConfig", () => {
  test("an empty file means no TLS, no users, no headers", () => {
    const cfg = parseWebConfig("", CONFIG_FILE);
    expect(cfg.tls).toBeUndefined();
    expect(cfg.basicAuthUsers.size).toBe(0);
    expect(cfg.headers).toEqual({});
  });

  test("reads TLS files relative to the config file, users and headers", () => {
    const cfg = parseWebConfig(
      "tls_server_config:\n  cert_file: server.crt\n  key_file: /abs/server.key\n" +
        "basic_auth_users:\n  alice: $2y$10$abcdefghijklmnopqrstuu5j5WZ3LK8Ek0aVXbGDCKH0Ew8.LiJK\n" +
        "http_server_config:\n  http2: true\n  headers:\n    x-frame-options: deny\n",
      CONFIG_FILE,
    );
    expect(cfg.tls).toEqual({
      certFile: join(TESTDATA, "server.crt"), keyFile: "/abs/server.key", clientCAFile: undefined, clientAuthType: "NoClientCert",
    });
    expect([...cfg.basicAuthUsers.keys()]).toEqual(["alice"]);
    expect(cfg.headers).toEqual({ "X-Frame-Options": "deny" });
  });

  test.each([
    ["tls_server_config: [1]\n", "field tls_server_config: expected a mapping"],
    ["tls_server_config:\n  key_file: k\n", "field tls_server_config: missing cert_file"],
    ["tls_server_config:\n  cert_file: c\n", "field tls_server_config: missing key_file"],
    ["tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Sometimes\n", "invalid client auth type 'Sometimes'"],
    ["tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: VerifyClientCertIfGiven\n", "VerifyClientCertIfGiven is not supported by promts"],
    ["tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n", "client_ca_file is required"],
    ["basic_auth_users:\n  bob: hunter2\n", "field basic_auth_users.bob: expected a bcrypt hash"],
    ["http_server_config:\n  headers:\n    Set-Cookie: x\n", "header Set-Cookie is not allowed"],
    ["tls_config:\n  cert_file: c\n", "field tls_config not found in web config"],
    ["a: [\n", CONFIG_FILE],
  ])("rejects %j", (text, message) => {
    expect(() => parseWebConfig(text, CONFIG_FILE)).toThrow(message);
  });

  test("serveTLSOptions reads the files and names a missing one", () => {
    const tls = serveTLSOptions({ certFile: join(TESTDATA, "server.crt"), keyFile: join(TESTDATA, "server.key"), clientAuthType: "NoClientCert" });
    expect(tls.cert).toStartWith("-----BEGIN CERTIFICATE-----");
    expect(tls.requestCert).toBe(false);
    expect(() => serveTLSOptions({ certFile: "/nonexistent.crt", keyFile: "k", clientAuthType: "NoClientCert" }))
      .toThrow("tls_server_config.cert_file /nonexistent.crt");
  });
});

describe("basic auth and headers", () => {
  test("every route requires a valid user once users are configured", async () => {
    const hash = await Bun.password.hash("s3cret", { algorithm: "bcrypt", cost: 4 });
    const app = newWebApp({
      registry: new Registry(),
      enableLifecycle: false,
      isReady: () => true,
      quit: () => {},
      reload: async () => {},
      basicAuthUsers: new Map([["alice", hash.replace(/^\$2b\$/, "$2y$")]]),
      headers: { "X-Frame-Options": "deny" },
    });
    const auth = (user: string, password: string) => ({ headers: { Authorization: `Basic ${btoa(`${user}:${password}`)}` } });

    const anonymous = await app.request("/-/healthy");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Basic");
    expect(anonymous.headers.get("x-frame-options")).toBe("deny");
    expect((await app.request("/metrics", auth("alice", "wrong"))).status).toBe(401);
    expect((await app.request("/metrics", auth("mallory", "s3cret"))).status).toBe(401);
    expect((await app.request("/metrics", { headers: { Authorization: "Basic !!!" } })).status).toBe(401);
    for (let i = 0; i < 2; i++) {
      const ok = await app.request("/-/healthy", auth("alice", "s3cret"));
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-frame-options")).toBe("deny");
    }
  });
});
