/**
 * Invalid UTF-8 in a text-format push, answered as Pushgateway 1.5 answers
 * it (measured with the real binary): a label value is refused with Go's
 * parser error quoting the bytes; HELP text and comments are not checked.
 */
import { expect, test } from "bun:test";
import { PushStore, pushgatewayApp } from "../../src/pushgateway/index.ts";

function app() {
  const store = new PushStore();
  const a = pushgatewayApp({
    store, telemetryPath: "/metrics", enableLifecycle: false, enableAdminAPI: false, disableConsistencyCheck: false,
    quit: () => {}, status: () => ({}),
  });
  const put = async (path: string, latin1: string) => {
    const res = await a.request(path, { method: "PUT", body: Buffer.from(latin1, "latin1") });
    return { status: res.status, text: (await res.text()).trim() };
  };
  return { store, put };
}

test("invalid UTF-8 in label values is refused naming the bytes; in HELP text and comments it is accepted", async () => {
  const { store, put } = app();
  expect(await put("/metrics/job/a", 'bu_metric{v="\xff\xfe\xc3("} 1\n')).toEqual({
    status: 400, text: 'text format parsing error in line 1: invalid label value "\\xff\\xfe\\xc3("',
  });
  expect(await put("/metrics/job/b", 'ok 1\nm{a="ok",b="x\xc3"} 1\n')).toEqual({
    status: 400, text: 'text format parsing error in line 2: invalid label value "x\\xc3"',
  });
  expect((await put("/metrics/job/c", "bad\xffname 2\n")).status).toBe(400);
  expect((await put("/metrics/job/d", "# HELP m h\xff\nm 1\n")).status).toBe(200);
  expect((await put("/metrics/job/e", "# a comment \xff\nm 1\n")).status).toBe(200);
  expect((await put("/metrics/job/f", 'm{v="caf\xc3\xa9"} 1\n')).status).toBe(200);
  expect(store.list().map((g) => g.key.find(([k]) => k === "job")?.[1]).sort()).toEqual(["d", "e", "f"]);
});
