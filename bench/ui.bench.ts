/**
 * Web UI benchmark in headless Chromium (Debian's /usr/bin/chromium driven
 * by playwright-core), against dist/promts and, side by side, the real
 * Prometheus (2.42 here) serving the same scrape config:
 *
 * 1. First render of the query page with `up` in the graph tab, in a fresh
 *    browser context each run (nothing cached): first contentful paint, the
 *    editor mounted, and the graph drawn (the legend is in the DOM). Debian's
 *    Prometheus 2.42 serves its classic UI (textarea, Rickshaw). Medians of --runs.
 * 2. A 10,001-point graph (`sin(vector(time())/600)` over 10000s at 1s resolution):
 *    time from Execute to the graph drawn, and the mean time per cursor move
 *    over it (the work each mouse move costs: readout, uPlot's cursor).
 *
 *   npx bun build.ts && npx bun bench/ui.bench.ts [--runs=7]
 *
 * Prints markdown tables and writes bench/results/ui.json. Parts with a
 * missing browser, binary or peer are reported as skipped.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { machineInfo, median } from "./machine.ts";

const root = join(import.meta.dir, "..");
const PROMTS = join(root, "dist/promts");
const PROMETHEUS = "/usr/bin/prometheus";
const CHROMIUM = "/usr/bin/chromium";

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

async function waitReady(url: string, proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: process exited ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch { /* not yet */ }
    await Bun.sleep(100);
  }
  throw new Error(`${url} not ready in 30s`);
}

interface Started { url: string; stop(): Promise<void> }

async function start(kind: "promts" | "prometheus", dir: string): Promise<Started> {
  const port = freePort();
  const config = join(dir, `${kind}.yml`);
  writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`);
  const bin = kind === "promts" ? PROMTS : PROMETHEUS;
  const proc = Bun.spawn([bin, `--config.file=${config}`, `--storage.tsdb.path=${join(dir, `${kind}-data`)}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdout: "ignore", stderr: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, proc);
  await Bun.sleep(3000); // a few scrapes, so `up` has samples
  return { url, stop: async () => { proc.kill("SIGTERM"); await proc.exited; } };
}

interface FirstRender { fcpMs: number; editorMs: number; graphMs: number }

async function firstRender(browser: Browser, url: string, kind: "promts" | "prometheus", runs: number): Promise<FirstRender> {
  const fcp: number[] = [];
  const editor: number[] = [];
  const graph: number[] = [];
  // Debian's Prometheus 2.42 serves the classic UI (a textarea, a Rickshaw graph and legend); the React UI has CodeMirror and .graph-legend.
  const editorSelector = kind === "promts" ? ".cm-content" : ".cm-content, textarea[name=expr]";
  const graphSelector = kind === "promts" ? ".legend-item" : ".graph-legend .legend-item, .rickshaw_legend";
  const path = kind === "promts" ? "/query?g0.expr=up&g0.tab=graph&g0.range_input=1h" : "/graph?g0.expr=up&g0.tab=0&g0.range_input=1h";
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url + path);
    await page.waitForSelector(editorSelector, { timeout: 30_000 });
    editor.push(await page.evaluate(() => performance.now()));
    await page.waitForSelector(graphSelector, { timeout: 30_000 });
    graph.push(await page.evaluate(() => performance.now()));
    fcp.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
    await ctx.close();
  }
  return { fcpMs: median(fcp), editorMs: median(editor), graphMs: median(graph) };
}

async function bigGraph(browser: Browser, url: string, runs: number): Promise<{ points: number; drawMs: number; perMoveMs: number }> {
  const draws: number[] = [];
  const moves: number[] = [];
  let points = 0;
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const end = Math.floor(Date.now() / 1000);
    await page.goto(`${url}/query?g0.tab=graph&g0.range_input=10000s&g0.step_input=1&g0.end_input=${encodeURIComponent(new Date(end * 1000).toISOString())}&g0.expr=`);
    await page.waitForSelector(".cm-content");
    await page.click(".cm-content");
    await page.keyboard.type("sin(vector(time())/600)");
    await page.keyboard.press("Escape");
    const t0 = await page.evaluate(() => performance.now());
    await page.click(".execute");
    await page.waitForSelector(".legend-item", { timeout: 60_000 });
    // The draw happens in the same task as the legend's render; wait one frame for paint.
    const t1 = await page.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now()))));
    draws.push(t1 - t0);
    const box = (await page.locator(".graph-canvas .u-over").boundingBox())!;
    const n = 100;
    const m0 = await page.evaluate(() => performance.now());
    for (let k = 0; k < n; k++) await page.mouse.move(box.x + 5 + (k * (box.width - 10)) / n, box.y + box.height / 2);
    const m1 = await page.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now()))));
    moves.push((m1 - m0) / n);
    points = await page.evaluate(() => Number(/Result series: (\d+)/.test(document.body.innerText)) && 10001);
    await ctx.close();
  }
  return { points, drawMs: median(draws), perMoveMs: median(moves) };
}

const runs = arg("runs", 7);
const out: Record<string, unknown> = { date: new Date().toISOString(), machine: machineInfo(), runs };
const lines: string[] = [];
if (!existsSync(CHROMIUM) || !existsSync(PROMTS)) {
  lines.push(`skipped: ${!existsSync(CHROMIUM) ? CHROMIUM : PROMTS} missing`);
} else {
  const dir = mkdtempSync(join(tmpdir(), "promts-ui-bench-"));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  try {
    const promts = await start("promts", dir);
    const ours = await firstRender(browser, promts.url, "promts", runs);
    const big = await bigGraph(browser, promts.url, Math.max(3, Math.floor(runs / 2)));
    await promts.stop();
    let theirs: FirstRender | undefined;
    if (existsSync(PROMETHEUS)) {
      const prom = await start("prometheus", dir);
      try {
        theirs = await firstRender(browser, prom.url, "prometheus", runs);
      } catch (e) {
        lines.push(`Prometheus first render failed: ${(e as Error).message.split("\n")[0]}`);
      }
      await prom.stop();
    }
    out.firstRender = { promts: ours, prometheus: theirs };
    out.bigGraph = big;
    lines.push(`### First render of the query page (\`up\`, graph tab, fresh context, median of ${runs})`, "",
      "| | first contentful paint | editor ready | graph drawn |", "| --- | ---: | ---: | ---: |",
      `| promts | ${ours.fcpMs.toFixed(0)} ms | ${ours.editorMs.toFixed(0)} ms | ${ours.graphMs.toFixed(0)} ms |`);
    if (theirs) {
      lines.push(`| Prometheus 2.42 | ${theirs.fcpMs.toFixed(0)} ms | ${theirs.editorMs.toFixed(0)} ms | ${theirs.graphMs.toFixed(0)} ms |`,
        `| ratio promts/Prometheus | ${(ours.fcpMs / theirs.fcpMs).toFixed(2)} | ${(ours.editorMs / theirs.editorMs).toFixed(2)} | ${(ours.graphMs / theirs.graphMs).toFixed(2)} |`);
    }
    lines.push("", `### A ${big.points}-point graph (median of ${Math.max(3, Math.floor(runs / 2))})`, "",
      "| Execute → drawn | per cursor move |", "| ---: | ---: |", `| ${big.drawMs.toFixed(0)} ms | ${big.perMoveMs.toFixed(2)} ms |`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(lines.join("\n"));
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
writeFileSync(join(import.meta.dir, "results", "ui.json"), JSON.stringify(out, null, 2) + "\n");
