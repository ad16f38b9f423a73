/**
 * What the charts of `groklab analyze` share (analysis-specs/*.ts): the chart names, titles,
 * phase bands and labels above a panel. Every spec keeps its datasets in the top-level `datasets`, as
 * in specs.ts, so tests can read the numbers drawn and a spec can be pasted into the Vega-Lite editor.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../../analysis/types.ts';
import { stepPosition, TEST_COLOR, TRAIN_COLOR, WIDTH } from '../specs.ts';

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Height of a row of labels above a panel, and the width of a character at 11 px (DejaVu Sans). */
export const LABEL_ROW = 15;
export const CHAR_WIDTH = 6.6;
/** Subtitle characters per line (12 px): about the width of a chart and its legend. */
export const SUBTITLE_CHARS = 100;
/** Key-frequency marks: the test colour, which no heatmap colour is close to. */
export const KEY_COLOR = TEST_COLOR;

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

export const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
export const percent = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

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

export function titleOf(
  doc: AnalysisDocument,
  what: string,
  lines: string[],
): { text: string; subtitle: string[] } {
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

export const PHASE_STYLE: Record<string, { label: string; color: string }> = {
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
export function phaseLayers(panel: string, bands: PhaseBand[], labels: boolean): unknown[] {
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

export const finite = (x: number | null | undefined): x is number =>
  typeof x === 'number' && Number.isFinite(x);
