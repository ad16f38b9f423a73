/**
 * The trend at the end of a log: is test accuracy still climbing when the log stops? A run stopped
 * mid-jump has not decided anything yet, so it must not get a final-sounding verdict.
 *
 * Rule: the median of the last 3 evaluations against the median of the 3 before them. Medians keep
 * one stray evaluation from deciding (the noise rule of thresholds.ts and smooth.ts): a lone spike at
 * the last evaluation is not a trend.
 */
import { median } from './smooth.ts';
import type { EndTrend, Series } from './types.ts';

/** Evaluations in each of the two groups compared. */
export const TREND_GROUP = 3;
/** A rise of the median by at least this much means the log ends while test accuracy is still climbing. */
export const RISING_MIN = 0.05;

export function endTrend(test: Series): EndTrend | null {
  const { steps, values } = test;
  const n = values.length;
  if (n < 2 * TREND_GROUP) return null;
  const change =
    median(values.slice(n - TREND_GROUP)) - median(values.slice(n - 2 * TREND_GROUP, n - TREND_GROUP));
  return {
    last: values[n - 1],
    last_step: steps[n - 1],
    change,
    evaluations: 2 * TREND_GROUP,
    from_step: steps[n - 2 * TREND_GROUP],
    rising: change >= RISING_MIN,
  };
}
