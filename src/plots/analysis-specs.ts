/**
 * Vega-Lite specs of `groklab analyze`'s charts, built from an analysis document (analysis.json)
 * alone: the Fourier spectrum of each weight view over training, the progress measures (restricted
 * and excluded loss) against the train and test loss, norms and feature movement, the Hessian's top
 * eigenvalues and the pruning probe. analysis.ts renders and writes them; specs.ts holds the shared
 * look (fonts, colours, the symlog step axis).
 *
 * Training phases (memorization, circuit formation, cleanup) are shaded bands on every chart with a
 * step axis, labelled above the top panel. As in specs.ts every dataset sits in the spec's top-level
 * `datasets`, so tests can read the numbers drawn and a spec can be pasted into the Vega-Lite editor.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument, CheckpointAnalysis } from '../analysis/types.ts';
import type { ViewName } from '../analysis/views.ts';
import {
  CONFIG,
  logAxis,
  PALETTE,
  SOLID,
  stepPosition,
  stepX,
  TENSOR_COLORS,
  TEST_COLOR,
  TRAIN_COLOR,
  TRAIN_DASH,
  WIDTH,
} from './specs.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Height of a row of labels above a panel, and the width of a character at 11 px (DejaVu Sans). */
const LABEL_ROW = 15;
const CHAR_WIDTH = 6.6;
/** Subtitle characters per line (12 px): about the width of a chart and its legend. */
const SUBTITLE_CHARS = 100;
/** Key-frequency marks: the test colour, which no heatmap colour is close to. */
const KEY_COLOR = TEST_COLOR;

/** The charts `groklab analyze` draws, in the order they are written. */
export const ANALYSIS_CHART_NAMES = ['spectrum', 'progress', 'norms', 'hessian', 'pruning'] as const;
export type AnalysisChartName = (typeof ANALYSIS_CHART_NAMES)[number];

export interface AnalysisChart {
  name: AnalysisChartName;
  spec: TopLevelSpec;
}

export interface AnalysisChartSet {
  charts: AnalysisChart[];
  /** The charts that do not apply to this run, each with the reason. */
  skipped: Array<{ name: AnalysisChartName; reason: string }>;
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces: titles, phase bands, labels above a panel.

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const percent = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

/**
 * Splits a subtitle line of parts joined by " · " into lines of at most `max` characters (a part
 * longer than that gets a line of its own), so that no title is wider than the chart.
 */
export function wrapLine(line: string, max = SUBTITLE_CHARS): string[] {
  const lines: string[] = [];
  let current = '';
  for (const part of line.split(' · ')) {
    const joined = current === '' ? part : `${current} · ${part}`;
    if (joined.length <= max || current === '') current = joined;
    else {
      lines.push(current);
      current = part;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

function titleOf(doc: AnalysisDocument, what: string, lines: string[]): { text: string; subtitle: string[] } {
  const model =
    doc.model.kind === 'transformer' ? 'transformer' : doc.model.kind === 'mlp' ? 'MLP' : doc.model.kind;
  const verdict = doc.detect ? ` · groklab detect: ${doc.detect.verdict}` : '';
  const last = doc.checkpoints.at(-1)?.step;
  const state =
    doc.run.state === 'running' && last !== undefined
      ? ` · run still training: checkpoints up to step ${last}`
      : '';
  return {
    text: `${what}: ${doc.run_id}`,
    subtitle: [
      `${doc.task.description} · ${model}, ${doc.model.parameters.toLocaleString('en-US')} parameters${verdict}${state}`,
      ...lines,
    ].flatMap((line) => wrapLine(line)),
  };
}

/** The largest step any chart of the document draws: the run's last evaluation or checkpoint. */
export function analysisMaxStep(doc: AnalysisDocument): number {
  let max = 1;
  for (const s of doc.curves.step) max = Math.max(max, s);
  for (const c of doc.checkpoints) max = Math.max(max, c.step);
  return max;
}

const PHASE_STYLE: Record<string, { label: string; color: string }> = {
  memorization: { label: 'memorization', color: TRAIN_COLOR },
  circuit_formation: { label: 'circuit formation', color: '#009E73' },
  cleanup: { label: 'cleanup', color: '#E69F00' },
};

export interface PhaseBand {
  phase: string;
  label: string;
  step: number;
  /** The phase's end; the last step drawn while the phase is still under way. */
  step_end: number;
  /** Where the label goes: the middle of the band on the log step axis. */
  label_step: number;
  /** Pixels above the panel. */
  y: number;
}

/** Phases as bands on the symlog step axis, labels on rows above the panel so that none overlap. */
export function phaseBands(doc: AnalysisDocument, maxStep: number): PhaseBand[] {
  const bands = (doc.phases?.phases ?? [])
    .map((p) => {
      const to = Math.min(p.to ?? maxStep, maxStep);
      const middle = Math.expm1((Math.log1p(p.from) + Math.log1p(to)) / 2);
      return {
        phase: p.name,
        label: PHASE_STYLE[p.name]?.label ?? p.name,
        step: p.from,
        step_end: to,
        label_step: middle,
      };
    })
    .filter((b) => b.step_end > b.step);
  const ys = placeLabels(
    bands.map((b) => ({ x: stepPosition(b.label_step, maxStep) * WIDTH, text: b.label })),
    'center',
  );
  return bands.map((b, i) => ({ ...b, y: ys[i] }));
}

/**
 * Rows for labels written above a panel at pixel positions `x`: each label on the lowest row where it
 * overlaps no other. Returns each label's y (pixels above the panel's top, negative).
 */
export function placeLabels(labels: Array<{ x: number; text: string }>, align: 'center' | 'left'): number[] {
  const rows: Array<Array<[number, number]>> = [];
  return labels.map(({ x, text }) => {
    const width = text.length * CHAR_WIDTH + 6;
    const from = align === 'center' ? x - width / 2 : x;
    const span: [number, number] = [from, from + width];
    let row = rows.findIndex((r) => r.every(([a, b]) => span[1] <= a || span[0] >= b));
    if (row === -1) {
      rows.push([]);
      row = rows.length - 1;
    }
    rows[row].push(span);
    return -8 - row * LABEL_ROW;
  });
}

/** Shaded bands of the phases, with their labels when `labels` (above the top panel only). */
function phaseLayers(panel: string, bands: PhaseBand[], labels: boolean): unknown[] {
  return bands.flatMap((band) => {
    const color = PHASE_STYLE[band.phase]?.color ?? '#888';
    const data = { name: 'phases' };
    const transform = [{ filter: { field: 'phase', equal: band.phase } }];
    const rect = {
      name: `${panel}_${band.phase}_band`,
      data,
      transform,
      mark: { type: 'rect', color, opacity: 0.09 },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        x2: { field: 'step_end' },
      },
    };
    if (!labels) return [rect];
    const text = {
      name: `${panel}_${band.phase}_label`,
      data,
      transform,
      mark: { type: 'text', color, align: 'center', baseline: 'middle', fontSize: 11 },
      encoding: {
        x: { field: 'label_step', type: 'quantitative' },
        y: { value: band.y },
        text: { field: 'label' },
      },
    };
    return [rect, text];
  });
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

// ---------------------------------------------------------------------------------------------------
// Spectrum heatmap.

/** The Fourier views in the order drawn, with what each reads. */
export const VIEW_TITLES: Record<ViewName, string> = {
  embedding: 'embedding (token → first layer)',
  unembedding: 'unembedding (last layer → class)',
  mlp_in: 'MLP input (W_E·W_V·W_O·W_in)',
  neuron_logit: 'neuron → logit (W_out·W_U)',
};
const VIEW_ORDER: ViewName[] = ['embedding', 'unembedding', 'mlp_in', 'neuron_logit'];

export interface SpectrumRow {
  view: ViewName;
  /** Checkpoint step and its position among the analysed checkpoints. */
  step: number;
  checkpoint: number;
  frequency: number;
  /** norms[k] of the view: √energy at frequency k. */
  norm: number;
  /** energy at k over the energy of all non-constant frequencies 1..⌊p/2⌋ (sums to 1 per checkpoint). */
  share: number;
}

/** The Fourier views present in the document (any checkpoint), in drawing order. */
export function spectrumViews(doc: AnalysisDocument): ViewName[] {
  return VIEW_ORDER.filter((v) => doc.checkpoints.some((c) => c.fourier?.[v]));
}

/**
 * One row per view, checkpoint and non-constant frequency. The constant (frequency 0) is left out, as
 * it is from Gini and IPR: it carries no information about the token. A checkpoint whose view has no
 * non-constant energy at all gets no rows (its shares are undefined).
 */
export function spectrumRows(doc: AnalysisDocument): SpectrumRow[] {
  const rows: SpectrumRow[] = [];
  for (const view of spectrumViews(doc)) {
    doc.checkpoints.forEach((c, checkpoint) => {
      const norms = c.fourier?.[view]?.norms;
      if (!norms) return;
      let total = 0;
      for (let k = 1; k < norms.length; k++) total += norms[k] * norms[k];
      if (!(total > 0)) return;
      for (let k = 1; k < norms.length; k++) {
        rows.push({
          view,
          step: c.step,
          checkpoint,
          frequency: k,
          norm: norms[k],
          share: (norms[k] * norms[k]) / total,
        });
      }
    });
  }
  return rows;
}

export interface NeuronRow {
  step: number;
  frequency: number;
  /** Neurons of this dominant frequency with ≥ CLEAN_FRACTION of their energy in it, over all neurons. */
  share: number;
  neurons: number;
}

/** One row per checkpoint and non-constant frequency from `neurons.histogram`. */
export function neuronRows(doc: AnalysisDocument): NeuronRow[] {
  const rows: NeuronRow[] = [];
  for (const c of doc.checkpoints) {
    const n = c.neurons;
    if (!n || n.frequency.length === 0) continue;
    for (let k = 1; k < n.histogram.length; k++) {
      rows.push({
        step: c.step,
        frequency: k,
        neurons: n.histogram[k],
        share: n.histogram[k] / n.frequency.length,
      });
    }
  }
  return rows;
}

/** The run's key frequencies as marked on the spectrum: none when the key set is "all" (no frequency stands out). */
export function markedKeyFrequencies(doc: AnalysisDocument): number[] {
  const keys = doc.key_frequencies;
  if (!keys || keys.source === 'all') return [];
  return [...keys.frequencies];
}

/** Steps of the checkpoint-axis labels: every n-th so that tilted labels do not overlap, and the last. */
function checkpointLabelSteps(steps: number[]): number[] {
  const stride = Math.max(1, Math.ceil((steps.length * 14) / WIDTH));
  const shown = steps.filter((_, i) => i % stride === 0);
  const last = steps[steps.length - 1];
  if (last !== undefined && !shown.includes(last)) {
    if (stride > 1) shown.pop();
    shown.push(last);
  }
  return shown;
}

/** Frequency-axis labels: all of them up to 30 frequencies, else multiples of 5, 1, and the key frequencies. */
function frequencyLabels(frequencies: number, keys: number[]): number[] {
  if (frequencies <= 30) return Array.from({ length: frequencies }, (_, i) => i + 1);
  const shown = new Set<number>([1, ...keys]);
  for (let k = 5; k <= frequencies; k += 5) {
    // A multiple of 5 right next to a key frequency would print over it.
    if (!keys.some((key) => key !== k && Math.abs(key - k) <= 1)) shown.add(k);
  }
  return [...shown].sort((a, b) => a - b);
}

/** Rules between the checkpoint columns where a phase starts or ends (t_mem, cleanup start, end). */
export function phaseBoundaryColumns(
  doc: AnalysisDocument,
): Array<{ step: number; boundary: number; label: string }> {
  const steps = doc.checkpoints.map((c) => c.step);
  const found: Array<{ step: number; boundary: number; label: string }> = [];
  const add = (boundary: number | null | undefined, label: string) => {
    if (boundary === null || boundary === undefined) return;
    // The first checkpoint at or after the boundary: the rule goes on its left edge.
    const step = steps.find((s) => s >= boundary);
    if (step === undefined || step === steps[0]) return;
    if (!found.some((f) => f.step === step)) found.push({ step, boundary, label: `${label} ${boundary}` });
  };
  for (const phase of doc.phases?.phases ?? []) {
    if (phase.name === 'circuit_formation') add(phase.from, 't_mem');
    if (phase.name === 'cleanup') {
      add(phase.from, 'cleanup');
      add(phase.to, 't_grok');
    }
  }
  return found;
}

/**
 * Width of a heatmap of `columns` checkpoints: about WIDTH, a whole number of pixels per column, so
 * that the cells' edges fall on pixels and the PNG shows no hairline seams between them.
 */
export function heatmapWidth(columns: number): number {
  return columns * Math.max(1, Math.round(WIDTH / Math.max(1, columns)));
}

function heatmapPanel(options: {
  name: string;
  title: string;
  dataset: string;
  filter: unknown[];
  frequencies: number;
  keys: number[];
  steps: number[];
  showXLabels: boolean;
  color: unknown;
  boundaries: Array<{ step: number; y: number }>;
  boundaryLabels: boolean;
}) {
  const { frequencies, keys } = options;
  const band = frequencies <= 30 ? 10 : Math.max(4, Math.floor(320 / frequencies));
  const keyTest = `indexof(${JSON.stringify(keys)}, datum.value) >= 0`;
  const x = {
    field: 'step',
    type: 'ordinal',
    scale: { domain: options.steps, paddingInner: 0, paddingOuter: 0 },
    axis: options.showXLabels
      ? {
          title: 'checkpoint step (one column per analysed checkpoint: not to scale)',
          values: checkpointLabelSteps(options.steps),
          labelAngle: -45,
          labelAlign: 'right',
          labelBaseline: 'top',
          ticks: true,
        }
      : { title: null, labels: false, ticks: false },
  };
  const y = {
    field: 'frequency',
    type: 'ordinal',
    // Frequency 1 at the bottom.
    scale: {
      domain: Array.from({ length: frequencies }, (_, i) => frequencies - i),
      paddingInner: 0,
      paddingOuter: 0,
    },
    axis: {
      title: 'frequency k',
      values: frequencyLabels(frequencies, keys),
      labelColor: { condition: { test: keyTest, value: KEY_COLOR }, value: '#333' },
      labelFontWeight: { condition: { test: keyTest, value: 'bold' }, value: 'normal' },
      labelFontSize: frequencies <= 30 ? 9 : 10,
    },
  };
  const layers: unknown[] = [
    {
      name: `${options.name}_cells`,
      data: { name: options.dataset },
      transform: options.filter,
      mark: { type: 'rect' },
      encoding: { x, y, color: options.color },
    },
    {
      // ◀ right of the last column at each key frequency.
      name: `${options.name}_key_marks`,
      data: { name: 'key_frequencies' },
      mark: { type: 'point', shape: 'triangle-left', filled: true, size: 45, color: KEY_COLOR, opacity: 1 },
      encoding: {
        y: { field: 'frequency', type: 'ordinal' },
        x: { value: heatmapWidth(options.steps.length) + 7 },
      },
    },
  ];
  if (options.boundaries.length > 0) {
    layers.push({
      name: `${options.name}_phase_rules`,
      data: { name: 'phase_columns' },
      // A dark line under a white dashed one: visible over light and dark cells alike.
      mark: { type: 'rule', color: '#000', opacity: 0.45, strokeWidth: 3 },
      encoding: { x: { field: 'step', type: 'ordinal', bandPosition: 0 } },
    });
    layers.push({
      name: `${options.name}_phase_rules_dashed`,
      data: { name: 'phase_columns' },
      mark: { type: 'rule', color: 'white', strokeDash: [4, 3], strokeWidth: 1.5 },
      encoding: { x: { field: 'step', type: 'ordinal', bandPosition: 0 } },
    });
    if (options.boundaryLabels) {
      layers.push({
        name: `${options.name}_phase_labels`,
        data: { name: 'phase_columns' },
        mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: 11, color: '#333', dx: -2 },
        encoding: {
          x: { field: 'step', type: 'ordinal', bandPosition: 0 },
          y: { field: 'y', type: 'quantitative', scale: null },
          text: { field: 'label' },
        },
      });
    }
  }
  return {
    title: { text: options.title, fontSize: 12, fontWeight: 'normal', anchor: 'start', offset: 6 },
    width: heatmapWidth(options.steps.length),
    height: band * frequencies,
    layer: layers,
  };
}

/**
 * Fourier spectrum over training: one heatmap per view (frequency × checkpoint, colour = the
 * frequency's share of the view's non-constant energy), the key frequencies marked ◀ and in bold on
 * the axis, white rules where the phases change; below, when the document has neuron frequencies,
 * the share of neurons dominated by each frequency. null when the document has no Fourier data.
 */
export function spectrumSpec(doc: AnalysisDocument): TopLevelSpec | null {
  const views = spectrumViews(doc);
  const rows = spectrumRows(doc);
  if (views.length === 0 || rows.length === 0) return null;
  const frequencies = rows.reduce((m, r) => Math.max(m, r.frequency), 0);
  const keys = markedKeyFrequencies(doc);
  const steps = doc.checkpoints.map((c) => c.step);
  const neurons = neuronRows(doc);
  const last = doc.checkpoints[doc.checkpoints.length - 1];
  const first = doc.checkpoints[0];

  const columns = phaseBoundaryColumns(doc);
  const ys = placeLabels(
    columns.map((c) => ({
      x: (steps.indexOf(c.step) / steps.length) * heatmapWidth(steps.length),
      text: c.label,
    })),
    'left',
  );
  const phaseColumns = columns.map((c, i) => ({ ...c, y: ys[i] }));

  const maxShare = rows.reduce((m, r) => Math.max(m, r.share), 0);
  const shareColor = {
    field: 'share',
    type: 'quantitative',
    scale: { scheme: 'viridis', domain: [0, maxShare], nice: false },
    legend: { title: ['share of the', "view's energy"], format: '.0%', gradientLength: 160, offset: 22 },
  };
  const panels = views.map((view, i) => {
    const at = (c: CheckpointAnalysis | undefined) => c?.fourier?.[view];
    const gini = at(last)?.gini;
    const gini0 = at(first)?.gini;
    const ginis =
      gini === undefined
        ? ''
        : `: Gini ${fmt(gini)} at step ${last.step}${gini0 !== undefined && first !== last ? ` (${fmt(gini0)} at step ${first.step})` : ''}`;
    return heatmapPanel({
      name: view,
      title: `${VIEW_TITLES[view]}${ginis}`,
      dataset: 'spectrum',
      filter: [{ filter: { field: 'view', equal: view } }],
      frequencies,
      keys,
      steps,
      showXLabels: i === views.length - 1 && neurons.length === 0,
      color: shareColor,
      boundaries: phaseColumns,
      boundaryLabels: i === 0,
    });
  });
  const vconcat: unknown[] = [{ vconcat: panels, resolve: { scale: { color: 'shared' } } }];
  if (neurons.length > 0) {
    const clean = last.neurons?.clean_share;
    const layer = last.neurons?.layer;
    vconcat.push(
      heatmapPanel({
        name: 'neurons',
        title: `neurons of ${layer ?? 'the last hidden layer'} whose activation over (a, b) is ≥ 50% one frequency${finite(clean) ? `: ${percent(clean)} of them at step ${last.step}` : ''}`,
        dataset: 'neurons',
        filter: [],
        frequencies,
        keys,
        steps,
        showXLabels: true,
        color: {
          field: 'share',
          type: 'quantitative',
          scale: {
            scheme: 'greys',
            domain: [0, Math.max(1e-9, ...neurons.map((r) => r.share))],
            nice: false,
          },
          legend: { title: ['share of', 'the neurons'], format: '.0%', gradientLength: 120, offset: 22 },
        },
        boundaries: phaseColumns,
        boundaryLabels: false,
      }),
    );
  }

  const keySet = doc.key_frequencies;
  const keyLine = !keySet
    ? 'no key frequencies (none could be chosen)'
    : keySet.source === 'all'
      ? `no frequency stands out in the embedding at step ${keySet.from_step} (gap ratio ${keySet.gap_ratio === null ? '∞' : fmt(keySet.gap_ratio, 2)} < 2): the key set is all ${keySet.frequencies.length} frequencies, none marked`
      : `◀ key frequencies ${keySet.frequencies.join(', ')} (${keySet.source === 'user' ? 'given with --key-freqs' : `sparse embedding spectrum at step ${keySet.from_step}, gap ratio ${keySet.gap_ratio === null ? '∞' : fmt(keySet.gap_ratio, 1)}`})`;
  return {
    $schema: SCHEMA,
    title: titleOf(doc, 'Fourier spectrum over training', [
      `colour: energy at frequency k over the view's energy at all k ≥ 1, per checkpoint · ${keyLine}`,
      ...(phaseColumns.length > 0
        ? ['dashed white rules: the phase boundaries (between the checkpoints around them)']
        : []),
    ]),
    config: { ...CONFIG, concat: { spacing: 16 } },
    datasets: {
      spectrum: rows,
      neurons,
      key_frequencies: keys.map((frequency) => ({ frequency })),
      phase_columns: phaseColumns,
    },
    vconcat,
    resolve: { scale: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------------
// Progress measures.

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
          y: {
            field: 'value',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            axis: { format: '.0%', title: 'accuracy, share', tickCount: 5 },
          },
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

// ---------------------------------------------------------------------------------------------------
// Norms and feature movement.

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

// ---------------------------------------------------------------------------------------------------
// Hessian and pruning.

const RANK_COLORS = ['#08306b', '#2171b5', '#4292c6', '#6baed6', '#9ecae1', '#c6dbef'];

export interface EigenRow {
  step: number;
  rank: string;
  value: number;
}

/** Positive top eigenvalues per checkpoint with a Hessian ("λ1" the largest); negatives cannot go on the log axis. */
export function hessianRows(doc: AnalysisDocument): { rows: EigenRow[]; dropped: number } {
  const rows: EigenRow[] = [];
  let dropped = 0;
  for (const c of doc.checkpoints) {
    c.hessian?.top_eigenvalues.forEach((value, i) => {
      if (finite(value) && value > 0) rows.push({ step: c.step, rank: `λ${i + 1}`, value });
      else dropped++;
    });
  }
  return { rows, dropped };
}

/** λ1 ± hvp_error_estimate at each checkpoint with a positive λ1. */
export function hessianErrorBars(doc: AnalysisDocument): Array<{ step: number; low: number; high: number }> {
  const bars: Array<{ step: number; low: number; high: number }> = [];
  for (const c of doc.checkpoints) {
    const top = c.hessian?.top_eigenvalues[0];
    const error = c.hessian?.hvp_error_estimate;
    if (finite(top) && top > 0 && finite(error))
      bars.push({ step: c.step, low: top - error, high: top + error });
  }
  return bars;
}

/** The Hessian's top eigenvalues at the checkpoints where they were computed (log scale), phases shaded. */
export function hessianSpec(doc: AnalysisDocument): TopLevelSpec | null {
  const { rows, dropped } = hessianRows(doc);
  if (rows.length === 0) return null;
  const maxStep = analysisMaxStep(doc);
  const bands = phaseBands(doc, maxStep);
  const ranks = [...new Set(rows.map((r) => r.rank))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const measured = doc.checkpoints.filter((c) => c.hessian);
  const errors = hessianErrorBars(doc);
  const low = Math.min(...rows.map((r) => r.value));
  const axis = logAxis(low, Math.max(...rows.map((r) => r.value), ...errors.map((e) => e.high)));
  // An error bar reaching 0 or below runs off the bottom of the log axis.
  const bars = errors.map((e) => ({ ...e, low: Math.max(e.low, axis.domain[0]) }));
  const h = measured[0].hessian!;
  const worst = measured.reduce(
    (m, c) =>
      Math.max(
        m,
        (c.hessian?.hvp_error_estimate ?? 0) / Math.max(1e-300, Math.abs(c.hessian?.top_eigenvalues[0] ?? 0)),
      ),
    0,
  );
  const color = {
    field: 'rank',
    type: 'nominal',
    scale: { domain: ranks, range: ranks.map((_, i) => RANK_COLORS[Math.min(i, RANK_COLORS.length - 1)]) },
    legend: { title: 'eigenvalue', symbolType: 'stroke' },
  };
  const tops = measured.map((c) => `${c.step}: ${c.hessian!.top_eigenvalues[0].toPrecision(3)}`).join(', ');
  return {
    $schema: SCHEMA,
    title: titleOf(doc, 'Top Hessian eigenvalues', [
      `Hessian of the mean training loss (no weight-decay term), Lanczos ${h.lanczos_iterations} iterations, ${h.dtype}${h.relu_masks ? ', ReLU masks frozen at θ' : ''} · largest relative error estimate ${worst.toExponential(1)}${dropped > 0 ? ` · ${dropped} eigenvalue${dropped === 1 ? '' : 's'} ≤ 0 not drawn` : ''}`,
      `λ1 at step ${tops} · bars: λ1 ± the error estimate of its Hessian-vector products`,
    ]),
    config: CONFIG,
    datasets: { eigenvalues: rows, errors: bars, phases: bands },
    width: WIDTH,
    height: 280,
    layer: [
      ...phaseLayers('hessian', bands, true),
      {
        name: 'top_eigenvalue_error_bars',
        data: { name: 'errors' },
        mark: { type: 'rule', color: RANK_COLORS[0], strokeWidth: 1.25, clip: true },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'low', type: 'quantitative' },
          y2: { field: 'high' },
        },
      },
      {
        name: 'eigenvalue_lines',
        data: { name: 'eigenvalues' },
        mark: { type: 'line', strokeWidth: 1.75, clip: true, point: { filled: true, size: 30 } },
        encoding: {
          x: stepX(maxStep, true),
          y: {
            field: 'value',
            type: 'quantitative',
            scale: { type: 'log', domain: axis.domain, nice: false },
            axis: { title: 'eigenvalue (log scale)', values: axis.values, labelExpr: axis.labelExpr },
          },
          color,
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** "after cleanup", "circuit formation", ...: where a step lies among the document's phases. */
export function phaseAt(doc: AnalysisDocument, step: number): string | null {
  const phases = doc.phases?.phases ?? [];
  for (const p of phases) {
    if (step >= p.from && (p.to === null || step < p.to)) return PHASE_STYLE[p.name]?.label ?? p.name;
  }
  const lastPhase = phases[phases.length - 1];
  if (lastPhase?.name === 'cleanup' && lastPhase.to !== null && step >= lastPhase.to) return 'generalized';
  return null;
}

export interface PruningRow {
  checkpoint: string;
  step: number;
  split: 'train' | 'test';
  fraction: number;
  accuracy: number;
}

/** Legend label of a checkpoint in the pruning chart. */
function pruningLabel(doc: AnalysisDocument, c: CheckpointAnalysis): string {
  const phase = phaseAt(doc, c.step);
  const test = c.pruning?.baseline.test_acc;
  return `step ${c.step}${phase ? ` (${phase})` : ''}${finite(test) ? `, test acc ${percent(test)}` : ''}`;
}

/** Train and test accuracy against the fraction of weights pruned, per checkpoint probed. */
export function pruningRows(doc: AnalysisDocument): PruningRow[] {
  const rows: PruningRow[] = [];
  for (const c of doc.checkpoints) {
    const p = c.pruning;
    if (!p) continue;
    const checkpoint = pruningLabel(doc, c);
    for (const split of ['train', 'test'] as const) {
      const acc = split === 'train' ? p.train_acc : p.test_acc;
      p.fractions.forEach((fraction, i) => {
        if (finite(acc[i])) rows.push({ checkpoint, step: c.step, split, fraction, accuracy: acc[i] });
      });
    }
  }
  return rows;
}

/**
 * The pruning probe: accuracy against the fraction of weights pruned (globally by magnitude), one
 * colour per checkpoint probed (typically the memorizing and the grokked network), train dashed and
 * test solid, rules where train accuracy drops out of tolerance.
 */
export function pruningSpec(doc: AnalysisDocument): TopLevelSpec | null {
  const rows = pruningRows(doc);
  if (rows.length === 0) return null;
  const probed = doc.checkpoints.filter((c) => c.pruning);
  const labels = probed.map((c) => pruningLabel(doc, c));
  const colors = labels.map((_, i) => PALETTE[(i + 2) % (PALETTE.length - 1)]);
  const critical = probed.map((c, i) => ({
    checkpoint: labels[i],
    fraction: c.pruning!.critical_fraction.train,
    label: `${percent(c.pruning!.critical_fraction.train)}`,
  }));
  const ys = placeLabels(
    critical.map((c) => ({ x: c.fraction * WIDTH, text: c.label })),
    'center',
  );
  const criticalRows = critical.map((c, i) => ({ ...c, y: ys[i] }));
  const tolerance = probed[0].pruning!.tolerance;
  const lines = probed.map((c) => {
    const p = c.pruning!;
    const test = p.baseline.test_acc >= 0.5 ? `, test accuracy to ${percent(p.critical_fraction.test)}` : '';
    return `step ${c.step}: train accuracy kept to ${percent(p.critical_fraction.train)} of the weights pruned${test}`;
  });
  return {
    $schema: SCHEMA,
    title: titleOf(doc, 'Pruning probe', [
      `smallest |w| of all weight matrices set to 0 (biases kept); rules: the largest fraction keeping train accuracy within ${tolerance} (bisection)`,
      lines.join(' · '),
    ]),
    config: CONFIG,
    datasets: { pruning: rows, critical: criticalRows },
    width: WIDTH,
    height: 300,
    layer: [
      {
        name: 'pruning_lines',
        data: { name: 'pruning' },
        mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 22 } },
        encoding: {
          x: {
            field: 'fraction',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            axis: { format: '.0%', title: 'fraction of the weights pruned' },
          },
          y: {
            field: 'accuracy',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            axis: { format: '.0%', title: 'accuracy', tickCount: 5 },
          },
          color: {
            field: 'checkpoint',
            type: 'nominal',
            scale: { domain: labels, range: colors },
            legend: { title: 'checkpoint', symbolType: 'stroke', labelLimit: 0 },
          },
          strokeDash: {
            field: 'split',
            type: 'nominal',
            scale: { domain: ['train', 'test'], range: [TRAIN_DASH, SOLID] },
            legend: {
              title: 'accuracy',
              symbolType: 'stroke',
              // Vega-Lite makes the symbols of a dash legend transparent when colour is a field.
              encode: { symbols: { update: { stroke: { value: '#333' } } } },
            },
          },
          detail: { field: 'split', type: 'nominal' },
        },
      },
      {
        name: 'critical_rules',
        data: { name: 'critical' },
        mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: {
          x: { field: 'fraction', type: 'quantitative' },
          color: { field: 'checkpoint', type: 'nominal' },
        },
      },
      {
        name: 'critical_labels',
        data: { name: 'critical' },
        mark: { type: 'text', align: 'center', baseline: 'middle', fontSize: 11 },
        encoding: {
          x: { field: 'fraction', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative', scale: null },
          text: { field: 'label' },
          color: { field: 'checkpoint', type: 'nominal' },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------------

/** Every chart that applies to the document, and why the others do not. */
export function analysisChartSpecs(doc: AnalysisDocument): AnalysisChartSet {
  const charts: AnalysisChart[] = [];
  const skipped: AnalysisChartSet['skipped'] = [];
  const add = (name: AnalysisChartName, spec: TopLevelSpec | null, reason: string) => {
    if (spec) charts.push({ name, spec });
    else skipped.push({ name, reason });
  };
  add(
    'spectrum',
    spectrumSpec(doc),
    doc.task.p === null
      ? `no Fourier view: the task (${doc.task.kind}) is not modular arithmetic`
      : 'no Fourier spectra in the analysis',
  );
  add(
    'progress',
    progressSpec(doc),
    doc.task.p === null
      ? `no restricted/excluded loss: the task (${doc.task.kind}) is not modular arithmetic`
      : 'no restricted/excluded loss: defined for a+b and a−b mod p only',
  );
  add('norms', analysisNormsSpec(doc), 'no checkpoints analysed');
  add('hessian', hessianSpec(doc), 'no Hessian eigenvalues (--hessian-steps none, or none positive)');
  add('pruning', pruningSpec(doc), 'no pruning probe (--prune-steps none)');
  return { charts, skipped };
}
