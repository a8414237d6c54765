import { describe, expect, test } from "bun:test";
import { buildRouteTree } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { config } from "./helpers.ts";

const tree = () => buildRouteTree(config(`
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  repeat_interval: 2h
  routes:
    - match: {team: db}
      receiver: db
      group_by: ['...']
      routes:
        - matchers: ['severity="page"']
          receiver: db-pager
          group_interval: 1m
    - matchers: ['{service=~"api|web", env!="dev"}']
      receiver: web
      continue: true
    - match_re: {service: "web.*"}
      receiver: web-extra
receivers: [{name: default}, {name: db}, {name: db-pager}, {name: web}, {name: web-extra}]
`).route);

const receivers = (labels: Record<string, string>) => tree().match(labelsFromRecord(labels)).map((r) => r.opts.receiver);

describe("route tree", () => {
  test("first matching child wins; the root catches the rest", () => {
    expect(receivers({ team: "db" })).toEqual(["db"]);
    expect(receivers({ team: "db", severity: "page" })).toEqual(["db-pager"]);
    expect(receivers({ team: "other" })).toEqual(["default"]);
  });

  test("continue goes on to later siblings", () => {
    expect(receivers({ service: "web" })).toEqual(["web", "web-extra"]);
    expect(receivers({ service: "api" })).toEqual(["web"]);
    expect(receivers({ service: "web", env: "dev" })).toEqual(["web-extra"]);
  });

  test("options are inherited and overridden", () => {
    const pager = tree().match(labelsFromRecord({ team: "db", severity: "page" }))[0]!;
    expect(pager.opts.groupByAll).toBe(true);
    expect(pager.opts.groupWait).toBe(10_000);
    expect(pager.opts.groupInterval).toBe(60_000);
    expect(pager.opts.repeatInterval).toBe(7_200_000);
    const root = tree();
    expect(root.opts.groupInterval).toBe(300_000);
    expect(root.opts.groupBy).toEqual(["alertname"]);
  });

  test("keys and ids follow Alertmanager", () => {
    const root = tree();
    expect(root.key()).toBe("{}");
    expect(root.id()).toBe("{}");
    const pager = root.match(labelsFromRecord({ team: "db", severity: "page" }))[0]!;
    expect(pager.key()).toBe('{}/{team="db"}/{severity="page"}');
    expect(pager.id()).toBe('{}/{team="db"}/0/{severity="page"}/0');
    const web = root.match(labelsFromRecord({ service: "api" }))[0]!;
    expect(web.key()).toBe('{}/{env!="dev",service=~"api|web"}');
    expect(web.id()).toBe('{}/{env!="dev",service=~"api|web"}/1');
  });
});
