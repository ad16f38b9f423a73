/**
 * The Hessian's top eigenvalues at the analysed checkpoints, with their error bars.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../../analysis/types.ts';
import { CONFIG, logAxis, stepX, WIDTH } from '../specs.ts';
import { analysisMaxStep, finite, phaseBands, phaseLayers, SCHEMA, titleOf } from './common.ts';

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
