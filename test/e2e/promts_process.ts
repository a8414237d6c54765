/**
 * Runs the compiled dist/promts for end-to-end and interop tests: free ports
 * on 127.0.0.1, readiness polled with a deadline, stderr collected for log
 * assertions, and a stop that kills by PID and waits for the exit.
 */
import { existsSync } from "node:fs";
import { freePort, PROMTS_BINARY } from "../support/processes.ts";
import { pollUntil } from "../support/wait.ts";

const READY_DEADLINE_MS = 20_000;
const EXIT_DEADLINE_MS = 10_000;
const POLL_MS = 50;

/** Throws a readable error when dist/promts has not been built. */
export function requireBinary(): void {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\` (npm test does this first)`);
}

/** A running promts server. */
export interface PromtsProcess {
  url: string;
  pid: number;
  /** Everything written to stderr so far (the logs). */
  logs(): string;
  /** SIGTERM by PID, SIGKILL after a deadline; resolves with the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts dist/promts with `args` plus a free --web.listen-address (unless
 * `listenArg` gives the spelling, e.g. "-web.listen-address") and waits for
 * /-/ready (`port` when given, e.g. to write it into a self-scrape config first). Kills the process and throws when it exits or is not ready in time.
 */
export async function startPromts(args: readonly string[], cwd: string, listenArg = "--web.listen-address", port = freePort()): Promise<PromtsProcess> {
  requireBinary();
  const proc = Bun.spawn([PROMTS_BINARY, ...args, `${listenArg}=127.0.0.1:${port}`], { cwd, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let stderr = "";
  const decoder = new TextDecoder();
  const drained = (async () => {
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<number> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), EXIT_DEADLINE_MS);
    const code = await proc.exited;
    clearTimeout(timer);
    await drained;
    return code;
  };
  try {
    await pollUntil("promts to become ready", async () => (await fetch(`${url}/-/ready`)).status === 200, {
      deadlineMs: READY_DEADLINE_MS,
      intervalMs: POLL_MS,
      abortIf: () => (proc.exitCode !== null ? `promts exited with ${proc.exitCode}` : undefined),
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; stderr:\n${stderr.slice(-3000)}`);
  }
  return { url, pid: proc.pid, logs: () => stderr, stop };
}

/** Polls `check` until it returns a value other than undefined or false, or throws naming `what` after the deadline. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, deadlineMs = 15_000): Promise<T> {
  return pollUntil(what, check, { deadlineMs, intervalMs: POLL_MS });
}

/** One series of an instant-query vector result. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query at now through /api/v1/query; throws on an API error. */
export async function instantQuery(url: string, query: string): Promise<VectorSample[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: VectorSample[] } };
  if (body.status !== "success") throw new Error(`query ${query} failed: ${body.error}`);
  if (body.data.resultType !== "vector") throw new Error(`query ${query} returned a ${body.data.resultType}`);
  return body.data.result;
}

/** GET a JSON API path and return its `data`. */
export async function apiData<T = any>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`);
  const body = (await res.json()) as { status: string; error?: string; data: T };
  if (body.status !== "success") throw new Error(`${path} failed: ${body.error}`);
  return body.data;
}
