/** /api/v1/targets/relabel_steps: what each relabel rule did to a target's labels. */
import { describe, expect, test } from "bun:test";
import { relabelSteps, relabelStepsAPI } from "../../src/ui/index.ts";

const rules = [
  { source_labels: ["__address__"], regex: "(.*):(\\d+)", target_label: "port", replacement: "$2" },
  { source_labels: ["port"], regex: "1", action: "drop" as const },
  { target_label: "team", replacement: "never reached" },
];

describe("relabelSteps", () => {
  test("applies rules one at a time and stops where the target is dropped", () => {
    expect(relabelSteps({ __address__: "h:1", job: "j" }, rules)).toEqual([
      { rule: rules[0]!, output: { __address__: "h:1", job: "j", port: "1" }, keep: true },
      { rule: rules[1]!, output: {}, keep: false },
    ]);
    const kept = relabelSteps({ __address__: "h:2", job: "j" }, rules);
    expect(kept.map((s) => s.keep)).toEqual([true, true, true]);
    expect(kept[2]!.output).toEqual({ __address__: "h:2", job: "j", port: "2", team: "never reached" });
  });
});

describe("relabelStepsAPI", () => {
  const app = relabelStepsAPI(() => [{ job_name: "j", relabel_configs: rules }]);

  test("answers the steps of a pool's rules", async () => {
    const res = await app.request(`/?scrapePool=j&labels=${encodeURIComponent(JSON.stringify({ __address__: "h:1" }))}`);
    expect(res.status).toBe(200);
    const body = await res.json() as { status: string; data: { steps: { keep: boolean }[] } };
    expect(body.status).toBe("success");
    expect(body.data.steps.map((s) => s.keep)).toEqual([true, false]);
  });

  test.each([
    ["?labels={}", 400, "scrapePool: missing"],
    ["?scrapePool=j", 400, "labels: missing"],
    ["?scrapePool=j&labels=%7B", 400, "labels: not JSON"],
    ["?scrapePool=j&labels=%5B%5D", 400, "labels: must be a JSON object of strings"],
    ["?scrapePool=other&labels=%7B%7D", 404, 'scrapePool: no scrape pool "other"'],
  ])("%s answers %d naming the parameter", async (query, status, message) => {
    const res = await app.request(`/${query}`);
    expect(res.status).toBe(status);
    expect((await res.json() as { error: string }).error).toStartWith(message);
  });
});
