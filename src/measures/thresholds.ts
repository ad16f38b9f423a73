/**
 * First crossings of a threshold (t_mem, t_grok), robust to single noisy evaluations.
 *
 * Rule: the crossing is the first evaluation whose value is ≥ the threshold AND whose next
 * evaluation is ≥ the threshold too. One evaluation above the threshold whose successor falls back
 * below is noise (reported as an 'isolated-crossing' issue, never taken as t_grok); a last
 * evaluation above the threshold with nothing after it cannot be confirmed and is reported as
 * 'unconfirmed-crossing'. Two consecutive noisy evaluations would pass: use a denser log or a
 * stricter threshold for very noisy metrics.
 */
import type { TaskSpec } from '../tasks/index.ts';
import type { Series } from './types.ts';

/** The test accuracy that counts as generalized when nothing says otherwise. */
export const DEFAULT_GROK_THRESHOLD = 0.9;
/**
 * MNIST from a thousand images tops out near 0.9 test accuracy (Omnigrok's MLP ends at 0.89; groklab's
 * α = 1 run at 0.91), so 0.9 would make generalizing a coin toss: its runs cross at 0.8.
 */
export const MNIST_GROK_THRESHOLD = 0.8;

/** The grok threshold a groklab run of this task is judged by, unless the user gives one. */
export function taskGrokThreshold(task: TaskSpec): number {
  return task.kind === 'mnist' ? MNIST_GROK_THRESHOLD : DEFAULT_GROK_THRESHOLD;
}

export interface Crossing {
  /** The confirmed first crossing, or null. */
  step: number | null;
  /** The evaluation before it: the true crossing lies in (previousStep, step]. */
  previousStep: number | null;
  /** Steps of single evaluations ≥ threshold that were not confirmed, before `step`. */
  isolated: number[];
  /** The last evaluation when it alone is ≥ threshold (nothing after it to confirm it). */
  unconfirmedLast: number | null;
}

export function firstConfirmedCrossing(series: Series, threshold: number): Crossing {
  const { steps, values } = series;
  const n = steps.length;
  const isolated: number[] = [];
  for (let i = 0; i + 1 < n; i++) {
    if (values[i] < threshold) continue;
    if (values[i + 1] >= threshold) {
      return { step: steps[i], previousStep: i > 0 ? steps[i - 1] : null, isolated, unconfirmedLast: null };
    }
    isolated.push(steps[i]);
  }
  const lastAbove = n > 0 && values[n - 1] >= threshold;
  return { step: null, previousStep: null, isolated, unconfirmedLast: lastAbove ? steps[n - 1] : null };
}
