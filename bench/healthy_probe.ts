/**
 * Polls `<url>/-/healthy` every 20 ms from its own process (so the caller's
 * work does not delay the probe) until its stdin closes, then prints the
 * latencies in ms as a JSON array (a failed or timed-out request counts as
 * Infinity, printed as null).
 *
 *   bun bench/healthy_probe.ts http://127.0.0.1:9090
 */
export {};

const url = process.argv[2];
if (!url) throw new Error("usage: healthy_probe.ts URL");
let running = true;
void (async () => {
  const reader = Bun.stdin.stream().getReader();
  while (!(await reader.read()).done);
  running = false;
})();
const latencies: number[] = [];
while (running) {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/-/healthy`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    latencies.push(res.ok ? performance.now() - t0 : Infinity);
  } catch {
    latencies.push(Infinity);
  }
  await Bun.sleep(20);
}
console.log(JSON.stringify(latencies));
