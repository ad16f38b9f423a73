/**
 * The per-run numbers of a sweep over the initialization scale α (`model.init_scale`, Omnigrok): the
 * delay t_grok / t_mem (a lower bound from the steps trained when test accuracy never crossed), and
 * from the run's checkpoints the feature movement and t_feat (feature-movement.ts), with whether
 * t_feat came no later than the first checkpoint at or after t_grok. Plus the per-α medians over
 * seeds and the trend rule both α claims use (init-scale-claims.ts).
 */
import { formatStep } from '../measures/index.ts';
import { fmt, isDone, numericValue } from './claim-check.ts';
import { movementAfterMemorization, type RunFeatureMovement } from './feature-movement.ts';
import { boundedMedian, type MaybeCensored } from './fit.ts';
import { SEED_AXIS, type SweepRunRow } from './gather.ts';

export const INIT_SCALE_AXIS = 'model.init_scale';
/** Medians may dip by this share from one α to a larger one and still count as not decreasing (seed noise). */
export const DIP_TOLERANCE = 0.1;

export interface InitScaleRun {
  run_id: string;
  alpha: number;
  seed: number | null;
  verdict: string | null;
  t_mem: number | null;
  t_grok_onset: number | null;
  t_grok: number | null;
  /** Steps trained (the bound for a t_grok or t_feat never reached). */
  steps_run: number | null;
  /** t_grok / t_mem; when test accuracy never crossed, steps trained / t_mem (then `delay_censored`). */
  delay_ratio: number | null;
  delay_censored: boolean;
  /** The largest 1 − CKA of the last hidden layer's features to step 0, over the checkpoints. */
  max_movement: number | null;
  /** First checkpoint where the movement reached half its maximum (null: features did not move). */
  t_feat: number | null;
  /** The first checkpoint at or after t_grok: the earliest the checkpoints can see the jump. */
  grok_checkpoint: number | null;
  /** t_feat ≤ grok_checkpoint; null when the run did not generalize or has no feature data. */
  feat_by_grok: boolean | null;
  /** Further movement after t_mem (movementAfterMemorization); null without t_mem or feature data. */
  rise_after_mem: number | null;
  /** First checkpoint after t_mem with half of that rise done; null when it is small (or unknown). */
  t_feat_after_mem: number | null;
  /** Why there is no feature movement for this run. */
  feature_error: string | null;
}

/** A step reached, or censored at the steps trained when never reached (null: nothing trained). */
export function stepOrBound(step: number | null, r: InitScaleRun): MaybeCensored | null {
  if (step !== null) return { value: step, censored: false };
  return r.steps_run === null ? null : { value: r.steps_run, censored: true };
}

/** The delay ratio of a run that memorized: exact, or a lower bound from the steps it trained. */
export function delayRatio(r: SweepRunRow): MaybeCensored | null {
  if (r.t_mem === null) return null;
  // t_mem is an evaluation step, 0 only when the network fit its training set untrained.
  const mem = Math.max(r.t_mem, 1);
  if (r.t_grok_crossing !== null) return { value: r.t_grok_crossing / mem, censored: false };
  const trained = r.steps_run ?? r.steps_budget;
  return trained === null ? null : { value: trained / mem, censored: true };
}

/** The first checkpoint at or after `step` (the last checkpoint when none is). */
export function checkpointAtOrAfter(steps: readonly number[], step: number): number | null {
  if (steps.length === 0) return null;
  return steps.find((s) => s >= step) ?? steps[steps.length - 1];
}

/** One row per finished run with a numeric α, in the rows' order. */
export function initScaleRuns(
  rows: readonly SweepRunRow[],
  features: readonly RunFeatureMovement[] = [],
): InitScaleRun[] {
  const byId = new Map(features.map((f) => [f.run_id, f]));
  return rows.filter(isDone).flatMap((r) => {
    const alpha = numericValue(r, INIT_SCALE_AXIS);
    if (alpha === null) return [];
    const f = byId.get(r.run_id);
    const measured = f !== undefined && f.error === null;
    const delay = delayRatio(r);
    const tFeat = measured ? f.t_feat : null;
    const grokCheckpoint =
      measured && r.t_grok_crossing !== null ? checkpointAtOrAfter(f.steps, r.t_grok_crossing) : null;
    const after =
      measured && r.t_mem !== null ? movementAfterMemorization(f.steps, f.movement, r.t_mem) : null;
    return [
      {
        run_id: r.run_id,
        alpha,
        seed: numericValue(r, SEED_AXIS),
        verdict: r.verdict,
        t_mem: r.t_mem,
        t_grok_onset: r.t_grok_onset,
        t_grok: r.t_grok_crossing,
        steps_run: r.steps_run ?? r.steps_budget,
        delay_ratio: delay?.value ?? null,
        delay_censored: delay?.censored ?? false,
        max_movement: measured ? f.max_movement : null,
        t_feat: tFeat,
        grok_checkpoint: grokCheckpoint,
        feat_by_grok: grokCheckpoint === null ? null : tFeat !== null && tFeat <= grokCheckpoint,
        rise_after_mem: after?.rise ?? null,
        t_feat_after_mem: after?.t_feat_after ?? null,
        feature_error: f === undefined ? 'not measured' : f.error,
      },
    ];
  });
}

/** The median over seeds at one α: `median` exact, or a lower bound (`upper` null) when censored values decide it. */
export interface AlphaLevel {
  alpha: number;
  runs: number;
  median: number;
  upper: number | null;
  censored: boolean;
}

/** Per α (ascending), the bounded median of each run's value (runs without one left out). */
export function alphaLevels(
  runs: readonly InitScaleRun[],
  measureOf: (r: InitScaleRun) => MaybeCensored | null,
): AlphaLevel[] {
  const alphas = [...new Set(runs.map((r) => r.alpha))].sort((p, q) => p - q);
  return alphas.flatMap((alpha) => {
    const values = runs
      .filter((r) => r.alpha === alpha)
      .map(measureOf)
      .filter((v): v is MaybeCensored => v !== null);
    const m = boundedMedian(values);
    if (m === null) return [];
    const upper = Number.isFinite(m.upper) ? m.upper : null;
    return [{ alpha, runs: values.length, median: m.lower, upper, censored: upper === null }];
  });
}

/**
 * Whether medians grow with α, from bounds only (a censored median is known only from below):
 *   dip      the first α_j whose median is known to be below an earlier α's by more than DIP_TOLERANCE
 *            (upper_j < (1 − tol)·median_i), paired with the earlier α of the highest median; else null
 *   grows    true when the largest α's median is known to be ≥ `factor` × the smallest's (strictly
 *            greater for factor 1), false when known not to be, null when censoring hides it
 */
export function alphaTrend(
  levels: readonly AlphaLevel[],
  factor: number,
): { dip: [AlphaLevel, AlphaLevel] | null; grows: boolean | null } {
  let dip: [AlphaLevel, AlphaLevel] | null = null;
  for (let j = 1; j < levels.length && dip === null; j++) {
    const upper = levels[j].upper;
    // Against the highest median before it: the fall worth naming.
    const peak = levels.slice(0, j).reduce((p, q) => (q.median > p.median ? q : p));
    if (upper !== null && upper < (1 - DIP_TOLERANCE) * peak.median) dip = [peak, levels[j]];
  }
  const low = levels[0];
  const high = levels[levels.length - 1];
  const beats = (top: number, bottom: number) => (factor === 1 ? top > bottom : top >= factor * bottom);
  let grows: boolean | null = null;
  if (low !== undefined && high !== undefined && low !== high) {
    if (low.upper !== null && beats(high.median, low.upper)) grows = true;
    else if (high.upper !== null && !beats(high.upper, low.median)) grows = false;
  }
  return { dip, grows };
}

/** "≥ 12.5" for a censored median, "12.5" otherwise, with `format` for the number. */
export function levelText(l: AlphaLevel, format: (x: number) => string = fmt): string {
  return `${l.censored ? '≥ ' : ''}${format(l.median)}`;
}

/** The per-run table of the report (markdown and terminal). */
export function initScaleTable(runs: readonly InitScaleRun[]): { header: string[]; body: string[][] } {
  const header = [
    'run',
    'α',
    'seed',
    't_mem',
    't_grok',
    't_grok/t_mem',
    'max 1−CKA',
    't_feat',
    'grok ckpt',
    't_feat ≤ it',
    'rise after t_mem',
    'its half at',
    'verdict',
  ];
  const yesNo = (b: boolean | null) => (b === null ? '—' : b ? 'yes' : 'no');
  const body = runs.map((r) => [
    r.run_id,
    fmt(r.alpha),
    r.seed === null ? '—' : String(r.seed),
    formatStep(r.t_mem),
    formatStep(r.t_grok),
    r.delay_ratio === null ? '—' : `${r.delay_censored ? '≥ ' : ''}${fmt(r.delay_ratio)}`,
    r.max_movement === null ? (r.feature_error ?? '—') : r.max_movement.toFixed(3),
    r.max_movement === null ? '—' : r.t_feat === null ? 'never' : formatStep(r.t_feat),
    formatStep(r.grok_checkpoint),
    yesNo(r.feat_by_grok),
    r.rise_after_mem === null ? '—' : r.rise_after_mem.toFixed(3),
    r.rise_after_mem === null ? '—' : r.t_feat_after_mem === null ? 'small' : formatStep(r.t_feat_after_mem),
    r.verdict ?? '—',
  ]);
  return { header, body };
}
