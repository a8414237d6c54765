/**
 * Hostile scrape targets for test/e2e/hostile-targets.test.ts, run as a
 * child process (so serving them costs the test process nothing). Prints its
 * port on the first line of stdout, then serves on 127.0.0.1:
 *
 * - /slow/<i>: a valid body that drips one line every 200 ms and never ends
 *   (the scrape must time out);
 * - /huge/<i>: `series` distinct series with long label values, plain;
 * - /huge-gz/<i>: the same, gzip-compressed (the client decompresses);
 * - /bomb/<i>: gzip of ~64 MiB of one repeated sample line, which
 *   decompresses past any sane body_size_limit.
 *
 * Bodies are built once at start; every response is static bytes.
 *
 *   bun test/e2e/hostile_exporter.ts <series>
 */
const series = Number(process.argv[2] ?? 20_000);

function hugeBody(target: string): string {
  const pad = "x".repeat(120);
  const lines: string[] = ["# HELP hostile_huge A large family.", "# TYPE hostile_huge gauge"];
  for (let i = 0; i < series; i++) lines.push(`hostile_huge{t="${target}",i="${i}",pad="${pad}"} ${i}`);
  return lines.join("\n") + "\n";
}

const huge = new Map<string, Uint8Array<ArrayBuffer>>();
const hugeGz = new Map<string, Uint8Array<ArrayBuffer>>();
function bodies(i: string): { plain: Uint8Array<ArrayBuffer>; gz: Uint8Array<ArrayBuffer> } {
  let plain = huge.get(i), gz = hugeGz.get(i);
  if (plain === undefined || gz === undefined) {
    plain = new TextEncoder().encode(hugeBody(i));
    gz = Bun.gzipSync(plain) as Uint8Array<ArrayBuffer>;
    huge.set(i, plain);
    hugeGz.set(i, gz);
  }
  return { plain, gz };
}
const bomb = Bun.gzipSync(new TextEncoder().encode("hostile_bomb 1\n".repeat(Math.ceil((64 * 1024 * 1024) / 15))), { level: 9 }) as Uint8Array<ArrayBuffer>;
for (let i = 0; i < 8; i++) bodies(String(i));

const TEXT = { "Content-Type": "text/plain; version=0.0.4" };

function slowDrip(): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  let n = 0;
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        try {
          controller.enqueue(enc.encode(`hostile_slow{n="${n++}"} 1\n`));
        } catch {
          clearInterval(timer);
        }
      }, 200);
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch(req) {
    const [, kind, id = "0"] = new URL(req.url).pathname.split("/");
    switch (kind) {
      case "slow":
        return new Response(slowDrip(), { headers: TEXT });
      case "huge":
        return new Response(bodies(id).plain, { headers: TEXT });
      case "huge-gz":
        return new Response(bodies(id).gz, { headers: { ...TEXT, "Content-Encoding": "gzip" } });
      case "bomb":
        return new Response(bomb, { headers: { ...TEXT, "Content-Encoding": "gzip" } });
      default:
        return new Response("not found\n", { status: 404 });
    }
  },
});
console.log(server.port);
