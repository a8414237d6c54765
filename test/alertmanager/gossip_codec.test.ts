import { describe, expect, test } from "bun:test";
import { encode } from "cbor-x/index-no-eval";
import {
  decodeAlerts, decodeNflog, decodeSilences, encodeAlerts, encodeNflog, encodeSilences,
  type Alert, type NflogEntry, type Silence,
} from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { seededRandom } from "../support/random.ts";

const T = Date.UTC(2024, 0, 1);

const silence: Silence = {
  id: "5f0e", matchers: [{ name: "job", value: "d.*", isRegex: true, isEqual: false }],
  startsAt: T, endsAt: T + 3_600_000, updatedAt: T + 1, createdBy: "ops", comment: "ünïcode",
};
const entry: NflogEntry = {
  groupKey: "{}:{alertname=\"Down\"}", receiver: { groupName: "team", integration: "webhook", idx: 2 },
  timestamp: T, firingAlerts: ["0123456789abcdef"], resolvedAlerts: [], expiresAt: T + 120 * 3_600_000,
};
const alert: Alert = {
  labels: labelsFromRecord({ alertname: "Down", instance: "a:9100" }), annotations: labelsFromRecord({ summary: "down" }),
  startsAt: T, endsAt: 0, generatorURL: "http://p/graph", updatedAt: T + 5, timeout: true,
};

/** A CBOR text-string head plus its (arbitrary) bytes. */
function fixLength(bytes: number[]): number[] {
  return bytes.length < 24 ? [0x60 | bytes.length, ...bytes] : [0x78, bytes.length, ...bytes];
}

describe("gossip codec", () => {
  test("silences, nflog entries and alerts survive a round trip", () => {
    expect(decodeSilences(encodeSilences([silence]))).toEqual([silence]);
    expect(decodeNflog(encodeNflog([entry]))).toEqual([entry]);
    expect(decodeAlerts(encodeAlerts([alert]))).toEqual([alert]);
    expect(decodeAlerts(encodeAlerts([]))).toEqual([]);
  });

  test("wrong shapes are refused with the entry and field named", () => {
    expect(() => decodeSilences(encode([1, [["id", [], T, T, T, "", ""]]]))).toThrow("silence id: no matchers");
    expect(() => decodeSilences(encode([1, [["id", [["a", "b", "yes", true]], T, T, T, "", ""]]]))).toThrow("silence id matcher 0: isRegex is not a boolean");
    expect(() => decodeSilences(encode([2, []]))).toThrow("unknown format version 2");
    expect(() => decodeNflog(encode([1, [["g", "r", "webhook", -1, T, [], [], T]]]))).toThrow("nflog entry 0: integration index is not a non-negative integer");
    expect(() => decodeNflog(encode([1, [["g", "r", "webhook", 0, T, [1], [], T]]]))).toThrow("firingAlerts is not a list of strings");
    expect(() => decodeAlerts(encode([1, [[["b", "1", "a", "2"], [], T, 0, "", T, false]]]))).toThrow("alert 0 labels: label names not sorted and unique");
    expect(() => decodeAlerts(encode([1, [[["a"], [], T, 0, "", T, false]]]))).toThrow("odd number of label strings");
    expect(() => decodeAlerts(encode([1, [[["a", "1"], [], Number.NaN, 0, "", T, false]]]))).toThrow("startsAt is not a finite number");
    expect(() => decodeAlerts(encode({ version: 1 }))).toThrow("not a [version, entries] pair");
  });

  test("text strings that are not UTF-8 decode (replaced) or throw, never abort the process", () => {
    const rnd = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const junk = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 256));
      const bytes = new Uint8Array([0x82, 0x01, 0x81, 0x87, 0x82, 0x61, 0x61, ...fixLength(junk), 0x80, 0x01, 0x00, 0x60, 0x01, 0xf4]);
      try {
        const [a] = decodeAlerts(bytes);
        expect(typeof a!.labels[0]!.value).toBe("string");
      } catch (e) {
        expect((e as Error).message).toMatch(/^alert/);
      }
    }
  });

  test("truncated and random bytes throw errors, never anything else", () => {
    const whole = encodeAlerts([alert, alert]);
    for (let n = 0; n < whole.length; n++) expect(() => decodeAlerts(whole.subarray(0, n))).toThrow(/alerts: /);
    const rnd = seededRandom(11);
    for (let i = 0; i < 500; i++) {
      const bytes = new Uint8Array(1 + Math.floor(rnd() * 64)).map(() => Math.floor(rnd() * 256));
      for (const decode of [decodeAlerts, decodeSilences, decodeNflog]) {
        try {
          decode(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
        }
      }
    }
  });
});
