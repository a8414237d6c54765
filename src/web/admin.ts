/**
 * The TSDB admin API (`/api/v1/admin/tsdb/*`), behind --web.enable-admin-api
 * as in Prometheus: when disabled every admin endpoint answers 503
 * "admin APIs disabled":
 *
 * - `snapshot` (with `skip_head`) writes
 *   `<storage.tsdb.path>/snapshots/<YYYYMMDDTHHMMSSZ>-<16 hex>` and answers
 *   its name;
 * - `delete_series` (`match[]`, `start`, `end`) puts tombstones on the
 *   matching series in blocks and head: 204 No Content, 400 without
 *   `match[]` or with a bad selector or time;
 * - `clean_tombstones` rewrites the blocks with tombstones: 204.
 *
 * @example
 * v1.route("/admin/tsdb", adminAPI({ enabled: true, db: () => db, dataDir: "data" }));
 */
import { Hono } from "hono";
import { join } from "node:path";
import { snapshotDB, type DB } from "../tsdb/index.ts";
import { MAX_TIME, MIN_TIME } from "../tsdb/index.ts";
import { ApiError, errorResponse, matchersParam, readForm, successValue, timeParam } from "./api/index.ts";

export interface AdminOptions {
  enabled: boolean;
  db: () => DB;
  dataDir: string;
  now?: () => Date;
}

/** Prometheus's snapshot name: UTC time to the second, a dash, 16 random hex digits. */
export function snapshotName(now: Date): string {
  const iso = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${iso}-${rand}`;
}

function boolParam(v: string | undefined, name: string): boolean {
  if (v === undefined || v === "") return false;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ApiError("bad_data", `unable to parse boolean '${name}' argument: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

export function adminAPI(opts: AdminOptions): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    if (!opts.enabled) return errorResponse(new ApiError("unavailable", "admin APIs disabled"));
    await next();
  });
  const snapshot = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let form = url.searchParams;
    if ((req.headers.get("Content-Type") ?? "").startsWith("application/x-www-form-urlencoded")) {
      const body = new URLSearchParams(await req.text());
      for (const [k, v] of url.searchParams) body.append(k, v);
      form = body;
    }
    try {
      const skipHead = boolParam(form.get("skip_head") ?? undefined, "skip_head");
      const name = snapshotName(opts.now?.() ?? new Date());
      await snapshotDB(opts.db(), opts.dataDir, join(opts.dataDir, "snapshots", name), !skipHead);
      return successValue({ name });
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      return errorResponse(new ApiError("internal", `create snapshot: ${(err as Error).message}`));
    }
  };
  app.post("/snapshot", (c) => snapshot(c.req.raw));
  app.put("/snapshot", (c) => snapshot(c.req.raw));

  const deleteSeries = async (req: Request): Promise<Response> => {
    try {
      const form = await readForm(req);
      const selectors = form.getAll("match[]");
      if (selectors.length === 0) throw new ApiError("bad_data", "no match[] parameter provided");
      const start = timeParam(form, "start", MIN_TIME);
      const end = timeParam(form, "end", MAX_TIME);
      const sets = matchersParam(selectors);
      for (const matchers of sets) await opts.db().delete(start, end, matchers);
      return new Response(null, { status: 204 });
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      return errorResponse(new ApiError("internal", (err as Error).message));
    }
  };
  app.post("/delete_series", (c) => deleteSeries(c.req.raw));
  app.put("/delete_series", (c) => deleteSeries(c.req.raw));

  const cleanTombstones = async (): Promise<Response> => {
    try {
      await opts.db().cleanTombstones();
      return new Response(null, { status: 204 });
    } catch (err) {
      return errorResponse(new ApiError("internal", (err as Error).message));
    }
  };
  app.post("/clean_tombstones", () => cleanTombstones());
  app.put("/clean_tombstones", () => cleanTombstones());
  return app;
}
