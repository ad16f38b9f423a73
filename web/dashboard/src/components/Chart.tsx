/**
 * A uPlot line chart in a React component. The step axis is log-like by default: arcsinh, which is
 * logarithmic above 1 and still shows step 0 (like the static charts' symlog). New data is pushed
 * with setData (no re-creation), so a live run redraws cheaply; the chart is re-created only when
 * its series or scales change. The container carries data-points (the number of x values drawn)
 * for tests and for anyone scripting the page.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import { formatStep } from '../format.ts';
import './chart.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
  dash?: number[];
  width?: number;
  /** Joins points across missing values (runs evaluated at different steps). */
  spanGaps?: boolean;
  /** Draws a dot at every value (few x values, e.g. one per setting of a sweep). */
  points?: boolean;
}

export interface Marker {
  x: number;
  label: string;
  color: string;
  dash?: number[];
}

export interface ChartProps {
  title: string;
  x: number[];
  series: ChartSeries[];
  xLabel?: string;
  yLabel?: string;
  /** Log-like step axis (arcsinh); default true. */
  xLog?: boolean;
  /** 'step' (default): x is a training step. 'log': any positive quantity on a log axis (e.g. a norm). */
  xKind?: 'step' | 'log';
  yLog?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracies. */
  yRange?: [number, number];
  yFormat?: (v: number) => string;
  markers?: Marker[];
  height?: number;
  /** Charts with the same key share the cursor. */
  syncKey?: string;
  testId?: string;
  /** Scales the canvas text (axis ticks and labels, marker labels), e.g. 1.5 on a projector; default 1. */
  fontScale?: number;
}

/**
 * On a log axis spanning several decades, grid lines and labels only at powers of ten (the 2…9
 * lines of every decade would grey out the plot); a narrow range keeps them all.
 */
function decades(_u: uPlot, splits: number[]): Array<number | null> {
  const major = splits.map((v) =>
    v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? v : null,
  );
  return major.filter((v) => v !== null).length >= 3 ? major : splits;
}

function defaultFormat(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(0)
    : String(Number(v.toPrecision(3)));
}

function markersPlugin(markers: Marker[], scale = 1): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        const dpr = window.devicePixelRatio || 1;
        ctx.save();
        markers.forEach((m, i) => {
          const x = Math.round(u.valToPos(m.x, 'x', true));
          if (x < bbox.left - 1 || x > bbox.left + bbox.width + 1) return;
          ctx.strokeStyle = m.color;
          ctx.lineWidth = 1.5 * dpr;
          ctx.setLineDash((m.dash ?? [5, 4]).map((d) => d * dpr));
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.font = `${11 * scale * dpr}px system-ui, sans-serif`;
          ctx.fillStyle = m.color;
          const text = `${m.label} ${formatStep(m.x)}`;
          const width = ctx.measureText(text).width;
          // Labels go right of their line unless that runs off the plot; stacked so they never overlap.
          const left = x + 4 * dpr + width > bbox.left + bbox.width ? x - 4 * dpr - width : x + 4 * dpr;
          const y = bbox.top + (12 + 13 * i) * scale * dpr;
          ctx.fillStyle = 'rgba(255,255,255,0.6)';
          ctx.fillRect(left - 2 * dpr, y - 10 * scale * dpr, width + 4 * dpr, 13 * scale * dpr);
          ctx.fillStyle = m.color;
          ctx.fillText(text, left, y);
        });
        ctx.restore();
      },
    },
  };
}

/** Tick labels; uPlot passes null for ticks it leaves unlabelled (minor ticks of log scales). */
function stepTicks(v: number | null): string {
  if (v === null || v === undefined || v < 0) return '';
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e6) return `${v / 1e6}M`;
  if (Math.abs(v) >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

export function Chart(props: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const xLog = props.xLog ?? true;
  const xKind = props.xKind ?? 'step';
  const fontScale = props.fontScale ?? 1;
  const data = useMemo(
    () => [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData,
    [props.x, props.series],
  );
  const latest = useRef(data);
  latest.current = data;

  // What needs a new chart: the series (names, colours, dashes), the scales and the markers.
  const shape = JSON.stringify([
    props.series.map((s) => [s.label, s.color, s.dash, s.width, s.spanGaps, s.points]),
    xLog,
    xKind,
    props.yLog,
    props.yRange,
    props.markers,
    props.height,
    props.xLabel,
    props.yLabel,
    props.syncKey,
    fontScale,
  ]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `shape` stands for every option the chart is built from
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const format = props.yFormat ?? defaultFormat;
    const yFormat = (v: number | null) => (v === null || v === undefined ? '' : format(v));
    // uPlot's own defaults (12px ticks, bold 12px labels) unless the text is scaled.
    const font = fontScale === 1 ? {} : { font: `${12 * fontScale}px system-ui, sans-serif` };
    const labelFont =
      fontScale === 1
        ? {}
        : { labelFont: `bold ${12 * fontScale}px system-ui, sans-serif`, labelSize: 30 * fontScale };
    const options: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: props.height ?? 280,
      cursor: props.syncKey ? { sync: { key: props.syncKey } } : {},
      legend: { live: true },
      scales: {
        // Steps are never negative: the axis starts at 0 (step 0 at the left edge on the log-like axis).
        x:
          xKind === 'log'
            ? { time: false, distr: 3, log: 10, range: (_u, min, max) => [min / 1.25, max * 1.25] }
            : xLog
              ? { time: false, distr: 4, asinh: 1, log: 10, range: (_u, _min, max) => [0, Math.max(1, max)] }
              : { time: false, range: (_u, _min, max) => [0, Math.max(1, max)] },
        y: {
          ...(props.yLog ? { distr: 3, log: 10 } : {}),
          ...(props.yRange ? { range: props.yRange } : {}),
        },
      },
      axes: [
        {
          label: props.xLabel ?? (xLog ? 'step (log scale)' : 'step'),
          values: (_u, splits) =>
            xKind === 'log' ? splits.map((v) => (v === null ? '' : defaultFormat(v))) : splits.map(stepTicks),
          grid: { stroke: '#eee' },
          ticks: { stroke: '#ddd' },
          ...font,
          ...labelFont,
          ...(fontScale === 1 ? {} : { size: 50 * fontScale }),
        },
        {
          label: props.yLabel,
          values: (_u, splits) => splits.map(yFormat),
          grid: { stroke: '#eee', ...(props.yLog ? { filter: decades } : {}) },
          ticks: { stroke: '#ddd', ...(props.yLog ? { filter: decades } : {}) },
          ...(props.yLog ? { filter: decades } : {}),
          size: 56 * fontScale,
          ...font,
          ...labelFont,
        },
      ],
      series: [
        xKind === 'log'
          ? { label: props.xLabel ?? 'x', value: (_u, v) => (v === null ? '–' : defaultFormat(v)) }
          : { label: 'step', value: (_u, v) => (v === null ? '–' : formatStep(v)) },
        ...props.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: s.width ?? 1.6,
            dash: s.dash,
            spanGaps: s.spanGaps ?? false,
            points: s.points ? { show: true, size: 7, fill: s.color } : { show: false },
            value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
          }),
        ),
      ],
      plugins: props.markers && props.markers.length > 0 ? [markersPlugin(props.markers, fontScale)] : [],
    };
    const u = new uPlot(options, latest.current, el);
    plot.current = u;
    const observer = new ResizeObserver(() => {
      const width = Math.max(300, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height: options.height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, xLog, xKind]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart" data-testid={props.testId} data-points={props.x.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={holder} className="chart-canvas" />
      {props.x.length === 0 && <p className="muted chart-empty">no evaluations yet</p>}
    </figure>
  );
}
