/**
 * Vega-Lite specs for groklab's charts, built from plain data (no files, no measures): learning
 * curves, weight norms and a comparison of runs. index.ts gathers the data from run folders and
 * src/measures; render.ts turns a spec into SVG and PNG.
 *
 * The step axis is a symmetric-log scale (Vega's `symlog`, constant 1): logarithmic from step 1 on,
 * with step 0 — the evaluation before any training — at the left edge, so nothing is dropped or
 * shifted. Its ticks are 0, 1, 10, 100, ... (and 3, 30, 300, ... when the run spans few decades).
 * Every dataset sits in the spec's top-level `datasets`, so a spec can be inspected in tests and
 * pasted as is into the Vega-Lite editor.
 */
import type { TopLevelSpec } from 'vega-lite';

/**
 * Okabe & Ito's colour-blind-safe palette, in the order charts use it (yellow last: low contrast on
 * white). Train is blue and test vermillion everywhere.
 */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];
export const TRAIN_COLOR = PALETTE[0];
/** Per-tensor norms: the palette with train/test blue and vermillion last (they mark t_mem, t_grok). */
export const TENSOR_COLORS = ['#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#0072B2', '#D55E00', '#F0E442'];
export const TEST_COLOR = PALETTE[1];
/** Font of every text: DejaVu Sans is the font render.ts embeds for the PNG; SVG viewers fall back. */
export const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';

/** Dash patterns: train accuracy is dashed in every chart, test accuracy solid. */
export const TRAIN_DASH = [7, 4];
export const SOLID = [1, 0];
/** Test accuracy solid, train accuracy dashed, in charts with one colour per run. */
export const ACCURACY_SPLIT_DASH = {
  field: 'split',
  type: 'nominal',
  scale: { domain: ['test', 'train'], range: [SOLID, TRAIN_DASH] },
  legend: { title: 'accuracy', symbolType: 'stroke' },
} as const;

/** One evaluation of a run; null where the log has no finite value. */
export interface Evaluation {
  step: number;
  train_acc: number | null;
  test_acc: number | null;
  train_loss: number | null;
  test_loss: number | null;
  weight_norm: number | null;
  /** Norm of each parameter tensor (metrics.jsonl `norms`). */
  norms: Record<string, number>;
  /** Prieto et al.'s measures (metrics.jsonl, newer runs): share of training examples at loss 0, cos(−∇L, θ). */
  softmax_collapse?: number | null;
  nlm_cosine?: number | null;
  /** A mixture's components by name (metrics.jsonl `components`). */
  components?: Record<string, ComponentEvaluation>;
}

/** One mixture component at one evaluation; null where the log has no finite value. */
export interface ComponentEvaluation {
  train_acc: number | null;
  test_acc: number | null;
  train_loss: number | null;
  test_loss: number | null;
}

/** t_mem, the onset of the jump and the first crossing of the threshold (src/measures). */
export type MarkerKind = 't_mem' | 'onset' | 'crossing';

export interface Marker {
  kind: MarkerKind;
  step: number;
  /** Text written next to the rule, e.g. "t_mem = 100 (train acc ≥ 99%)". */
  label: string;
}

/** Everything the charts of one run show. */
export interface RunChartData {
  /** Run id: legend entry in comparisons. */
  id: string;
  title: string;
  subtitle: string[];
  evaluations: Evaluation[];
  markers: Marker[];
  /** The loss's name on the axis title, e.g. "cross-entropy". */
  lossName: string;
}

/** A run in a comparison chart; `label` must be unique among the runs compared. */
export interface ComparisonRun {
  label: string;
  evaluations: Evaluation[];
  /** First step with test accuracy ≥ the threshold (drawn as a dot), null when never. */
  tGrok: number | null;
}

const MARKER_STYLE: Record<MarkerKind, { color: string; dash: number[] }> = {
  t_mem: { color: TRAIN_COLOR, dash: [4, 3] },
  onset: { color: TEST_COLOR, dash: [2, 3] },
  crossing: { color: TEST_COLOR, dash: [8, 3] },
};

export const WIDTH = 640;
const LABEL_ROW = 15;

/** Chart-wide look: fonts, sizes and colours chosen to stay readable at 1× in SVG and 2× in PNG. */
export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 14,
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#444', anchor: 'start', offset: 10 },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    titleColor: '#222',
    labelColor: '#333',
    gridColor: '#e8e8e8',
    domainColor: '#888',
    tickColor: '#888',
  },
  legend: {
    labelFontSize: 12,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    symbolStrokeWidth: 2.5,
    symbolSize: 500,
  },
  view: { stroke: '#bbb' },
  concat: { spacing: 22 },
} as const;

/** Tick values of the step axis: 0 and the powers of ten up to maxStep (and 3·10^k for short runs). */
export function stepTicks(maxStep: number): number[] {
  const ticks = [0];
  const decades = Math.log10(Math.max(1, maxStep));
  for (let p = 1; p <= Math.max(1, maxStep); p *= 10) {
    ticks.push(p);
    if (decades <= 4.5 && 3 * p <= maxStep) ticks.push(3 * p);
  }
  return ticks;
}

/** Where `step` lies along the symlog step axis, from 0 (left) to 1 (right). */
export function stepPosition(step: number, maxStep: number): number {
  return maxStep > 0 ? Math.log1p(Math.max(0, step)) / Math.log1p(maxStep) : 0;
}

export function maxStepOf(evaluations: Evaluation[]): number {
  return evaluations.reduce((m, e) => Math.max(m, e.step), 1);
}

/** The x encoding shared by every panel: step on a symlog scale with explicit ticks. */
export function stepX(maxStep: number, showAxis: boolean) {
  return {
    field: 'step',
    type: 'quantitative' as const,
    scale: { type: 'symlog' as const, constant: 1, domain: [0, maxStep], nice: false, zero: false },
    axis: showAxis
      ? {
          values: stepTicks(maxStep),
          format: ',d',
          title: 'training step (log scale; step 0 at the left edge)',
        }
      : { values: stepTicks(maxStep), labels: false, ticks: false, title: null },
  };
}

/** A y encoding of shares in [0, 1] (accuracies), as percentages. */
export function percentY(field: string, title: string) {
  return {
    field,
    type: 'quantitative' as const,
    scale: { domain: [0, 1] },
    axis: { format: '.0%', title, tickCount: 5 },
  };
}

/** Rows for the accuracy panel: one per evaluation and split. */
export function accuracyRows(
  evaluations: Evaluation[],
): Array<{ step: number; split: string; value: number }> {
  const rows: Array<{ step: number; split: string; value: number }> = [];
  for (const split of ['train', 'test'] as const) {
    for (const e of evaluations) {
      const v = e[`${split}_acc`];
      if (v !== null && Number.isFinite(v)) rows.push({ step: e.step, split, value: v });
    }
  }
  return rows;
}

/** Rows for the loss panel; values ≤ 0 cannot be drawn on the log axis and are left out. */
export function lossRows(evaluations: Evaluation[]): Array<{ step: number; split: string; value: number }> {
  const rows: Array<{ step: number; split: string; value: number }> = [];
  for (const split of ['train', 'test'] as const) {
    for (const e of evaluations) {
      const v = e[`${split}_loss`];
      if (v !== null && Number.isFinite(v) && v > 0) rows.push({ step: e.step, split, value: v });
    }
  }
  return rows;
}

/**
 * Marker rows with the place of their label: each label on its own row above the panel (so labels
 * never overlap one another), left of the rule when the rule is in the right part of the axis.
 */
export function markerRows(markers: Marker[], maxStep: number) {
  const sorted = [...markers].sort((a, b) => a.step - b.step);
  return sorted.map((m, i) => {
    const right = stepPosition(m.step, maxStep) > 0.6;
    return {
      kind: m.kind,
      step: m.step,
      label: m.label,
      // Pixels above the top of the panel: the earliest marker on the highest row.
      y: -8 - (sorted.length - 1 - i) * LABEL_ROW,
      align: right ? 'right' : 'left',
    };
  });
}

/**
 * One rule per marker (colour and dash fixed per kind, so no scale or legend is involved); with
 * `labels`, its text above the panel in the same colour.
 */
export function markerLayers(
  markers: ReturnType<typeof markerRows>,
  labels: boolean,
  panel: string,
): unknown[] {
  return markers.flatMap((m) => {
    const style = MARKER_STYLE[m.kind];
    const data = { name: 'markers' };
    const transform = [{ filter: { field: 'kind', equal: m.kind } }];
    const x = { field: 'step', type: 'quantitative' };
    const rule = {
      name: `${panel}_${m.kind}_rule`,
      data,
      transform,
      mark: { type: 'rule', color: style.color, strokeDash: style.dash, strokeWidth: 1.5 },
      encoding: { x },
    };
    if (!labels) return [rule];
    const text = {
      name: `${panel}_${m.kind}_label`,
      data,
      transform,
      mark: {
        type: 'text',
        color: style.color,
        align: m.align,
        dx: m.align === 'right' ? 3 : -3,
        baseline: 'middle',
        fontSize: 11,
      },
      encoding: { x, y: { value: m.y }, text: { field: 'label' } },
    };
    return [rule, text];
  });
}

/** Explicit ticks and labels of a log axis: decades from below `min` to above `max`. */
export function logAxis(min: number, max: number) {
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const stride = Math.ceil((hi - lo + 1) / 8);
  const exps: number[] = [];
  for (let e = lo; e <= hi; e += 1) if ((e - lo) % stride === 0) exps.push(e);
  const labels: string[] = [];
  for (let e = lo; e <= hi; e++) labels.push(decadeLabel(e));
  return {
    domain: [10 ** lo, 10 ** hi],
    values: exps.map((e) => 10 ** e),
    // Vega expression: the label of the tick's decade.
    labelExpr: `${JSON.stringify(labels)}[round(log(datum.value) / LN10) - (${lo})]`,
  };
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

/** 10^e as a number for |e| ≤ 3 ("0.001" … "1000"), else as 10 with a superscript exponent. */
export function decadeLabel(e: number): string {
  if (Math.abs(e) <= 3) return e < 0 ? (10 ** e).toFixed(-e) : String(10 ** e);
  return `10${[...String(e)].map((c) => SUPERSCRIPT[c]).join('')}`;
}

const splitColor = {
  field: 'split',
  type: 'nominal' as const,
  scale: { domain: ['train', 'test'], range: [TRAIN_COLOR, TEST_COLOR] },
  legend: { title: null, symbolType: 'stroke', orient: 'right' as const },
};
const splitDash = {
  field: 'split',
  type: 'nominal' as const,
  scale: { domain: ['train', 'test'], range: [TRAIN_DASH, SOLID] },
  legend: { title: null, symbolType: 'stroke', orient: 'right' as const },
};

/**
 * Learning curves of one run: accuracy (top) and loss on a log scale (bottom) over a log step axis,
 * with rules at t_mem, the onset of the jump and the first crossing, labelled above the top panel.
 */
export function learningCurvesSpec(data: RunChartData): TopLevelSpec {
  const maxStep = maxStepOf(data.evaluations);
  const markers = markerRows(data.markers, maxStep);
  const losses = lossRows(data.evaluations);
  const lossAxis = logAxis(
    Math.min(...losses.map((r) => r.value), 1),
    Math.max(...losses.map((r) => r.value), 1),
  );
  const accuracy = {
    height: 260,
    width: WIDTH,
    layer: [
      {
        name: 'accuracy_lines',
        data: { name: 'accuracy' },
        mark: { type: 'line' as const, strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, false),
          y: percentY('value', 'accuracy'),
          color: splitColor,
          strokeDash: splitDash,
        },
      },
      ...markerLayers(markers, true, 'accuracy'),
    ],
  };
  const loss = {
    height: 200,
    width: WIDTH,
    layer: [
      {
        name: 'loss_lines',
        data: { name: 'loss' },
        mark: { type: 'line' as const, strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, true),
          y: {
            field: 'value',
            type: 'quantitative' as const,
            scale: { type: 'log' as const, domain: lossAxis.domain, nice: false },
            axis: {
              title: `${data.lossName} loss (log scale)`,
              values: lossAxis.values,
              labelExpr: lossAxis.labelExpr,
            },
          },
          color: splitColor,
          strokeDash: splitDash,
        },
      },
      ...markerLayers(markers, false, 'loss'),
    ],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: data.title, subtitle: data.subtitle },
    config: CONFIG,
    datasets: {
      accuracy: accuracyRows(data.evaluations),
      loss: losses,
      markers,
    },
    vconcat: [accuracy, loss],
    resolve: { scale: { x: 'shared' } },
  } as unknown as TopLevelSpec;
}

/** Rows for the norm chart: the total weight norm and each tensor's norm. */
export function normRows(evaluations: Evaluation[]): Array<{ step: number; series: string; value: number }> {
  const rows: Array<{ step: number; series: string; value: number }> = [];
  for (const e of evaluations) {
    if (e.weight_norm !== null && Number.isFinite(e.weight_norm))
      rows.push({ step: e.step, series: TOTAL_NORM, value: e.weight_norm });
  }
  for (const name of tensorNames(evaluations)) {
    for (const e of evaluations) {
      const v = e.norms[name];
      if (typeof v === 'number' && Number.isFinite(v)) rows.push({ step: e.step, series: name, value: v });
    }
  }
  return rows;
}

/** The series name of the total norm. */
export const TOTAL_NORM = 'total ‖θ‖';

function tensorNames(evaluations: Evaluation[]): string[] {
  const names = new Set<string>();
  for (const e of evaluations) for (const k of Object.keys(e.norms)) names.add(k);
  return [...names];
}

/** The total weight norm (thick, black) and every tensor's norm (thin, coloured), with the markers. */
export function weightNormSpec(data: RunChartData): TopLevelSpec {
  const maxStep = maxStepOf(data.evaluations);
  const markers = markerRows(data.markers, maxStep);
  const tensors = tensorNames(data.evaluations);
  const series = [TOTAL_NORM, ...tensors];
  const colors = ['#000000', ...tensors.map((_, i) => TENSOR_COLORS[i % TENSOR_COLORS.length])];
  const color = {
    field: 'series',
    type: 'nominal',
    scale: { domain: series, range: colors },
    legend: { title: 'norm', symbolType: 'stroke' },
  };
  const y = {
    field: 'value',
    type: 'quantitative',
    scale: { zero: true },
    axis: { title: 'L2 norm of the parameters' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: data.title, subtitle: data.subtitle },
    config: CONFIG,
    datasets: { norms: normRows(data.evaluations), markers },
    width: WIDTH,
    height: 300,
    layer: [
      {
        name: 'tensor_norm_lines',
        data: { name: 'norms' },
        transform: [{ filter: { field: 'series', oneOf: tensors } }],
        mark: { type: 'line', strokeWidth: 1.75, clip: true },
        encoding: { x: stepX(maxStep, true), y, color },
      },
      {
        name: 'total_norm_line',
        data: { name: 'norms' },
        transform: [{ filter: { field: 'series', equal: TOTAL_NORM } }],
        mark: { type: 'line', strokeWidth: 3, clip: true },
        encoding: { x: stepX(maxStep, true), y, color },
      },
      ...markerLayers(markers, true, 'norms'),
    ],
  } as unknown as TopLevelSpec;
}

/** Rows for the comparison chart: one per run, split and evaluation. */
export function comparisonRows(
  runs: ComparisonRun[],
): Array<{ run: string; split: string; step: number; value: number }> {
  return runs.flatMap((r) =>
    accuracyRows(r.evaluations).map((row) => ({
      run: r.label,
      split: row.split,
      step: row.step,
      value: row.value,
    })),
  );
}

/**
 * Test accuracy (solid) and train accuracy (dashed) of several runs on shared axes, one colour per
 * run, a dot where each run's test accuracy first reached the threshold.
 */
export function comparisonSpec(
  runs: ComparisonRun[],
  options: { title?: string; grokThreshold: number },
): TopLevelSpec {
  const maxStep = runs.reduce((m, r) => Math.max(m, maxStepOf(r.evaluations)), 1);
  const labels = runs.map((r) => r.label);
  const colors = labels.map((_, i) => PALETTE[i % (PALETTE.length - 1)]);
  const dots = runs
    .filter((r) => r.tGrok !== null)
    .map((r) => ({ run: r.label, step: r.tGrok, value: options.grokThreshold }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title ?? `Test and train accuracy of ${runs.length} runs`,
      subtitle: [`dots: first evaluation with test accuracy ≥ ${formatPercent(options.grokThreshold)}`],
    },
    config: CONFIG,
    datasets: { curves: comparisonRows(runs), tgrok: dots },
    width: WIDTH,
    height: 340,
    layer: [
      {
        name: 'accuracy_lines',
        data: { name: 'curves' },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          x: stepX(maxStep, true),
          y: percentY('value', 'accuracy'),
          color: {
            field: 'run',
            type: 'nominal',
            scale: { domain: labels, range: colors },
            legend: { title: 'run', symbolType: 'stroke', labelLimit: 360 },
          },
          strokeDash: ACCURACY_SPLIT_DASH,
          detail: { field: 'split', type: 'nominal' },
        },
      },
      {
        name: 't_grok_points',
        data: { name: 'tgrok' },
        mark: { type: 'point', filled: true, size: 70, opacity: 1 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'run', type: 'nominal' },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

function formatPercent(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

/** Colours of the stability chart: neither train blue nor test vermillion (those mark t_mem and t_grok). */
export const COLLAPSE_COLOR = PALETTE[2];
export const NLM_COLOR = PALETTE[3];

/** Rows of one stability measure: its finite values. */
export function stabilityRows(
  evaluations: Evaluation[],
  field: 'softmax_collapse' | 'nlm_cosine',
): Array<{ step: number; value: number }> {
  const rows: Array<{ step: number; value: number }> = [];
  for (const e of evaluations) {
    const v = e[field];
    if (typeof v === 'number' && Number.isFinite(v)) rows.push({ step: e.step, value: v });
  }
  return rows;
}

/** Whether a run's log has either stability measure (runs written before they existed have neither). */
export function hasStability(evaluations: Evaluation[]): boolean {
  return (
    stabilityRows(evaluations, 'softmax_collapse').length > 0 ||
    stabilityRows(evaluations, 'nlm_cosine').length > 0
  );
}

/**
 * Prieto et al.'s measures over a log step axis: the share of training examples whose loss is
 * exactly 0 (top, with a dashed line at `collapseLevel`, the level the verdict calls high) and
 * cos(−∇L, θ) on [−1, 1] (bottom), each panel only when the log has it; the markers as elsewhere.
 */
export function stabilitySpec(data: RunChartData, options: { collapseLevel?: number } = {}): TopLevelSpec {
  const maxStep = maxStepOf(data.evaluations);
  const markers = markerRows(data.markers, maxStep);
  const collapse = stabilityRows(data.evaluations, 'softmax_collapse');
  const nlm = stabilityRows(data.evaluations, 'nlm_cosine');
  // The step axis is drawn under the last panel only; the marker labels sit above the first.
  const names = [...(collapse.length > 0 ? ['collapse'] : []), ...(nlm.length > 0 ? ['nlm'] : [])];
  const x = (name: string) => stepX(maxStep, name === names[names.length - 1]);
  const panel = (name: string, layers: unknown[]) => ({
    height: 200,
    width: WIDTH,
    layer: [...layers, ...markerLayers(markers, name === names[0], name)],
  });
  const vconcat: unknown[] = [];
  if (collapse.length > 0) {
    const level =
      options.collapseLevel === undefined
        ? []
        : [
            {
              name: 'collapse_level_rule',
              data: { values: [{ level: options.collapseLevel }] },
              mark: { type: 'rule', color: '#777', strokeDash: [3, 3], strokeWidth: 1 },
              encoding: { y: { field: 'level', type: 'quantitative' } },
            },
            {
              name: 'collapse_level_label',
              data: {
                values: [{ level: options.collapseLevel, label: formatPercent(options.collapseLevel) }],
              },
              mark: { type: 'text', color: '#555', align: 'left', dx: 4, dy: -7, fontSize: 11 },
              encoding: {
                x: { value: 0 },
                y: { field: 'level', type: 'quantitative' },
                text: { field: 'label' },
              },
            },
          ];
    vconcat.push(
      panel('collapse', [
        ...level,
        {
          name: 'collapse_line',
          data: { name: 'collapse' },
          mark: { type: 'line', strokeWidth: 2.2, clip: true, color: COLLAPSE_COLOR },
          encoding: { x: x('collapse'), y: percentY('value', 'train examples with loss exactly 0') },
        },
      ]),
    );
  }
  if (nlm.length > 0) {
    vconcat.push(
      panel('nlm', [
        {
          name: 'nlm_zero_rule',
          data: { values: [{ zero: 0 }] },
          mark: { type: 'rule', color: '#bbb', strokeWidth: 1 },
          encoding: { y: { field: 'zero', type: 'quantitative' } },
        },
        {
          name: 'nlm_line',
          data: { name: 'nlm' },
          mark: { type: 'line', strokeWidth: 2.2, clip: true, color: NLM_COLOR },
          encoding: {
            x: x('nlm'),
            y: {
              field: 'value',
              type: 'quantitative',
              scale: { domain: [-1, 1] },
              axis: { title: 'NLM cosine cos(−∇L, θ)', tickCount: 5 },
            },
          },
        },
      ]),
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: data.title,
      subtitle: [
        'softmax collapse: share of the training examples whose loss is exactly 0 (they give no gradient)',
        'NLM cosine: cos(−∇L, θ), near 1 when a step only scales the weights up (Prieto et al.)',
        ...data.subtitle.slice(-1),
      ],
    },
    config: CONFIG,
    datasets: { collapse, nlm, markers },
    vconcat,
    resolve: { scale: { x: 'shared' } },
  } as unknown as TopLevelSpec;
}
