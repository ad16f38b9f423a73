/**
 * Vega-Lite specs of `groklab analyze`'s charts, built from an analysis document (analysis.json)
 * alone, one module per chart: the Fourier spectrum of each weight view over training (spectrum.ts),
 * the progress measures (progress.ts), norms and feature movement (norms.ts), the Hessian's top
 * eigenvalues (hessian.ts) and the pruning probe (pruning.ts). analysis.ts renders and writes them;
 * specs.ts holds the shared look (fonts, colours, the symlog step axis).
 *
 * Training phases (memorization, circuit formation, cleanup) are shaded bands on every chart with a
 * step axis, labelled above the top panel.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../../analysis/types.ts';
import type { AnalysisChart, AnalysisChartName, AnalysisChartSet } from './common.ts';
import { hessianSpec } from './hessian.ts';
import { analysisNormsSpec } from './norms.ts';
import { progressSpec } from './progress.ts';
import { pruningSpec } from './pruning.ts';
import { spectrumSpec } from './spectrum.ts';

export {
  ANALYSIS_CHART_NAMES,
  type AnalysisChart,
  type AnalysisChartName,
  type AnalysisChartSet,
  analysisMaxStep,
  type PhaseBand,
  phaseBands,
  placeLabels,
  wrapLine,
} from './common.ts';
export * from './hessian.ts';
export * from './norms.ts';
export * from './progress.ts';
export * from './pruning.ts';
export * from './spectrum.ts';

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
