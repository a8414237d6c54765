import { describe, expect, test } from "bun:test";
import {
  decodeGroups,
  encodeGroups,
  GroupingKeyError,
  InconsistentPushError,
  parseGroupingKey,
  parseProtobufFamilies,
  parseTextFamilies,
  PushBodyError,
  PushStore,
  writeTextFamilies,
} from "../../src/pushgateway/index.ts";
import { encodeDelimited } from "./protobuf_encode.ts";

const render = (store: PushStore, now = 1000): string => {
  const out: string[] = [];
  writeTextFamilies(store.gather(now), out);
  return out.join("");
};

describe("grouping keys", () => {
  test("plain and base64 values, repeats, job precedence", () => {
    expect(parseGroupingKey("j", "instance/h1")).toEqual([["instance", "h1"], ["job", "j"]]);
    expect(parseGroupingKey("j", `p@base64/${Buffer.from("/var/tmp").toString("base64url")}`)).toEqual([["job", "j"], ["p", "/var/tmp"]]);
    expect(parseGroupingKey("j", "a@base64/=")).toEqual([["a", ""], ["job", "j"]]);
    expect(parseGroupingKey("j", "a/1/a/2")).toEqual([["a", "2"], ["job", "j"]]);
    expect(parseGroupingKey("j", "job/other")).toEqual([["job", "j"]]);
    expect(parseGroupingKey(Buffer.from("a/b").toString("base64url"), "", true)).toEqual([["job", "a/b"]]);
  });
  test("refusals name what is wrong", () => {
    expect(() => parseGroupingKey("j", "lab")).toThrow('odd number of components in label string "/lab"');
    expect(() => parseGroupingKey("j", "1x/v")).toThrow('improper label name "1x"');
    expect(() => parseGroupingKey("j", "__x/v")).toThrow('improper label name "__x"');
    expect(() => parseGroupingKey("j", "l@base64/!!")).toThrow(GroupingKeyError);
    expect(() => parseGroupingKey("=", "", true)).toThrow("job name is required");
  });
});

describe("bodies", () => {
  test("text: summaries and histograms group their lines", () => {
    const f = parseTextFamilies('# TYPE s summary\ns{quantile="0.5",a="1"} 2\ns_sum{a="1"} 3\ns_count{a="1"} 4\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 2\nh_count 1\nplain 5\n');
    expect(f.map((x) => [x.name, x.type, x.metrics.length])).toEqual([["s", "summary", 1], ["h", "histogram", 1], ["plain", "untyped", 1]]);
    expect(f[0]!.metrics[0]).toEqual({ labels: [["a", "1"]], quantiles: [[0.5, 2]], sum: 3, count: 4 });
  });
  test("text: a second TYPE line is refused", () => {
    expect(() => parseTextFamilies("# TYPE a gauge\n# TYPE a counter\na 1\n")).toThrow(PushBodyError);
  });
  test("protobuf: every type round-trips through the decoder", () => {
    const f = parseProtobufFamilies(encodeDelimited([
      { name: "c_total", help: "C.", type: "counter", metrics: [{ labels: { b: "2", a: "1" }, value: 3 }] },
      { name: "h", type: "histogram", metrics: [{ histogram: { count: 2, sum: 1, buckets: [[1, 1], [Infinity, 2]] } }] },
    ]));
    expect(f[0]).toEqual({ name: "c_total", help: "C.", type: "counter", metrics: [{ labels: [["a", "1"], ["b", "2"]], value: 3 }] });
    expect(f[1]!.metrics[0]!.buckets).toEqual([[1, 1], [Infinity, 2]]);
  });
  test("protobuf: truncated and garbage bodies are refused", () => {
    const good = encodeDelimited([{ name: "g", type: "gauge", metrics: [{ value: 1 }] }]);
    for (let cut = 1; cut < good.length; cut++) expect(() => parseProtobufFamilies(good.subarray(0, cut))).toThrow(PushBodyError);
    expect(() => parseProtobufFamilies(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(PushBodyError);
  });
});

describe("store", () => {
  test("PUT replaces, POST replaces only the pushed families, grouping labels win", () => {
    const s = new PushStore();
    const key = parseGroupingKey("j", "instance/i");
    s.push(key, parseTextFamilies('a{job="x"} 1\nb 2\n'), "PUT", 1000);
    s.push(key, parseTextFamilies("a 5\nc 3\n"), "POST", 2000);
    expect(render(s)).toContain('a{instance="i",job="j"} 5\n');
    expect(render(s)).toContain('b{instance="i",job="j"} 2\n');
    s.push(key, [], "PUT", 3000);
    expect(render(s)).not.toContain("a{");
    expect(render(s)).toContain('push_time_seconds{instance="i",job="j"} 3\n');
  });
  test("the consistency check keeps the old metrics and records the failure", () => {
    const s = new PushStore();
    s.push(parseGroupingKey("a", ""), parseTextFamilies("# TYPE m counter\nm 1\n"), "PUT", 1000);
    s.push(parseGroupingKey("b", ""), parseTextFamilies("ok 1\n"), "PUT", 1000);
    expect(() => s.push(parseGroupingKey("b", ""), parseTextFamilies("m 2\n"), "PUT", 5000)).toThrow(InconsistentPushError);
    expect(render(s)).toContain('ok{instance="",job="b"} 1\n');
    expect(render(s)).toContain('push_failure_time_seconds{instance="",job="b"} 5\n');
    expect(() => s.push(parseGroupingKey("c", ""), parseTextFamilies("t 1 1000\n"), "PUT", 5000)).toThrow("must not have timestamps");
    const off = new PushStore({ disableConsistencyCheck: true });
    off.push(parseGroupingKey("c", ""), parseTextFamilies("t 1 1000\n"), "PUT", 5000);
    expect(off.size).toBe(1);
  });
  test("expiry follows the last change of a group", () => {
    const s = new PushStore({ groupTTL: 10_000 });
    s.push(parseGroupingKey("a", ""), parseTextFamilies("x 1\n"), "PUT", 0);
    s.push(parseGroupingKey("b", ""), parseTextFamilies("y 1\n"), "PUT", 8_000);
    expect(s.list(10_000).length).toBe(2);
    expect(s.list(10_001).map((g) => g.key)).toEqual([[["job", "b"]]]);
  });
  test("persistence encoding keeps every value, NaN and infinities included", () => {
    const s = new PushStore();
    s.push(parseGroupingKey("a", "x@base64/="), parseTextFamilies("# HELP n N.\nn NaN\ni +Inf\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum -Inf\nh_count 1\n"), "PUT", 1234);
    const back = new PushStore();
    back.restore(decodeGroups(encodeGroups(s.list(2000))));
    expect(render(back, 2000)).toBe(render(s, 2000));
    expect(() => decodeGroups('{"format":"other"}')).toThrow("not a promts Pushgateway persistence file");
    expect(() => decodeGroups('{"format":"promts-pushgateway/1","groups":[{"key":[],"families":[]}]}')).toThrow("groups[0].key: no job label");
  });
});
