/**
 * The graph of a range query: uPlot lines (or stacked areas), drag to zoom
 * (double-click resets), a legend whose entries toggle their series (click
 * or keyboard), and a readout of the values under the cursor.
 */
import uPlot from "uplot";
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { formatSeries, formatTime, type Labels } from "./api.ts";

export interface RangeSeries {
  metric: Labels;
  values?: [number, string][];
  histograms?: unknown[];
}

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#3366cc", "#dc3912", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395", "#994499",
];

export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Aligns the series on the query's step grid: x in seconds, null where a series has no sample. */
export function alignSeries(series: RangeSeries[], start: number, end: number, step: number): { xs: number[]; ys: (number | null)[][] } {
  const n = Math.max(1, Math.floor((end - start) / step + 1e-9) + 1);
  const xs = Array.from({ length: n }, (_, i) => start + i * step);
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - start) / step);
      const num = Number(v);
      if (i >= 0 && i < n && Number.isFinite(num)) col[i] = num;
    }
    return col;
  });
  return { xs, ys };
}

function stack(ys: (number | null)[][], shown: boolean[]): (number | null)[][] {
  const sums: number[] = new Array(ys[0]?.length ?? 0).fill(0);
  return ys.map((col, si) => col.map((v, i) => {
    if (v === null || !shown[si]) return shown[si] ? null : v;
    sums[i] = sums[i]! + v;
    return sums[i]!;
  }));
}

function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(6)));
}

/** The graph with its legend. */
export function Graph(props: { series: RangeSeries[]; start: number; end: number; step: number; stacked: boolean; height?: number }) {
  const height = props.height ?? 320;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [shown, setShown] = useState<boolean[]>(() => props.series.map(() => true));
  const [readout, setReadout] = useState<string>("");
  const aligned = useRef<{ xs: number[]; ys: (number | null)[][] }>({ xs: [], ys: [] });

  useEffect(() => setShown(props.series.map(() => true)), [props.series]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { xs, ys } = alignSeries(props.series, props.start, props.end, props.step);
    aligned.current = { xs, ys };
    const visible = shown.length === ys.length ? shown : ys.map(() => true);
    const data = [xs, ...(props.stacked ? stack(ys, visible) : ys)] as uPlot.AlignedData;
    const width = Math.max(300, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, focus: { prox: 16 } },
      scales: { x: { time: true } },
      axes: [{}, { size: 70, values: (_u, splits) => splits.map((v) => formatValue(v)) }],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: formatSeries(s.metric),
          stroke: seriesColor(i),
          width: 1.5,
          show: visible[i] ?? true,
          fill: props.stacked ? seriesColor(i) + "55" : undefined,
          spanGaps: false,
          // Points where a line cannot show: few samples, or samples with gaps around them.
          points: { show: ys[i]!.filter((v) => v !== null).length < 60, size: 5 },
        })),
      ],
      hooks: {
        setCursor: [(u) => {
          const idx = u.cursor.idx;
          if (idx === null || idx === undefined) return setReadout("");
          const focused = u.series.findIndex((s, i) => i > 0 && (s as { _focus?: boolean })._focus);
          const si = focused > 0 ? focused : -1;
          const t = formatTime(xs[idx]! * 1000);
          if (si > 0) setReadout(`${t}  ${u.series[si]!.label}: ${formatValue(aligned.current.ys[si - 1]![idx])}`);
          else setReadout(t);
        }],
      },
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, el);
    const onResize = () => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height });
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.series, props.start, props.end, props.step, props.stacked, height, props.stacked ? shown : null]);

  const toggle = (i: number, only: boolean) => {
    const next = only
      ? shown.map((_, j) => (shown.every((v, k) => (k === i) === v) ? true : j === i))
      : shown.map((v, j) => (j === i ? !v : v));
    setShown(next);
    if (!props.stacked) next.forEach((v, j) => plot.current?.setSeries(j + 1, { show: v }));
  };

  return html`<div class="graph">
    <div class="graph-readout" aria-live="polite">${readout || "\u00a0"}</div>
    <div class="graph-canvas" ref=${box}></div>
    <ul class="legend" aria-label="Legend: click a series to show or hide it, Ctrl+click to show only it">
      ${props.series.map((s, i) => html`<li key=${i}>
        <button type="button" class=${shown[i] === false ? "legend-item off" : "legend-item"} aria-pressed=${shown[i] !== false}
          onClick=${(e: MouseEvent) => toggle(i, e.ctrlKey || e.metaKey)}>
          <span class="swatch" style=${`background:${seriesColor(i)}`}></span><span class="legend-label">${formatSeries(s.metric)}</span>
        </button></li>`)}
    </ul>
  </div>`;
}
