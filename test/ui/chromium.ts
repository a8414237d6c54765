/**
 * Headless Chromium for the UI tests: Debian's /usr/bin/chromium (or one on
 * PATH) driven by playwright-core. Collects console errors and page errors
 * per page, and saves screenshots under test/ui/artifacts/ (gitignored).
 */
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { peerAvailable } from "../support/peers.ts";
import type { Child } from "../support/processes.ts";

export const ARTIFACTS = join(import.meta.dir, "artifacts");

/** The Chromium binary, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  if (existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
  return Bun.which("chromium") ?? Bun.which("chromium-browser") ?? undefined;
}

/** Whether the browser tests can run: skips loudly, or throws under PROMTS_REQUIRE_PEERS=1. */
export function browserAvailable(): boolean {
  return peerAvailable(chromiumPath(), "chromium", "chromium not installed (apt-get install chromium): the web UI browser tests did not run");
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** A page that records what went wrong in it. */
export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions so far, with the URL they happened on. */
  errors: string[];
  screenshot(name: string): Promise<string>;
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${page.url()}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: uncaught: ${e.message}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    page,
    errors,
    screenshot: async (name) => {
      const file = join(ARTIFACTS, `${name.replace(/[^a-z0-9_-]+/gi, "_")}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
}

/** `name{a="b", c="d"}` as Prometheus prints a series (written again here so the UI's own formatting is checked). */
export function seriesText(labels: Record<string, string>): string {
  const name = labels.__name__ ?? "";
  const rest = Object.keys(labels).filter((k) => k !== "__name__").sort().map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return rest.length === 0 && name !== "" ? name : `${name}{${rest.join(", ")}}`;
}

/** What a browser test file shares: a temporary directory, the browser, and the children it started (stopped by PID after the file). */
export interface BrowserSuite {
  /** False when Chromium is missing (the tests return early; under PROMTS_REQUIRE_PEERS=1 beforeAll throws). */
  ok: boolean;
  dir: string;
  browser: Browser | undefined;
  started: Child[];
}

/** Registers beforeAll/afterAll for a browser test file: a temp dir named `prefix…`, one Chromium, cleanup. */
export function browserSuite(prefix: string): BrowserSuite {
  const suite: BrowserSuite = { ok: false, dir: "", browser: undefined, started: [] };
  beforeAll(async () => {
    suite.ok = browserAvailable();
    if (!suite.ok) return;
    suite.dir = mkdtempSync(join(tmpdir(), prefix));
    suite.browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await suite.browser?.close();
    for (const c of suite.started) await c.stop();
    if (suite.dir !== "") rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
