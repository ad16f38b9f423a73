/**
 * The pruning probe: accuracy as the smallest weights are pruned, per analysed checkpoint.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument, CheckpointAnalysis } from '../../analysis/types.ts';
import { CONFIG, PALETTE, percentY, SOLID, TRAIN_DASH, WIDTH } from '../specs.ts';
import { finite, PHASE_STYLE, percent, placeLabels, SCHEMA, titleOf } from './common.ts';

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
          y: percentY('accuracy', 'accuracy'),
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
