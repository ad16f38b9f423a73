/**
 * Norms and feature movement: ‖θ‖ in total and per layer, Σθ², distance from the initialization, CKA.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../../analysis/types.ts';
import { CONFIG, stepX, TENSOR_COLORS, WIDTH } from '../specs.ts';
import { analysisMaxStep, finite, fmt, phaseBands, phaseLayers, SCHEMA, titleOf } from './common.ts';
import type { SeriesRow } from './progress.ts';

export const NORM_SERIES = { total: 'total' } as const;

export interface NormRows {
  norm: SeriesRow[];
  sum_squares: SeriesRow[];
  distance: SeriesRow[];
  cka: SeriesRow[];
  feature_change: SeriesRow[];
}

/** Layer names in the order of the first checkpoint's norms. */
function layersOf(doc: AnalysisDocument): string[] {
  const names = new Set<string>();
  for (const c of doc.checkpoints) for (const k of Object.keys(c.norms.per_layer)) names.add(k);
  return [...names];
}

/** Rows of every panel of the norms chart, per checkpoint (series "total" or a layer's name). */
export function normChartRows(doc: AnalysisDocument): NormRows {
  const rows: NormRows = { norm: [], sum_squares: [], distance: [], cka: [], feature_change: [] };
  const layers = layersOf(doc);
  for (const c of doc.checkpoints) {
    const { norms, features } = c;
    if (finite(norms.total)) rows.norm.push({ step: c.step, series: NORM_SERIES.total, value: norms.total });
    if (finite(norms.sum_squares))
      rows.sum_squares.push({ step: c.step, series: 'Σθ²', value: norms.sum_squares });
    const d = norms.distance_from_init;
    if (finite(d.total)) rows.distance.push({ step: c.step, series: NORM_SERIES.total, value: d.total });
    for (const layer of layers) {
      const v = norms.per_layer[layer];
      if (finite(v)) rows.norm.push({ step: c.step, series: layer, value: v });
      const moved = d.per_layer[layer];
      if (finite(moved)) rows.distance.push({ step: c.step, series: layer, value: moved });
    }
    if (finite(features.cka_to_init))
      rows.cka.push({ step: c.step, series: 'CKA', value: features.cka_to_init });
    if (finite(features.relative_change))
      rows.feature_change.push({ step: c.step, series: 'change', value: features.relative_change });
  }
  return rows;
}

/**
 * Weight norms over training: ‖θ‖ and each layer's norm, Σθ² (Nanda et al.'s "total sum of squared
 * weights"), distance from initialization in total and per layer, and the movement of the last hidden
 * layer's features (linear CKA to the initial features, relative change); phases shaded.
 */
export function analysisNormsSpec(doc: AnalysisDocument): TopLevelSpec | null {
  if (doc.checkpoints.length === 0) return null;
  const maxStep = analysisMaxStep(doc);
  const bands = phaseBands(doc, maxStep);
  const rows = normChartRows(doc);
  const layers = layersOf(doc);
  const series = [NORM_SERIES.total, ...layers];
  const color = {
    field: 'series',
    type: 'nominal',
    scale: {
      domain: series,
      range: ['#000000', ...layers.map((_, i) => TENSOR_COLORS[i % TENSOR_COLORS.length])],
    },
    legend: { title: 'parameters', symbolType: 'stroke', labelLimit: 0 },
  };
  const features = doc.checkpoints.at(-1)?.features.layer;
  const panel = (options: {
    name: string;
    dataset: keyof NormRows;
    title: string;
    axis: string;
    height: number;
    last: boolean;
    first: boolean;
    colored: boolean;
    domain?: [number, number];
  }) => {
    const lineColor = options.colored ? { color } : {};
    return {
      title: { text: options.title, fontSize: 12, fontWeight: 'normal', anchor: 'start', offset: 6 },
      width: WIDTH,
      height: options.height,
      layer: [
        ...phaseLayers(options.name, bands, options.first),
        {
          name: `${options.name}_lines`,
          data: { name: options.dataset },
          mark: { type: 'line', strokeWidth: 2, clip: true, ...(options.colored ? {} : { color: '#000' }) },
          encoding: {
            x: stepX(maxStep, options.last),
            y: {
              field: 'value',
              type: 'quantitative',
              scale: options.domain ? { domain: options.domain } : { zero: true },
              axis: { title: options.axis, tickCount: 4 },
            },
            ...lineColor,
            ...(options.colored
              ? {
                  strokeWidth: {
                    condition: { test: `datum.series === '${NORM_SERIES.total}'`, value: 3 },
                    value: 1.75,
                  },
                }
              : {}),
          },
        },
        {
          name: `${options.name}_points`,
          data: { name: options.dataset },
          mark: {
            type: 'point',
            filled: true,
            size: 14,
            opacity: 1,
            clip: true,
            ...(options.colored ? {} : { color: '#000' }),
          },
          encoding: {
            x: { field: 'step', type: 'quantitative' },
            y: { field: 'value', type: 'quantitative' },
            ...(options.colored ? { color } : {}),
          },
        },
      ],
    };
  };
  const descriptors: Array<{
    name: keyof NormRows;
    title: string;
    axis: string;
    height: number;
    colored: boolean;
    domain?: [number, number];
  }> = [
    { name: 'norm', title: 'weight norm, total and per layer', axis: '‖θ‖', height: 190, colored: true },
    {
      name: 'sum_squares',
      title: "sum of squared weights (Nanda et al.'s total weight)",
      axis: 'Σθ²',
      height: 110,
      colored: false,
    },
    {
      name: 'distance',
      title: 'distance from initialization, total and per layer',
      axis: '‖θ − θ₀‖',
      height: 150,
      colored: true,
    },
    {
      name: 'cka',
      title:
        'feature movement: linear CKA to the initial features (1: same features up to rotation and scale)',
      axis: 'CKA(Φ, Φ₀)',
      height: 110,
      colored: false,
      domain: [0, 1],
    },
    {
      name: 'feature_change',
      title: 'feature movement: relative change of the features',
      axis: '‖Φ − Φ₀‖/‖Φ₀‖',
      height: 110,
      colored: false,
    },
  ];
  const shown = descriptors.filter((d) => rows[d.name].length > 0);
  const panels = shown.map((d, i) =>
    panel({ ...d, dataset: d.name, first: i === 0, last: i === shown.length - 1 }),
  );
  const last = doc.checkpoints[doc.checkpoints.length - 1];
  const lastLine = `at step ${last.step}: ‖θ‖ ${fmt(last.norms.total, 1)}, ‖θ − θ₀‖/‖θ₀‖ ${fmt(last.norms.distance_from_init.relative, 2)}${finite(last.features.cka_to_init) ? `, CKA to the initial features ${fmt(last.features.cka_to_init, 2)}` : ''}`;
  return {
    $schema: SCHEMA,
    title: titleOf(doc, 'Weight norms and feature movement', [
      `per checkpoint; layers: parameters grouped by name (${layers.join(', ')}) · Φ: activations of ${features ?? 'the last hidden layer'} over every example, Φ₀ at initialization · ${lastLine}`,
    ]),
    config: CONFIG,
    datasets: { ...rows, phases: bands },
    vconcat: panels,
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}
