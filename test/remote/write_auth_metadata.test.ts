/**
 * The remote_write sender's metadata_config (metadata-only WriteRequests per
 * send_interval, in chunks of max_samples_per_send), and its oauth2 (client
 * credentials, token cached) and sigv4 (signed for "aps", the snappy body
 * hashed) HTTP client settings, against local HTTP servers.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeSignature, parseConfig, sha256Hex } from "../../src/config/index.ts";
import { labelsFromRecord, Registry } from "../../src/model/index.ts";
import { decodeWriteV1, RemoteWriteStorage, snappyDecode, type WriteMetadata } from "../../src/remote/index.ts";
import { openDB, type DB } from "../../src/tsdb/index.ts";
import { waitUntil } from "../support/processes.ts";

let dir = "";
let db: DB;
let server: ReturnType<typeof Bun.serve>;
let received: { headers: Headers; body: Uint8Array; url: string }[] = [];
let tokenRequests: { auth: string | null; form: URLSearchParams }[] = [];
let storages: RemoteWriteStorage[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-rwauth-"));
  db = await openDB({ dir: join(dir, "db"), compactionIntervalMs: 0 });
  received = [];
  tokenRequests = [];
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        tokenRequests.push({ auth: req.headers.get("Authorization"), form: new URLSearchParams(await req.text()) });
        return Response.json({ access_token: `tok${tokenRequests.length}`, token_type: "bearer", expires_in: 3600 });
      }
      received.push({ headers: req.headers, body: new Uint8Array(await req.arrayBuffer()), url: req.url });
      return new Response(null, { status: 204 });
    },
  });
});

afterEach(async () => {
  for (const s of storages) await s.close();
  storages = [];
  server.stop(true);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(extra: string, metadata?: () => WriteMetadata[], registry = new Registry()): { storage: RemoteWriteStorage; registry: Registry; apply: () => Promise<void> } {
  const { config } = parseConfig(`remote_write:
  - url: http://127.0.0.1:${server.port}/api/v1/write
    name: t
    queue_config: { batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms }
${extra}`, join(dir, "test.yml"));
  const storage = new RemoteWriteStorage({ walDir: join(dir, "db", "wal"), progressDir: join(dir, "db", "remote_write"), registry, flushDeadlineMs: 200, metadata });
  storages.push(storage);
  return { storage, registry, apply: () => storage.applyConfig(config) };
}

function appendSome(): void {
  const app = db.appender();
  const ref = app.ref(labelsFromRecord({ __name__: "auth_metric", i: "1" }));
  app.appendBatch(Uint32Array.of(ref, ref), Float64Array.of(Date.now() - 1000, Date.now()), Float64Array.of(1, 2), 2);
}

const withSeries = () => received.filter((r) => decodeWriteV1(snappyDecode(r.body, 1 << 24)).series.length > 0);

describe("remote_write sender", () => {
  test("metadata_config: metadata-only requests every send_interval, max_samples_per_send entries each", async () => {
    const md: WriteMetadata[] = Array.from({ length: 5 }, (_, i) => ({ metricFamilyName: `m${i}`, type: i % 2 ? "counter" : "gauge", help: `help ${i}`, unit: i === 0 ? "seconds" : "" }));
    const { registry, apply } = start("    metadata_config: { send_interval: 200ms, max_samples_per_send: 2 }\n", () => md);
    await apply();
    await waitUntil("two rounds of metadata", () => received.length >= 6, 10_000);
    const first = received.slice(0, 3).map((r) => decodeWriteV1(snappyDecode(r.body, 1 << 24)));
    expect(first.map((d) => d.series.length)).toEqual([0, 0, 0]);
    expect(first.map((d) => d.metadata.length)).toEqual([2, 2, 1]);
    expect(first.flatMap((d) => d.metadata)).toEqual(md);
    expect(received[0]!.headers.get("Content-Type")).toBe("application/x-protobuf");
    const sent = Number(/prometheus_remote_storage_metadata_total\{remote_name="t",url="[^"]+"\} (\d+)/.exec(registry.render())?.[1]);
    expect(sent).toBeGreaterThanOrEqual(5);
  });

  test("metadata_config send: false sends none", async () => {
    const { apply } = start("    metadata_config: { send: false, send_interval: 10ms }\n", () => [{ metricFamilyName: "m", type: "gauge", help: "", unit: "" }]);
    await apply();
    appendSome();
    await waitUntil("the samples", () => withSeries().length >= 1, 10_000);
    // A second batch comes at least one batch_send_deadline (50ms, five send_intervals) later.
    appendSome();
    await waitUntil("more samples", () => withSeries().length >= 2, 10_000);
    expect(received.every((r) => decodeWriteV1(snappyDecode(r.body, 1 << 24)).metadata.length === 0)).toBe(true);
  });

  test("oauth2: a client-credentials token, fetched once and sent as Bearer", async () => {
    const { apply } = start(`    oauth2:
      client_id: "my id"
      client_secret: s3cret
      scopes: [write, read]
      token_url: http://127.0.0.1:${server.port}/token
      endpoint_params: { audience: prom }
`);
    await apply();
    appendSome();
    await waitUntil("the samples", () => withSeries().length >= 1, 10_000);
    appendSome();
    await waitUntil("more samples", () => withSeries().length >= 2, 10_000);
    expect(tokenRequests.length).toBe(1);
    expect(tokenRequests[0]!.auth).toBe("Basic " + Buffer.from("my+id:s3cret").toString("base64"));
    expect(Object.fromEntries(tokenRequests[0]!.form)).toEqual({ grant_type: "client_credentials", scope: "write read", audience: "prom" });
    expect(withSeries().map((r) => r.headers.get("Authorization"))).toEqual(["Bearer tok1", "Bearer tok1"]);
  });

  test("sigv4: signed for the aps service over the compressed body", async () => {
    const { apply } = start("    sigv4: { region: eu-west-1, access_key: AKIDEXAMPLE, secret_key: wJalrXUtnFEMI }\n");
    await apply();
    appendSome();
    await waitUntil("the samples", () => withSeries().length >= 1, 10_000);
    const r = withSeries()[0]!;
    const auth = r.headers.get("Authorization")!;
    const m = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/eu-west-1\/aps\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
    expect(m).not.toBeNull();
    const signed = m![2]!.split(";");
    expect(signed).toEqual(["content-encoding", "content-type", "host", "x-amz-date", "x-prometheus-remote-write-version"]);
    const headers: Record<string, string> = {};
    for (const name of signed) headers[name] = r.headers.get(name)!;
    const parts = computeSignature({ method: "POST", url: new URL(r.url), headers, body: r.body }, "wJalrXUtnFEMI", { region: "eu-west-1", service: "aps" });
    expect(parts.signature).toBe(m![3]!);
    expect(parts.canonicalRequest.endsWith(sha256Hex(r.body))).toBe(true);
  });
});
