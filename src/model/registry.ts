/**
 * promts's own metrics (what `/metrics` serves): counters, gauges, histograms
 * and callback gauges, with optional label dimensions, rendered in the
 * Prometheus text format 0.0.4.
 *
 * @example
 * const reg = new Registry();
 * const c = reg.counter("prometheus_tsdb_head_samples_appended_total", "Total appended samples.");
 * c.inc(10);
 * reg.render(); // "# HELP ...\n# TYPE ... counter\nprometheus_tsdb_head_samples_appended_total 10\n"
 */

type Kind = "counter" | "gauge" | "histogram" | "summary" | "untyped";

interface Family {
  name: string;
  help: string;
  kind: Kind;
  render(out: string[]): void;
}

/** Formats a sample value the way Prometheus's text format does. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelStr(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Vec<T> {
  private readonly children = new Map<string, { values: string[]; child: T }>();
  constructor(private readonly make: () => T) {}
  get(values: readonly string[]): T {
    const key = values.join("\xff");
    let e = this.children.get(key);
    if (!e) {
      e = { values: [...values], child: this.make() };
      this.children.set(key, e);
    }
    return e.child;
  }
  remove(values: readonly string[]): void {
    this.children.delete(values.join("\xff"));
  }
  entries(): Iterable<{ values: string[]; child: T }> {
    return [...this.children.values()].sort((a, b) => (a.values.join("\xff") < b.values.join("\xff") ? -1 : 1));
  }
}

export class Counter {
  value = 0;
  inc(by = 1): void {
    if (by < 0) throw new Error("counter cannot decrease");
    this.value += by;
  }
}

export class Gauge {
  value = 0;
  set(v: number): void { this.value = v; }
  inc(by = 1): void { this.value += by; }
  dec(by = 1): void { this.value -= by; }
}

export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A named group of metrics rendered together on `/metrics`. */
export class Registry {
  private readonly families = new Map<string, Family>();

  private add(f: Family): void {
    if (this.families.has(f.name)) throw new Error(`metric ${f.name} registered twice`);
    this.families.set(f.name, f);
  }

  counter(name: string, help: string): Counter {
    const c = new Counter();
    this.add({ name, help, kind: "counter", render: (o) => o.push(`${name} ${formatValue(c.value)}`) });
    return c;
  }

  gauge(name: string, help: string): Gauge {
    const g = new Gauge();
    this.add({ name, help, kind: "gauge", render: (o) => o.push(`${name} ${formatValue(g.value)}`) });
    return g;
  }

  /** A gauge (or counter) whose value is read at render time. */
  gaugeFunc(name: string, help: string, fn: () => number, kind: "gauge" | "counter" = "gauge"): void {
    this.add({ name, help, kind, render: (o) => o.push(`${name} ${formatValue(fn())}`) });
  }

  counterVec(name: string, help: string, labelNames: readonly string[]): Vec<Counter> {
    const v = new Vec(() => new Counter());
    this.add({
      name, help, kind: "counter",
      render: (o) => { for (const e of v.entries()) o.push(`${name}${labelStr(labelNames, e.values)} ${formatValue(e.child.value)}`); },
    });
    return v;
  }

  gaugeVec(name: string, help: string, labelNames: readonly string[]): Vec<Gauge> {
    const v = new Vec(() => new Gauge());
    this.add({
      name, help, kind: "gauge",
      render: (o) => { for (const e of v.entries()) o.push(`${name}${labelStr(labelNames, e.values)} ${formatValue(e.child.value)}`); },
    });
    return v;
  }

  histogram(name: string, help: string, buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    const h = new Histogram(buckets);
    this.add({ name, help, kind: "histogram", render: (o) => renderHistogram(o, name, [], [], h) });
    return h;
  }

  histogramVec(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DEFAULT_BUCKETS): Vec<Histogram> {
    const v = new Vec(() => new Histogram(buckets));
    this.add({
      name, help, kind: "histogram",
      render: (o) => { for (const e of v.entries()) renderHistogram(o, name, labelNames, e.values, e.child); },
    });
    return v;
  }

  /** Renders all families in the text format 0.0.4, sorted by name. */
  render(): string {
    const out: string[] = [];
    const names = [...this.families.keys()].sort();
    for (const n of names) {
      const f = this.families.get(n)!;
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${f.name} ${f.kind}`);
      f.render(out);
    }
    return out.join("\n") + "\n";
  }
}

function renderHistogram(o: string[], name: string, ln: readonly string[], lv: readonly string[], h: Histogram): void {
  for (let i = 0; i < h.buckets.length; i++) {
    o.push(`${name}_bucket${labelStr(ln, lv, `le="${formatValue(h.buckets[i]!)}"`)} ${h.counts[i]}`);
  }
  o.push(`${name}_bucket${labelStr(ln, lv, 'le="+Inf"')} ${h.count}`);
  o.push(`${name}_sum${labelStr(ln, lv)} ${formatValue(h.sum)}`);
  o.push(`${name}_count${labelStr(ln, lv)} ${h.count}`);
}
