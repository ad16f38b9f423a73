/**
 * Losses and accuracy over rows of a logit matrix, in float64, for any subset of the examples. Here in
 * src/train so that the trainer's progress measures (restricted and excluded loss) and the analysis
 * (src/analysis/losses.ts re-exports it) compute them the same way.
 */

import type { TrainSpec } from './spec.ts';

/** The run's training loss (float64 here whatever its precision: these measure, they do not train). */
export type LossKind = TrainSpec['loss'];

/**
 * Mean loss of `logits` ([N, C] row-major) over the rows in `rows` (all rows when null), with
 * `adjust(row, c, logit)` applied to every logit first (used to add or remove a circuit's part).
 * Cross-entropy and StableMax cross-entropy as in training; MSE against one-hot targets averaged over
 * rows and classes.
 */
export function meanLoss(
  logits: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number>,
  rows: ArrayLike<number> | null,
  kind: LossKind,
  adjust?: (row: number, c: number, logit: number) => number,
): number {
  const n = rows ? rows.length : labels.length;
  if (n === 0) return Number.NaN;
  const z = new Float64Array(classes);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = rows ? rows[i] : i;
    const o = row * classes;
    for (let c = 0; c < classes; c++) z[c] = adjust ? adjust(row, c, logits[o + c]) : logits[o + c];
    const label = labels[row];
    if (kind === 'mse') {
      let s = 0;
      for (let c = 0; c < classes; c++) s += (z[c] - (c === label ? 1 : 0)) ** 2;
      total += s / classes;
    } else if (kind === 'stablemax_cross_entropy') {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += stablemaxS(z[c]);
      total += Math.log(sum) - Math.log(stablemaxS(z[label]));
    } else {
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classes; c++) if (z[c] > max) max = z[c];
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(z[c] - max);
      total += max + Math.log(sum) - z[label];
    }
  }
  return total / n;
}

/** StableMax's s(x) (Prieto et al. 2025): x + 1 for x ≥ 0, 1/(1 − x) below; the same ε as training. */
function stablemaxS(x: number): number {
  return x >= 0 ? x + 1 : 1 / (1 - x + 1e-30);
}

/** Share of the rows (all when null) whose largest logit is the label; ties go to the lowest class. */
export function accuracyOf(
  logits: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number>,
  rows: ArrayLike<number> | null,
): number {
  const n = rows ? rows.length : labels.length;
  if (n === 0) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = rows ? rows[i] : i;
    const o = row * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[o + c] > logits[o + best]) best = c;
    if (best === labels[row]) correct++;
  }
  return correct / n;
}
