import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

test("after DiscoveryManager.stop() nothing keeps the process alive", async () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-sd-exit-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "stop_then_exit.ts"), dir], { stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => {
    if (proc.exitCode === null) process.kill(proc.pid, "SIGKILL");
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    proc.exited.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), 15_000); }),
  ]);
  clearTimeout(timer);
  if (!exited) process.kill(proc.pid, "SIGKILL");
  const stdout = await new Response(proc.stdout).text();
  expect({ exited, stdout: stdout.trim() }).toEqual({ exited: true, stdout: "stopped" });
  expect(proc.exitCode).toBe(0);
});
