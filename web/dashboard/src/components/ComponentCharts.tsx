/**
 * A mixture run's accuracy per component (metrics.jsonl `components`): each component's test
 * accuracy in its own colour, its train accuracy dashed, and the aggregate test accuracy in grey
 * behind them, so a jump hidden in the aggregate shows. Renders nothing for a run without components.
 * Shared by the dashboard's run page and the lab.
 */
import { useMemo } from 'react';
import { OKABE_ITO } from '../palette.ts';
import { Chart, type ChartSeries, type Marker } from './Chart.tsx';

/** The shape both the dashboard's and the lab's records have. */
interface ComponentRecord {
  test_acc?: number;
  components?: unknown;
}

type ComponentMetric = 'train_acc' | 'test_acc' | 'train_loss' | 'test_loss';

const AGGREGATE_COLOR = '#9a9a9a';

function componentsOf(record: ComponentRecord): Record<string, Partial<Record<ComponentMetric, unknown>>> {
  const c = record.components;
  return typeof c === 'object' && c !== null
    ? (c as Record<string, Partial<Record<ComponentMetric, unknown>>>)
    : {};
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Component names in the order the log first lists them. */
export function componentNames(records: readonly ComponentRecord[]): string[] {
  const names: string[] = [];
  for (const r of records)
    for (const name of Object.keys(componentsOf(r))) if (!names.includes(name)) names.push(name);
  return names;
}

export function componentSeries(records: readonly ComponentRecord[]): ChartSeries[] {
  const names = componentNames(records);
  if (names.length === 0) return [];
  const values = (name: string, metric: ComponentMetric) =>
    records.map((r) => finite(componentsOf(r)[name]?.[metric]));
  return [
    { label: 'all (test)', color: AGGREGATE_COLOR, values: records.map((r) => finite(r.test_acc)), width: 5 },
    ...names.flatMap((name, i) => {
      const color = OKABE_ITO[i % OKABE_ITO.length];
      return [
        { label: `${name} test`, color, values: values(name, 'test_acc'), width: 2 },
        { label: `${name} train`, color, values: values(name, 'train_acc'), dash: [7, 4], width: 1 },
      ];
    }),
  ];
}

export function ComponentCharts(props: {
  records: readonly ComponentRecord[];
  x: number[];
  xLog?: boolean;
  markers?: Marker[];
  syncKey?: string;
  fontScale?: number;
  title?: string;
}) {
  const series = useMemo(() => componentSeries(props.records), [props.records]);
  if (series.length === 0) return null;
  return (
    <Chart
      title={props.title ?? 'Accuracy per component'}
      x={props.x}
      series={series}
      yRange={[0, 1]}
      xLog={props.xLog}
      markers={props.markers}
      syncKey={props.syncKey}
      testId="chart-components"
      yFormat={(v) => v.toFixed(1)}
      fontScale={props.fontScale}
    />
  );
}
