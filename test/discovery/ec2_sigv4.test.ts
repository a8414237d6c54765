import { describe, expect, it } from "bun:test";
import { awsURIEncode, canonicalQueryString, computeSignature, deriveSigningKey, formatAmzDate, sha256Hex, signRequest } from "../../src/config/sigv4.ts";

const EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

describe("sigv4", () => {
  it("matches the AWS test suite's get-vanilla vector", () => {
    const parts = computeSignature(
      { method: "GET", url: new URL("https://example.amazonaws.com/"), headers: { Host: "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z" }, body: "" },
      EXAMPLE_SECRET,
      { region: "us-east-1", service: "service" },
    );
    expect(parts.canonicalRequest).toBe(
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(parts.stringToSign).toBe(
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    );
    expect(parts.signature).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  });

  it("matches the get-vanilla-query-order-key-case vector (query sorted before signing)", () => {
    const parts = computeSignature(
      { method: "GET", url: new URL("https://example.amazonaws.com/?Param2=value2&Param1=value1"), headers: { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" }, body: "" },
      EXAMPLE_SECRET,
      { region: "us-east-1", service: "service" },
    );
    expect(parts.signature).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });

  it("matches the S3 GET Object example of the AWS docs", () => {
    const parts = computeSignature(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
        headers: {
          host: "examplebucket.s3.amazonaws.com",
          range: "bytes=0-9",
          "x-amz-content-sha256": sha256Hex(""),
          "x-amz-date": "20130524T000000Z",
        },
        body: "",
      },
      // The S3 documentation's example key differs from the test suite's in one character.
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      { region: "us-east-1", service: "s3" },
    );
    expect(sha256Hex(parts.canonicalRequest)).toBe("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    expect(parts.signature).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  });

  it("derives the signing key of the IAM documentation example", () => {
    expect(deriveSigningKey(EXAMPLE_SECRET, "20120215", "us-east-1", "iam").toString("hex")).toBe(
      "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
    );
  });

  it("encodes like RFC 3986 and sorts query pairs", () => {
    expect(awsURIEncode("a b/c~é*")).toBe("a%20b%2Fc~%C3%A9%2A");
    expect(awsURIEncode("/x y/", true)).toBe("/x%20y/");
    expect(canonicalQueryString(new URL("http://h/?b=2&a=z&a=y&A=0"))).toBe("A=0&a=y&a=z&b=2");
  });

  it("signs the session token and host, and rejects a request without a date", () => {
    const headers = signRequest(
      { method: "POST", url: new URL("http://127.0.0.1:8080/"), headers: { "Content-Type": "text/plain" }, body: "x" },
      { accessKeyId: "AKID", secretAccessKey: "s", sessionToken: "tok" },
      { region: "eu-west-1", service: "ec2" },
      new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    );
    expect(headers["x-amz-date"]).toBe("20260102T030405Z");
    expect(headers["host"]).toBe("127.0.0.1:8080");
    expect(headers["authorization"]).toStartWith(
      "AWS4-HMAC-SHA256 Credential=AKID/20260102/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=",
    );
    expect(formatAmzDate(new Date(0))).toBe("19700101T000000Z");
    expect(() => computeSignature({ method: "GET", url: new URL("http://h/"), headers: {}, body: "" }, "s", { region: "r", service: "s" })).toThrow(/x-amz-date/);
  });
});
