/**
 * The learning curves of the runs on show, side by side: one colour per run, train dashed and test
 * solid, on a log-like step axis, with each run's t_mem, onset and t_grok from its detect result
 * (as the dashboard's run page draws them). Runs grow every evaluation: the charts get new data
 * (uPlot setData) and are rebuilt only when runs, colours or markers change.
 */
import { useId, useMemo, useState } from 'react';
import type { EvalRecord } from '../../../../src/train/trainer.ts';
import { Chart, type ChartSeries, type Marker } from '../../../dashboard/src/components/Chart.tsx';
import { ComponentCharts } from '../../../dashboard/src/components/ComponentCharts.tsx';
import type { LabRun } from '../model.ts';
import { LARGE_FONT_SCALE, useLargeText } from './LargeText.tsx';

export interface RunChartsProps {
  runs: LabRun[];
  /** Scale of the charts' canvas text; by default 1, or LARGE_FONT_SCALE while the page is in large text. */
  fontScale?: number;
}

/** The steps of all runs, ascending, and each run's values at them (null where it has no evaluation). */
function aligned(runs: LabRun[]) {
  const steps = new Set<number>();
  for (const run of runs) for (const r of run.records) steps.add(r.step);
  const x = [...steps].sort((a, b) => a - b);
  const index = new Map(x.map((s, i) => [s, i]));
  const column = (run: LabRun, pick: (r: EvalRecord) => number | null | undefined) => {
    const values: Array<number | null> = new Array(x.length).fill(null);
    for (const r of run.records) {
      const v = pick(r);
      const i = index.get(r.step);
      if (i !== undefined && typeof v === 'number' && Number.isFinite(v)) values[i] = v;
    }
    return values;
  };
  return { x, column };
}

const positive = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : null);

/** t_mem, onset and t_grok of each run, in the run's colour; dashes tell the three apart. */
export function runMarkers(runs: LabRun[]): Marker[] {
  const markers: Marker[] = [];
  const prefix = (run: LabRun) => (runs.length > 1 ? `${run.label}: ` : '');
  for (const run of runs) {
    const m = run.detect?.measures;
    if (!m) continue;
    if (m.t_mem !== null)
      markers.push({ x: m.t_mem, label: `${prefix(run)}t_mem`, color: run.color, dash: [4, 3] });
    if (m.t_grok_onset !== null)
      markers.push({ x: m.t_grok_onset, label: `${prefix(run)}onset`, color: run.color, dash: [2, 3] });
    if (m.t_grok_crossing !== null)
      markers.push({ x: m.t_grok_crossing, label: `${prefix(run)}t_grok`, color: run.color, dash: [8, 3] });
  }
  return markers;
}

export function RunCharts(props: RunChartsProps) {
  const { runs } = props;
  const uid = useId();
  const large = useLargeText();
  const [xLog, setXLog] = useState(true);
  const { x, accuracy, loss, norm } = useMemo(() => {
    const { x, column } = aligned(runs);
    const name = (run: LabRun, what: string) => (runs.length > 1 ? `${run.label} ${what}` : what);
    const accuracy: ChartSeries[] = runs.flatMap((run) => [
      {
        label: name(run, 'train'),
        color: run.color,
        values: column(run, (r) => r.train_acc),
        dash: [7, 4],
        spanGaps: true,
      },
      {
        label: name(run, 'test'),
        color: run.color,
        values: column(run, (r) => r.test_acc),
        width: 2.2,
        spanGaps: true,
      },
    ]);
    const loss: ChartSeries[] = runs.flatMap((run) => [
      {
        label: name(run, 'train loss'),
        color: run.color,
        values: column(run, (r) => positive(r.train_loss)),
        dash: [7, 4],
        spanGaps: true,
      },
      {
        label: name(run, 'test loss'),
        color: run.color,
        values: column(run, (r) => positive(r.test_loss)),
        width: 2.2,
        spanGaps: true,
      },
    ]);
    const norm: ChartSeries[] = runs.map((run) => ({
      label: name(run, '‖θ‖'),
      color: run.color,
      values: column(run, (r) => r.weight_norm),
      width: 2,
      spanGaps: true,
    }));
    return { x, accuracy, loss, norm };
  }, [runs]);
  const markers = useMemo(() => runMarkers(runs), [runs]);
  const markerKey = JSON.stringify(markers);
  // biome-ignore lint/correctness/useExhaustiveDependencies: markerKey stands for the markers' content
  const stableMarkers = useMemo(() => markers, [markerKey]);

  if (runs.length === 0) {
    return (
      <section className="run-charts empty" data-testid="run-charts">
        <p className="muted">No run on show: train one, or tick a run in the list to draw its curves.</p>
      </section>
    );
  }
  const sync = `lab-${uid}`;
  const fontScale = props.fontScale ?? (large ? LARGE_FONT_SCALE : 1);
  return (
    <section className="run-charts" aria-label="Learning curves" data-testid="run-charts">
      <div className="toolbar small">
        <span className="muted">train dashed, test solid; markers: t_mem, onset, t_grok</span>
        <label className="toggle">
          <input type="checkbox" checked={xLog} onChange={(e) => setXLog(e.target.checked)} /> log step axis
        </label>
      </div>
      <div className="charts">
        <Chart
          title="Accuracy"
          x={x}
          series={accuracy}
          yRange={[0, 1]}
          xLog={xLog}
          markers={stableMarkers}
          syncKey={sync}
          testId="chart-accuracy"
          yFormat={(v) => v.toFixed(1)}
          fontScale={fontScale}
        />
        {/* Mixture runs: each run's components on a chart of its own, on its own steps. */}
        {runs.map((run) => (
          <ComponentCharts
            key={run.id}
            title={runs.length > 1 ? `Accuracy per component: ${run.label}` : undefined}
            records={run.records}
            x={run.records.map((r) => r.step)}
            xLog={xLog}
            syncKey={runs.length === 1 ? sync : undefined}
            fontScale={fontScale}
          />
        ))}
        <Chart
          title="Loss"
          x={x}
          series={loss}
          yLog
          xLog={xLog}
          markers={stableMarkers}
          syncKey={sync}
          testId="chart-loss"
          fontScale={fontScale}
        />
        <Chart
          title="Weight norm ‖θ‖"
          x={x}
          series={norm}
          xLog={xLog}
          markers={stableMarkers}
          syncKey={sync}
          testId="chart-norm"
          fontScale={fontScale}
        />
      </div>
    </section>
  );
}
