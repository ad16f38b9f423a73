/**
 * The progress measures: restricted and excluded loss against the train and test loss, phases shaded.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../../analysis/types.ts';
import {
  CONFIG,
  logAxis,
  percentY,
  SOLID,
  stepX,
  TEST_COLOR,
  TRAIN_COLOR,
  TRAIN_DASH,
  WIDTH,
} from '../specs.ts';
import { analysisMaxStep, finite, fmt, phaseBands, phaseLayers, SCHEMA, titleOf } from './common.ts';

export interface SeriesRow {
  step: number;
  series: string;
  value: number;
}

export const PROGRESS_SERIES = {
  train: 'train loss',
  test: 'test loss',
  restricted: 'restricted loss',
  excluded: 'excluded loss',
  trainAcc: 'train accuracy',
  testAcc: 'test accuracy',
  logitShare: 'key share of the logits',
  embeddingShare: 'key share of the embedding',
} as const;

const PROGRESS_COLORS: Record<string, string> = {
  [PROGRESS_SERIES.train]: TRAIN_COLOR,
  [PROGRESS_SERIES.test]: TEST_COLOR,
  [PROGRESS_SERIES.restricted]: '#009E73',
  [PROGRESS_SERIES.excluded]: '#CC79A7',
  [PROGRESS_SERIES.trainAcc]: TRAIN_COLOR,
  [PROGRESS_SERIES.testAcc]: TEST_COLOR,
  [PROGRESS_SERIES.logitShare]: '#009E73',
  [PROGRESS_SERIES.embeddingShare]: '#CC79A7',
};
const DASHED = new Set<string>([PROGRESS_SERIES.train, PROGRESS_SERIES.trainAcc]);

/** The dense train/test curves of metrics.jsonl (`curves`) as rows; values ≤ 0 only where `positive` is false. */
function curveRows(
  doc: AnalysisDocument,
  columns: Array<[keyof AnalysisDocument['curves'], string]>,
  positive: boolean,
): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const [column, series] of columns) {
    const values = doc.curves[column];
    doc.curves.step.forEach((step, i) => {
      const v = values[i];
      if (finite(v) && (!positive || v > 0)) rows.push({ step, series, value: v });
    });
  }
  return rows;
}

/** Per-checkpoint rows of the loss panel: restricted and excluded loss (values ≤ 0 cannot be drawn on a log axis). */
export function progressLossRows(doc: AnalysisDocument): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const [key, series] of [
    ['restricted_loss', PROGRESS_SERIES.restricted],
    ['excluded_loss', PROGRESS_SERIES.excluded],
  ] as const) {
    for (const c of doc.checkpoints) {
      const v = c.progress?.[key];
      if (finite(v) && v > 0) rows.push({ step: c.step, series, value: v });
    }
  }
  return rows;
}

/** Per-checkpoint rows of the share panel: the key frequencies' share of the logits (and of the embedding). */
export function progressShareRows(doc: AnalysisDocument): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const c of doc.checkpoints) {
    const v = c.progress?.key_logit_energy_share;
    if (finite(v)) rows.push({ step: c.step, series: PROGRESS_SERIES.logitShare, value: v });
  }
  // With every frequency in the key set, the embedding's share is 1 throughout: nothing to show.
  if (doc.key_frequencies && doc.key_frequencies.source !== 'all') {
    for (const c of doc.checkpoints) {
      const v = c.fourier?.embedding?.run_key_energy_fraction;
      if (finite(v)) rows.push({ step: c.step, series: PROGRESS_SERIES.embeddingShare, value: v });
    }
  }
  return rows;
}

function seriesEncoding(series: string[], title: string | null) {
  return {
    color: {
      field: 'series',
      type: 'nominal',
      scale: { domain: series, range: series.map((s) => PROGRESS_COLORS[s] ?? '#000') },
      legend: { title, symbolType: 'stroke', orient: 'right', labelLimit: 0 },
    },
    strokeDash: {
      field: 'series',
      type: 'nominal',
      scale: { domain: series, range: series.map((s) => (DASHED.has(s) ? TRAIN_DASH : SOLID)) },
      legend: { title, symbolType: 'stroke', orient: 'right', labelLimit: 0 },
    },
  };
}

/**
 * Restricted and excluded loss with the train and test loss (log loss over log steps), and below the
 * accuracies with the key frequencies' share of the logits' energy; phases shaded. null when no
 * checkpoint has progress measures (they are defined for a+b and a−b mod p).
 */
export function progressSpec(doc: AnalysisDocument): TopLevelSpec | null {
  const measured = progressLossRows(doc);
  if (measured.length === 0) return null;
  const maxStep = analysisMaxStep(doc);
  const bands = phaseBands(doc, maxStep);
  const dense = curveRows(
    doc,
    [
      ['train_loss', PROGRESS_SERIES.train],
      ['test_loss', PROGRESS_SERIES.test],
    ],
    true,
  );
  const losses = [...dense, ...measured];
  const chance = Math.log(doc.task.classes);
  const values = [...losses.map((r) => r.value), chance];
  const axis = logAxis(Math.min(...values), Math.max(...values));
  const lossSeries = [
    PROGRESS_SERIES.train,
    PROGRESS_SERIES.test,
    PROGRESS_SERIES.restricted,
    PROGRESS_SERIES.excluded,
  ];
  const accuracy = curveRows(
    doc,
    [
      ['train_acc', PROGRESS_SERIES.trainAcc],
      ['test_acc', PROGRESS_SERIES.testAcc],
    ],
    false,
  );
  const shares = [...accuracy, ...progressShareRows(doc)];
  const shareSeries = [
    PROGRESS_SERIES.trainAcc,
    PROGRESS_SERIES.testAcc,
    PROGRESS_SERIES.logitShare,
    ...(shares.some((r) => r.series === PROGRESS_SERIES.embeddingShare)
      ? [PROGRESS_SERIES.embeddingShare]
      : []),
  ];
  const lossY = {
    field: 'value',
    type: 'quantitative',
    scale: { type: 'log', domain: axis.domain, nice: false },
    axis: { title: 'loss (log scale)', values: axis.values, labelExpr: axis.labelExpr },
  };
  const lossPanel = {
    width: WIDTH,
    height: 280,
    layer: [
      ...phaseLayers('loss', bands, true),
      {
        name: 'chance_rule',
        data: { values: [{ value: chance }] },
        mark: { type: 'rule', color: '#999', strokeDash: [2, 2], strokeWidth: 1 },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
      {
        name: 'chance_label',
        data: { values: [{ value: chance, label: `chance: ln ${doc.task.classes} = ${fmt(chance, 2)}` }] },
        // Bottom left, under the rule: every curve starts at chance, so that corner is free.
        mark: { type: 'text', color: '#777', align: 'left', baseline: 'top', dy: 3, fontSize: 10 },
        encoding: {
          y: { field: 'value', type: 'quantitative' },
          x: { value: 4 },
          text: { field: 'label' },
        },
      },
      {
        name: 'loss_lines',
        data: { name: 'losses' },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: { x: stepX(maxStep, false), y: lossY, ...seriesEncoding(lossSeries, null) },
      },
      {
        name: 'measure_points',
        data: { name: 'losses' },
        transform: [
          { filter: { field: 'series', oneOf: [PROGRESS_SERIES.restricted, PROGRESS_SERIES.excluded] } },
        ],
        mark: { type: 'point', filled: true, size: 22, opacity: 1, clip: true },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'series', type: 'nominal' },
        },
      },
    ],
  };
  const sharePanel = {
    width: WIDTH,
    height: 170,
    layer: [
      ...phaseLayers('share', bands, false),
      {
        name: 'share_lines',
        data: { name: 'shares' },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, true),
          y: percentY('value', 'accuracy, share'),
          ...seriesEncoding(shareSeries, null),
        },
      },
    ],
  };
  const keys = doc.key_frequencies;
  const keyText = !keys
    ? ''
    : keys.source === 'all'
      ? `key set: all ${keys.frequencies.length} frequencies (no frequency stands out in the embedding)`
      : `key frequencies ${keys.frequencies.join(', ')}`;
  const below = doc.phases?.evidence.restricted_below_test_from;
  return {
    $schema: SCHEMA,
    title: titleOf(doc, 'Progress measures', [
      `${keyText} · restricted loss: the key-frequency circuit's logits alone · excluded loss: the training loss with that circuit removed${finite(below) ? ` · restricted below test loss from step ${below}` : ''}`,
    ]),
    config: CONFIG,
    datasets: { losses, shares, phases: bands },
    vconcat: [lossPanel, sharePanel],
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
  } as unknown as TopLevelSpec;
}
