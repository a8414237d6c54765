/**
 * Process helpers for end-to-end and interop tests: free ports on
 * 127.0.0.1, children whose output is collected as it arrives, polling with
 * a deadline, and stopping by PID (SIGTERM, then SIGKILL after a deadline).
 */
import { join } from "node:path";
import { pollUntil } from "./wait.ts";

/** The binary `npx bun build.ts` writes. */
export const PROMTS_BINARY = join(import.meta.dir, "../../dist/promts");

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** A started child process. */
export interface Child {
  readonly pid: number;
  readonly name: string;
  /** stdout so far. */
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
  /** Whether it has exited. */
  exited(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM by PID, SIGKILL after `deadlineMs`; resolves with the exit code (or signal number). */
  stop(deadlineMs?: number): Promise<number>;
}

const children = new Set<Child>();

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    into.text += decoder.decode(value, { stream: true });
  }
}

/** Starts `cmd`; every child is remembered so {@link stopAll} can end it. */
export function spawnChild(name: string, cmd: string[], cwd?: string): Child {
  const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out = { text: "" };
  const err = { text: "" };
  void collect(proc.stdout, out);
  void collect(proc.stderr, err);
  const child: Child = {
    pid: proc.pid,
    name,
    stdout: () => out.text,
    stderr: () => err.text,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    signal: (sig) => proc.kill(sig),
    async stop(deadlineMs = 10_000) {
      children.delete(child);
      if (!child.exited()) proc.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          proc.kill("SIGKILL");
          resolve(-1);
        }, deadlineMs);
      });
      const code = await Promise.race([proc.exited, killed]);
      clearTimeout(timer);
      return code;
    },
  };
  children.add(child);
  return child;
}

/** Kills every child still running (SIGKILL by PID); for afterEach. */
export async function stopAll(): Promise<void> {
  for (const c of [...children]) await c.stop(2000);
}

/**
 * Polls `check` every 50ms until it returns a value other than undefined
 * or false; throws after `deadlineMs` with `what` and, when given, the
 * children's logs (and at once when one of them exits).
 */
export function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, deadlineMs = 20_000, logsOf: Child[] = []): Promise<T> {
  return pollUntil(what, check, {
    deadlineMs,
    intervalMs: 50,
    abortIf: () => {
      const dead = logsOf.find((c) => c.exited());
      return dead && `${dead.name} (pid ${dead.pid}) exited:\n${dead.stderr()}`;
    },
    details: () => logsOf.map((c) => `--- ${c.name} stderr ---\n${c.stderr()}`).join("\n"),
  });
}

/** Resolves when `url` answers 200. */
export function waitForOK(url: string, child: Child, deadlineMs = 20_000): Promise<true> {
  return waitUntil(`${url} to answer 200`, async () => (await fetch(url)).status === 200 || undefined, deadlineMs, [child]);
}

/** Parses the webhook logger's stdout: one JSON payload per line. */
export function webhookPayloads(stdout: string): Record<string, any>[] {
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, any>);
}
