/**
 * Thinning a long evaluation log for drawing (GET /api/runs/:id?max_points=N): a run evaluated
 * every step for 100k steps has 100k records, far more than a chart's pixels. The steps are cut
 * into buckets, half of equal width in log(step + 1) (the dashboard's default axis: the sparse
 * early evaluations stay whole) and half of equal width in step (the linear axis), and each bucket
 * keeps the records holding the minimum and the maximum of every drawn series, so a jump, a dip or
 * a loss spike survives thinning. The first and last records are always kept. Records are returned
 * as read, in their order.
 */
import type { MetricsRecord } from './api-types.ts';

/** The series the run page draws. */
export const DRAWN_SERIES = ['train_acc', 'test_acc', 'train_loss', 'test_loss', 'weight_norm'] as const;
/**
 * Drawn too when the log has them (Prieto et al.'s measures, newer runs only); a log without them
 * is thinned exactly as before they existed.
 */
export const OPTIONAL_SERIES = ['softmax_collapse', 'nlm_cosine'] as const;

/** Smallest max_points accepted: the first and the last record. */
export const MIN_POINTS = 2;

/** At most `max` of `records` (all of them when they fit), chosen as described above. */
export function thinMetrics(records: MetricsRecord[], max: number): MetricsRecord[] {
  if (!Number.isInteger(max) || max < MIN_POINTS) {
    throw new RangeError(`max must be an integer ≥ ${MIN_POINTS}, got ${max}`);
  }
  const n = records.length;
  if (n <= max) return records;
  const series: string[] = [
    ...DRAWN_SERIES,
    ...OPTIONAL_SERIES.filter((key) => records.some((r) => typeof r[key] === 'number')),
  ];
  // Each bucket keeps at most two records per series.
  const buckets = Math.floor((max - 2) / (2 * series.length));
  const keep = new Set<number>([0, n - 1]);
  const steps = records.map((r) => Math.max(0, r.step));
  keepExtremes(records, series, steps.map(Math.log1p), Math.ceil(buckets / 2), keep);
  keepExtremes(records, series, steps, Math.floor(buckets / 2), keep);
  return [...keep].sort((a, b) => a - b).map((i) => records[i]);
}

/**
 * Adds to `keep` the indices of the smallest and largest finite value of each of `series` in each
 * of `buckets` equal-width buckets of x (the first and last records aside: they are kept anyway).
 */
function keepExtremes(
  records: MetricsRecord[],
  series: string[],
  x: number[],
  buckets: number,
  keep: Set<number>,
): void {
  if (buckets <= 0) return;
  let lo = x[0];
  let hi = x[0];
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const width = (hi - lo) / buckets || 1;
  const bucket = x.map((v) => Math.min(buckets - 1, Math.floor((v - lo) / width)));
  const n = records.length;
  for (const key of series) {
    const lowAt = new Int32Array(buckets).fill(-1);
    const highAt = new Int32Array(buckets).fill(-1);
    for (let i = 1; i < n - 1; i++) {
      const v = records[i][key];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const b = bucket[i];
      if (lowAt[b] < 0 || v < (records[lowAt[b]][key] as number)) lowAt[b] = i;
      if (highAt[b] < 0 || v > (records[highAt[b]][key] as number)) highAt[b] = i;
    }
    for (let b = 0; b < buckets; b++) {
      if (lowAt[b] >= 0) keep.add(lowAt[b]);
      if (highAt[b] >= 0) keep.add(highAt[b]);
    }
  }
}
