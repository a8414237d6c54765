/**
 * An in-process Consul agent/server HTTP API, enough of it to exercise
 * catalog-based discovery faithfully:
 *
 * - GET /v1/agent/self, /v1/catalog/services, /v1/catalog/service/:name,
 *   /v1/health/service/:name; PUT /v1/catalog/register and /v1/catalog/deregister.
 * - A raft-like index bumped on every write; each read answers with the
 *   `X-Consul-Index` of the data it returns (the services table for the
 *   service list, the last change touching a service for a service query).
 * - Blocking queries: with `index` > 0 the request is held until the
 *   result's index exceeds it or `wait` elapses (default 5m, at most 10m,
 *   plus up to wait/16 of jitter), as Consul does.
 * - `dc` (unknown → 500 "No path to datacenter"), `ns`, `partition`,
 *   repeated `tag` (all must match), repeated `node-meta=key:value`,
 *   `passing`, `stale`/`consistent`, and `filter` expressions
 *   (./consul_filter.ts; selectors as Consul names them per endpoint).
 * - ACLs when `aclTokens` is set: an unknown token → 403 "ACL not found";
 *   no token → anonymous, whose reads are filtered to nothing
 *   (X-Consul-Results-Filtered-By-ACLs) and who may not read /v1/agent/self.
 * - Unknown paths 404, wrong methods 405, bad `index`/`wait`/`filter` 400.
 *
 * @example
 * const consul = startFakeConsul({ datacenter: "dc1" });
 * consul.register({ node: "n1", address: "10.0.0.1", service: { service: "web", port: 80, tags: ["a"] } });
 * // … consul.url …
 * consul.stop();
 */
import { compileConsulFilter } from "./consul_filter.ts";

/** A service instance as registered. */
export interface FakeConsulService {
  id?: string;
  service: string;
  tags?: string[];
  address?: string;
  port: number;
  meta?: Record<string, string>;
  namespace?: string;
  partition?: string;
}

/** A health check on a node (no serviceId) or on one of its services. */
export interface FakeConsulCheck {
  checkId: string;
  name?: string;
  status: "passing" | "warning" | "critical";
  serviceId?: string;
}

/** The body of a catalog registration (/v1/catalog/register), in the fake's spelling. */
export interface FakeConsulRegistration {
  node: string;
  address: string;
  nodeMeta?: Record<string, string>;
  taggedAddresses?: Record<string, string>;
  service?: FakeConsulService;
  checks?: FakeConsulCheck[];
}

/** One answered request. */
export interface FakeConsulRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  /** 0 while the request is still being held. */
  status: number;
  /** How long the request was held (blocking queries). */
  heldMs: number;
}

/** Server settings. */
export interface FakeConsulOptions {
  datacenter?: string;
  /** Enables ACLs; these tokens may read everything. */
  aclTokens?: string[];
  /** Re-use a port (restart after stop). */
  port?: number;
}

/** A running fake Consul. */
export interface FakeConsul {
  readonly url: string;
  readonly port: number;
  /** The current raft index. */
  readonly index: number;
  requests: FakeConsulRequest[];
  register(r: FakeConsulRegistration): void;
  /** Removes one service instance, or the whole node (with its services and checks) without `serviceId`. */
  deregister(node: string, serviceId?: string): void;
  setCheckStatus(node: string, checkId: string, status: FakeConsulCheck["status"]): void;
  /** Sets the raft index back, as restoring an older snapshot does; bumps it by one from there with a write. */
  restoreSnapshot(index: number): void;
  /** Blocking queries currently held. */
  readonly blockedQueries: number;
  /** Closes the listener (clients see connection refused) and fails held queries. */
  stop(): void;
  /** Listens again on the same port with the same state. */
  restart(): void;
}

interface NodeEntry {
  node: string;
  id: string;
  address: string;
  meta: Record<string, string>;
  taggedAddresses: Record<string, string>;
  services: Map<string, FakeConsulService & { id: string; createIndex: number; modifyIndex: number }>;
  checks: Map<string, FakeConsulCheck & { createIndex: number; modifyIndex: number }>;
  createIndex: number;
  modifyIndex: number;
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;

/** Fields of a catalog ServiceNode, the records /v1/catalog/* filters select on. */
const SERVICE_NODE_FIELDS = [
  "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceKind", "ServiceID", "ServiceName", "ServiceTags",
  "ServiceAddress", "ServiceWeights", "ServiceMeta", "ServicePort", "ServiceEnableTagOverride", "CreateIndex", "ModifyIndex",
];
/** Fields of a health entry, the records /v1/health/service/:name filters select on. */
const HEALTH_ENTRY_FIELDS = ["Node", "Service", "Checks"];

/** Parses a Go duration ("1s", "250ms", "1m30s"); undefined when malformed. */
function parseGoDuration(s: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += parseFloat(m[1]!) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

class HTTPError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Starts a fake Consul on 127.0.0.1 (a free port unless `port` is given). */
export function startFakeConsul(opts: FakeConsulOptions = {}): FakeConsul {
  const datacenter = opts.datacenter ?? "dc1";
  const nodes = new Map<string, NodeEntry>();
  const requests: FakeConsulRequest[] = [];
  let index = 1;
  let servicesIndex = 1;
  const serviceIndex = new Map<string, number>();
  let waiters: (() => void)[] = [];
  let server: ReturnType<typeof Bun.serve> | undefined;
  let port = opts.port ?? 0;
  let blocked = 0;

  function commit(touchedServices: Iterable<string>): void {
    index++;
    servicesIndex = index;
    for (const s of touchedServices) serviceIndex.set(s, index);
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  }

  function servicesOf(n: NodeEntry): string[] {
    return [...new Set([...n.services.values()].map((s) => s.service))];
  }

  function register(r: FakeConsulRegistration): void {
    let n = nodes.get(r.node);
    const touched = new Set<string>();
    const next = index + 1;
    if (!n) {
      n = { node: r.node, id: crypto.randomUUID(), address: r.address, meta: {}, taggedAddresses: {}, services: new Map(), checks: new Map(), createIndex: next, modifyIndex: next };
      nodes.set(r.node, n);
    } else if (n.address !== r.address || JSON.stringify(n.meta) !== JSON.stringify(r.nodeMeta ?? n.meta)) {
      for (const s of servicesOf(n)) touched.add(s);
    }
    n.address = r.address;
    if (r.nodeMeta) n.meta = { ...r.nodeMeta };
    if (r.taggedAddresses) n.taggedAddresses = { ...r.taggedAddresses };
    n.modifyIndex = next;
    if (r.service) {
      const id = r.service.id ?? r.service.service;
      const prev = n.services.get(id);
      if (prev && prev.service !== r.service.service) touched.add(prev.service);
      n.services.set(id, { ...r.service, id, createIndex: prev?.createIndex ?? next, modifyIndex: next });
      touched.add(r.service.service);
    }
    for (const c of r.checks ?? []) {
      const prev = n.checks.get(c.checkId);
      n.checks.set(c.checkId, { ...c, createIndex: prev?.createIndex ?? next, modifyIndex: next });
      if (c.serviceId) {
        const s = n.services.get(c.serviceId);
        if (s) touched.add(s.service);
      } else {
        for (const s of servicesOf(n)) touched.add(s);
      }
    }
    commit(touched);
  }

  function deregister(node: string, serviceId?: string): void {
    const n = nodes.get(node);
    if (!n) return;
    if (serviceId === undefined) {
      const touched = servicesOf(n);
      nodes.delete(node);
      commit(touched);
      return;
    }
    const s = n.services.get(serviceId);
    if (!s) return;
    n.services.delete(serviceId);
    for (const [id, c] of n.checks) if (c.serviceId === serviceId) n.checks.delete(id);
    commit([s.service]);
  }

  function setCheckStatus(node: string, checkId: string, status: FakeConsulCheck["status"]): void {
    const n = nodes.get(node);
    const c = n?.checks.get(checkId);
    if (!n || !c) throw new Error(`fake consul: no check ${checkId} on node ${node}`);
    c.status = status;
    c.modifyIndex = index + 1;
    commit(c.serviceId ? [n.services.get(c.serviceId)?.service ?? ""] : servicesOf(n));
  }

  /** The token's verdict: true = full read, false = anonymous (filtered). */
  function authorize(req: Request, params: URLSearchParams): boolean {
    if (!opts.aclTokens) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
    const token = req.headers.get("x-consul-token") ?? params.get("token") ?? bearer;
    if (token === undefined || token === null || token === "") return false;
    if (!opts.aclTokens.includes(token)) throw new HTTPError(403, "ACL not found");
    return true;
  }

  function nodeMetaFilter(params: URLSearchParams): [string, string][] {
    return params.getAll("node-meta").map((p) => {
      const colon = p.indexOf(":");
      return colon === -1 ? [p, ""] : [p.slice(0, colon), p.slice(colon + 1)];
    });
  }

  function scopeMatches(s: FakeConsulService, params: URLSearchParams): boolean {
    const ns = params.get("ns") || "default";
    const partition = params.get("partition") || "default";
    return (s.namespace ?? "default") === ns && (s.partition ?? "default") === partition;
  }

  function nodeMatches(n: NodeEntry, meta: [string, string][]): boolean {
    return meta.every(([k, v]) => n.meta[k] === v);
  }

  /** Waits until `resultIndex()` exceeds the request's `index` or its wait elapses. */
  async function blockIfAsked(params: URLSearchParams, resultIndex: () => number, signal: AbortSignal): Promise<void> {
    const rawIndex = params.get("index");
    if (rawIndex === null) return;
    if (!/^\d+$/.test(rawIndex)) throw new HTTPError(400, "Invalid index");
    const minIndex = Number(rawIndex);
    if (minIndex === 0) return;
    let waitMs = DEFAULT_WAIT_MS;
    const rawWait = params.get("wait");
    if (rawWait !== null) {
      const w = parseGoDuration(rawWait);
      if (w === undefined) throw new HTTPError(400, "Invalid wait time");
      waitMs = Math.min(w, MAX_WAIT_MS);
    }
    const deadline = Date.now() + waitMs + Math.random() * (waitMs / 16);
    blocked++;
    try {
      while (resultIndex() <= minIndex && Date.now() < deadline && !signal.aborted && server !== undefined) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          waiters.push(done);
          signal.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      blocked--;
    }
  }

  function json(body: unknown, idx: number, filtered = false): Response {
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "X-Consul-Index": String(idx),
      "X-Consul-KnownLeader": "true",
      "X-Consul-LastContact": "0",
      "X-Consul-Effective-Consistency": "leader",
    };
    if (filtered) headers["X-Consul-Results-Filtered-By-ACLs"] = "true";
    return new Response(JSON.stringify(body, null, 2), { headers });
  }

  function healthEntry(n: NodeEntry, s: NodeEntry["services"] extends Map<string, infer V> ? V : never) {
    const serviceJSON: Record<string, unknown> = {
      ID: s.id, Service: s.service, Tags: s.tags ?? [], Address: s.address ?? "", Meta: s.meta ?? {}, Port: s.port,
      Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: { Mode: "", MeshGateway: {}, Expose: {} }, Connect: {}, PeerName: "",
      CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
    };
    if (s.namespace) serviceJSON.Namespace = s.namespace;
    if (s.partition) serviceJSON.Partition = s.partition;
    return {
      Node: { ID: n.id, Node: n.node, Address: n.address, Datacenter: datacenter, TaggedAddresses: n.taggedAddresses, Meta: n.meta, CreateIndex: n.createIndex, ModifyIndex: n.modifyIndex },
      Service: serviceJSON,
      Checks: [...n.checks.values()].filter((c) => c.serviceId === undefined || c.serviceId === s.id).map((c) => ({
        Node: n.node, CheckID: c.checkId, Name: c.name ?? c.checkId, Status: c.status, Notes: "", Output: "",
        ServiceID: c.serviceId ?? "", ServiceName: c.serviceId ? s.service : "", ServiceTags: c.serviceId ? s.tags ?? [] : [],
        Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {}, CreateIndex: c.createIndex, ModifyIndex: c.modifyIndex,
      })),
    };
  }

  /** The flat catalog form of a health entry. */
  function serviceNode(e: ReturnType<typeof healthEntry>) {
    return {
      ID: e.Node.ID, Node: e.Node.Node, Address: e.Node.Address, Datacenter: datacenter, TaggedAddresses: e.Node.TaggedAddresses, NodeMeta: e.Node.Meta,
      ServiceKind: "", ServiceID: e.Service.ID, ServiceName: e.Service.Service, ServiceTags: e.Service.Tags, ServiceAddress: e.Service.Address,
      ServiceWeights: e.Service.Weights, ServiceMeta: e.Service.Meta, ServicePort: e.Service.Port, ServiceEnableTagOverride: false,
      CreateIndex: e.Service.CreateIndex, ModifyIndex: e.Service.ModifyIndex,
    };
  }

  function compileFilter(params: URLSearchParams, fields: readonly string[]): (record: unknown) => boolean {
    const src = params.get("filter");
    if (src === null || src === "") return () => true;
    try {
      return compileConsulFilter(src, fields);
    } catch (err) {
      throw new HTTPError(400, `Failed to create boolean expression evaluator: ${(err as Error).message}`);
    }
  }

  function instancesOf(name: string, params: URLSearchParams) {
    const meta = nodeMetaFilter(params);
    const tags = params.getAll("tag");
    const out: ReturnType<typeof healthEntry>[] = [];
    for (const n of [...nodes.values()].sort((a, b) => (a.node < b.node ? -1 : 1))) {
      if (!nodeMatches(n, meta)) continue;
      for (const s of n.services.values()) {
        if (s.service !== name || !scopeMatches(s, params)) continue;
        if (!tags.every((t) => (s.tags ?? []).includes(t))) continue;
        out.push(healthEntry(n, s));
      }
    }
    return out;
  }

  async function route(req: Request, url: URL, signal: AbortSignal): Promise<Response> {
    const params = url.searchParams;
    const path = url.pathname;
    const readPaths = /^\/v1\/(agent\/self|catalog\/services|catalog\/service\/[^/]+|health\/service\/[^/]+)$/;
    if (readPaths.test(path) && req.method !== "GET" && req.method !== "HEAD") throw new HTTPError(405, `method ${req.method} not allowed`);
    const dc = params.get("dc");
    if (dc !== null && dc !== "" && dc !== datacenter) throw new HTTPError(500, "No path to datacenter");
    if (params.has("stale") && params.has("consistent")) throw new HTTPError(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
    const canRead = authorize(req, params);

    if (path === "/v1/agent/self") {
      if (!canRead) throw new HTTPError(403, "Permission denied: anonymous token lacks permission 'agent:read' on \"node\"");
      return json({ Config: { Datacenter: datacenter, NodeName: "fake-agent", NodeID: "00000000-0000-0000-0000-000000000001", Server: true, Version: "1.17.0" }, Member: { Name: "fake-agent", Addr: "127.0.0.1", Port: 8301 } }, index);
    }
    if (path === "/v1/catalog/services") {
      await blockIfAsked(params, () => servicesIndex, signal);
      const meta = nodeMetaFilter(params);
      const filter = compileFilter(params, SERVICE_NODE_FIELDS);
      const out: Record<string, string[]> = {};
      if (canRead) {
        for (const n of nodes.values()) {
          if (!nodeMatches(n, meta)) continue;
          for (const s of n.services.values()) {
            if (!scopeMatches(s, params) || !filter(serviceNode(healthEntry(n, s)))) continue;
            const tags = (out[s.service] ??= []);
            for (const t of s.tags ?? []) if (!tags.includes(t)) tags.push(t);
          }
        }
      }
      return json(out, servicesIndex, !canRead);
    }
    const serviceMatch = /^\/v1\/(catalog|health)\/service\/([^/]+)$/.exec(path);
    if (serviceMatch) {
      const name = decodeURIComponent(serviceMatch[2]!);
      const idx = () => serviceIndex.get(name) ?? servicesIndex;
      const isHealth = serviceMatch[1] === "health";
      const filter = compileFilter(params, isHealth ? HEALTH_ENTRY_FIELDS : SERVICE_NODE_FIELDS);
      await blockIfAsked(params, idx, signal);
      let entries = canRead ? instancesOf(name, params) : [];
      if (isHealth) {
        const passing = params.get("passing");
        if (passing !== null && passing !== "false") entries = entries.filter((e) => e.Checks.every((c) => c.Status === "passing"));
        return json(entries.filter(filter), idx(), !canRead);
      }
      return json(entries.map(serviceNode).filter(filter), idx(), !canRead);
    }
    if (path === "/v1/catalog/register" || path === "/v1/catalog/deregister") {
      if (req.method !== "PUT") throw new HTTPError(405, `method ${req.method} not allowed`);
      if (!canRead) throw new HTTPError(403, "Permission denied");
      let body: Record<string, any>;
      try {
        body = (await req.json()) as Record<string, any>;
      } catch {
        throw new HTTPError(400, "Request decode failed: invalid JSON");
      }
      if (typeof body.Node !== "string" || body.Node === "") throw new HTTPError(400, "Must provide node");
      if (path === "/v1/catalog/deregister") {
        deregister(body.Node, typeof body.ServiceID === "string" ? body.ServiceID : undefined);
        return json(true, index);
      }
      if (typeof body.Address !== "string" || body.Address === "") throw new HTTPError(400, "Must provide address");
      const svc = body.Service as Record<string, any> | undefined;
      if (svc !== undefined && (typeof svc.Service !== "string" || svc.Service === "")) throw new HTTPError(400, "Must provide service name with ID");
      register({
        node: body.Node, address: body.Address, nodeMeta: body.NodeMeta, taggedAddresses: body.TaggedAddresses,
        service: svc && { id: svc.ID, service: svc.Service, tags: svc.Tags, address: svc.Address, port: Number(svc.Port ?? 0), meta: svc.Meta },
      });
      return json(true, index);
    }
    throw new HTTPError(404, "404 page not found");
  }

  function listen(): void {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      idleTimeout: 0,
      async fetch(req) {
        const url = new URL(req.url);
        const start = Date.now();
        // Logged on arrival so held queries are visible; status and time are filled in when answered.
        const entry: FakeConsulRequest = { method: req.method, path: url.pathname, params: url.searchParams, status: 0, heldMs: 0 };
        requests.push(entry);
        let res: Response;
        try {
          res = await route(req, url, req.signal);
        } catch (e) {
          if (!(e instanceof HTTPError)) throw e;
          res = new Response(e.message, { status: e.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
        }
        entry.status = res.status;
        entry.heldMs = Date.now() - start;
        return res;
      },
    });
    port = server.port!;
  }

  listen();
  return {
    get url() { return `http://127.0.0.1:${port}`; },
    get port() { return port; },
    get index() { return index; },
    get blockedQueries() { return blocked; },
    requests,
    register,
    deregister,
    setCheckStatus,
    restoreSnapshot(to: number) {
      index = to;
      servicesIndex = Math.min(servicesIndex, to);
      for (const [k, v] of serviceIndex) serviceIndex.set(k, Math.min(v, to));
    },
    stop() {
      const s = server;
      server = undefined;
      for (const wake of waiters) wake();
      waiters = [];
      s?.stop(true);
    },
    restart() {
      if (server === undefined) listen();
    },
  };
}
