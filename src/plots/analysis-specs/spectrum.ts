/**
 * The Fourier spectrum of each weight view over training: a heatmap per view, frequency × checkpoint,
 * key frequencies marked, and the share of neurons per frequency.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument, CheckpointAnalysis } from '../../analysis/types.ts';
import type { ViewName } from '../../analysis/views.ts';
import { CONFIG, WIDTH } from '../specs.ts';
import { finite, fmt, KEY_COLOR, percent, placeLabels, SCHEMA, titleOf } from './common.ts';

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
