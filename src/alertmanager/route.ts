/**
 * The routing tree built from `route:`. Each node holds its own matchers
 * and the options it inherits from its parent (receiver, group_by,
 * timers). An alert goes down the first matching child (and on to later
 * siblings when that child has `continue: true`); a node none of whose
 * children match handles the alert itself.
 *
 * Keys and IDs follow Alertmanager, because the group key that receivers
 * see is built from them: the root's key is `{}`, a child's is
 * `<parent key>/<matchers>` (e.g. `{}/{severity="page"}`), and its ID adds
 * the position among its siblings (`{}/{severity="page"}/0`).
 *
 * @example
 * const root = buildRouteTree(config.route);
 * for (const r of root.match(alert.labels)) console.log(r.opts.receiver, r.key());
 */
import type { RouteConfig } from "../config/index.ts";
import { DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL } from "../config/index.ts";
import { newMatcher, type Labels, type Matcher } from "../model/index.ts";
import { compareMatchers, formatMatchers, matchesAll, parseMatchers } from "../model/index.ts";

/** A route's effective options after inheritance. */
export interface RouteOpts {
  receiver: string;
  /** Label names to group by; ignored when groupByAll. */
  groupBy: readonly string[];
  /** `group_by: ['...']`: every label is a group label. */
  groupByAll: boolean;
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  /** Not inherited, as in Alertmanager. */
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
}

/** One node of the routing tree; see the module comment. */
export class Route {
  readonly routes: Route[] = [];
  private cachedKey: string | undefined;
  private cachedID: string | undefined;

  constructor(
    readonly parent: Route | undefined,
    readonly matchers: readonly Matcher[],
    readonly continueMatching: boolean,
    readonly opts: RouteOpts,
  ) {}

  /** Alertmanager's Route.Key: the matchers of this node and its ancestors. */
  key(): string {
    this.cachedKey ??= (this.parent ? `${this.parent.key()}/` : "") + formatMatchers(this.matchers);
    return this.cachedKey;
  }

  /** Alertmanager's Route.ID: the key plus the index among siblings, unique within the tree. */
  id(): string {
    if (this.cachedID === undefined) {
      let id = (this.parent ? `${this.parent.id()}/` : "") + formatMatchers(this.matchers);
      if (this.parent) id += `/${this.parent.routes.indexOf(this)}`;
      this.cachedID = id;
    }
    return this.cachedID;
  }

  /** The routes that handle `labels`, in tree order; empty when this node does not match. */
  match(labels: Labels): Route[] {
    if (!matchesAll(this.matchers, labels)) return [];
    const all: Route[] = [];
    for (const child of this.routes) {
      const found = child.match(labels);
      all.push(...found);
      if (found.length > 0 && !child.continueMatching) break;
    }
    if (all.length === 0) all.push(this);
    return all;
  }

  /** Every node of the subtree, depth first (the root first). */
  walk(): Route[] {
    return [this, ...this.routes.flatMap((r) => r.walk())];
  }
}

/** The matchers of a route config: `match`, `match_re` and `matchers`, sorted as Alertmanager sorts them. */
export function routeMatchers(cfg: {
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  matchers?: string[];
}): Matcher[] {
  const out: Matcher[] = [];
  for (const [name, value] of Object.entries(cfg.match ?? {})) out.push(newMatcher("=", name, value));
  // Alertmanager keeps match_re values anchored, and shows them so (group keys, routes).
  for (const [name, value] of Object.entries(cfg.match_re ?? {})) out.push(newMatcher("=~", name, `^(?:${value})$`));
  for (const text of cfg.matchers ?? []) out.push(...parseMatchers(text));
  return out.sort(compareMatchers);
}

const ROOT_DEFAULTS: RouteOpts = {
  receiver: "",
  groupBy: [],
  groupByAll: false,
  groupWait: DEFAULT_GROUP_WAIT,
  groupInterval: DEFAULT_GROUP_INTERVAL,
  repeatInterval: DEFAULT_REPEAT_INTERVAL,
  muteTimeIntervals: [],
  activeTimeIntervals: [],
};

/** Builds the tree from a validated `route:` config. */
export function buildRouteTree(cfg: RouteConfig, parent?: Route): Route {
  const base = parent?.opts ?? ROOT_DEFAULTS;
  const groupBy = cfg.group_by;
  const opts: RouteOpts = {
    receiver: cfg.receiver || base.receiver,
    groupBy: groupBy ? groupBy.filter((n) => n !== "...") : base.groupBy,
    groupByAll: groupBy ? groupBy.includes("...") : base.groupByAll,
    groupWait: cfg.group_wait ?? base.groupWait,
    groupInterval: cfg.group_interval ?? base.groupInterval,
    repeatInterval: cfg.repeat_interval ?? base.repeatInterval,
    muteTimeIntervals: cfg.mute_time_intervals ?? [],
    activeTimeIntervals: cfg.active_time_intervals ?? [],
  };
  const route = new Route(parent, routeMatchers(cfg), cfg.continue, opts);
  for (const child of cfg.routes) route.routes.push(buildRouteTree(child, route));
  return route;
}
