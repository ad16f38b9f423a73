/**
 * The chart of a mixture run (task.kind mixture): each component's test accuracy in its own colour,
 * its train accuracy dashed, the aggregate test accuracy in grey behind them, and a dot where each
 * component first reaches the grokking threshold; below, each component's test loss on a log scale.
 * This is the chart where grokking hidden in the aggregate shows: the components jump one by one
 * while the grey curve climbs in steps.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG,
  type Evaluation,
  logAxis,
  markerLayers,
  markerRows,
  maxStepOf,
  PALETTE,
  percentY,
  type RunChartData,
  SOLID,
  stepX,
  TRAIN_DASH,
  WIDTH,
} from './specs.ts';

/** The aggregate's colour: neutral, behind the components. */
const AGGREGATE_COLOR = '#9a9a9a';
const AGGREGATE = 'all (aggregate)';

/** Component names in the order the log first lists them. */
export function componentNamesOf(evaluations: Evaluation[]): string[] {
  const names: string[] = [];
  for (const e of evaluations)
    for (const name of Object.keys(e.components ?? {})) if (!names.includes(name)) names.push(name);
  return names;
}

/** Whether the log has metrics per component (a mixture run). */
export function hasComponents(evaluations: Evaluation[]): boolean {
  return componentNamesOf(evaluations).length > 0;
}

type Metric = 'train_acc' | 'test_acc' | 'train_loss' | 'test_loss';

function componentRows(evaluations: Evaluation[], names: string[], metrics: Metric[]) {
  const rows: Array<{ step: number; component: string; split: string; value: number }> = [];
  for (const metric of metrics) {
    const split = metric.startsWith('train') ? 'train' : 'test';
    for (const name of names) {
      for (const e of evaluations) {
        const v = e.components?.[name]?.[metric];
        if (v !== null && v !== undefined && Number.isFinite(v) && (metric.endsWith('acc') || v > 0)) {
          rows.push({ step: e.step, component: name, split, value: v });
        }
      }
    }
  }
  return rows;
}

/** Each component's first step with test accuracy ≥ `threshold`; components that never get there are left out. */
export function componentCrossings(
  evaluations: Evaluation[],
  threshold: number,
): Array<{ component: string; step: number; value: number; label: string }> {
  return componentNamesOf(evaluations).flatMap((name) => {
    const hit = evaluations.find((e) => (e.components?.[name]?.test_acc ?? -1) >= threshold);
    if (hit === undefined) return [];
    return [
      {
        component: name,
        step: hit.step,
        value: hit.components?.[name]?.test_acc ?? threshold,
        label: `${name} ${hit.step}`,
      },
    ];
  });
}

/**
 * Accuracy per component over the log step axis (top) and test loss per component (bottom), with
 * the run's markers (t_mem, onset, t_grok of the aggregate) and each component's first crossing of
 * `grokThreshold`.
 */
export function componentsSpec(data: RunChartData, options: { grokThreshold: number }): TopLevelSpec {
  const names = componentNamesOf(data.evaluations);
  const maxStep = maxStepOf(data.evaluations);
  const markers = markerRows(data.markers, maxStep);
  const accuracy = componentRows(data.evaluations, names, ['test_acc', 'train_acc']);
  const aggregate = data.evaluations
    .filter((e) => e.test_acc !== null && Number.isFinite(e.test_acc))
    .map((e) => ({ step: e.step, value: e.test_acc as number }));
  const losses = componentRows(data.evaluations, names, ['test_loss']);
  const lossAxis = logAxis(
    Math.min(...losses.map((r) => r.value), 1),
    Math.max(...losses.map((r) => r.value), 1),
  );
  const color = {
    field: 'component',
    type: 'nominal' as const,
    scale: { domain: [...names, AGGREGATE], range: [...PALETTE.slice(0, names.length), AGGREGATE_COLOR] },
    legend: { title: 'component', symbolType: 'stroke', orient: 'right' as const },
  };
  const dash = {
    field: 'split',
    type: 'nominal' as const,
    scale: { domain: ['test', 'train'], range: [SOLID, TRAIN_DASH] },
    legend: { title: 'accuracy', symbolType: 'stroke', orient: 'right' as const },
  };
  const top = {
    height: 280,
    width: WIDTH,
    layer: [
      {
        name: 'aggregate_line',
        data: { name: 'aggregate' },
        transform: [{ calculate: `'${AGGREGATE}'`, as: 'component' }],
        mark: { type: 'line' as const, strokeWidth: 5, opacity: 0.55, clip: true },
        encoding: { x: stepX(maxStep, false), y: percentY('value', 'accuracy'), color },
      },
      {
        name: 'component_lines',
        data: { name: 'accuracy' },
        mark: { type: 'line' as const, strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, false),
          y: percentY('value', 'accuracy'),
          color,
          strokeDash: dash,
          detail: { field: 'component' },
        },
      },
      {
        name: 'component_crossings',
        data: { name: 'crossings' },
        mark: { type: 'point' as const, filled: true, size: 70, clip: true },
        encoding: {
          x: { field: 'step', type: 'quantitative' as const },
          y: { field: 'value', type: 'quantitative' as const },
          color,
        },
      },
      ...markerLayers(markers, true, 'components'),
    ],
  };
  const bottom = {
    height: 200,
    width: WIDTH,
    layer: [
      {
        name: 'component_loss_lines',
        data: { name: 'loss' },
        mark: { type: 'line' as const, strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, true),
          y: {
            field: 'value',
            type: 'quantitative' as const,
            scale: { type: 'log' as const, domain: lossAxis.domain, nice: false },
            axis: {
              title: `test ${data.lossName} loss (log scale)`,
              values: lossAxis.values,
              labelExpr: lossAxis.labelExpr,
            },
          },
          color,
        },
      },
      ...markerLayers(markers, false, 'component_loss'),
    ],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: data.title,
      subtitle: [
        ...data.subtitle,
        `dots: each component's first evaluation with test accuracy ≥ ${Math.round(options.grokThreshold * 100)}%`,
      ],
    },
    config: CONFIG,
    datasets: {
      accuracy,
      aggregate,
      crossings: componentCrossings(data.evaluations, options.grokThreshold),
      loss: losses,
      markers,
    },
    vconcat: [top, bottom],
    resolve: { scale: { x: 'shared' } },
  } as unknown as TopLevelSpec;
}
