/**
 * Per-capability detection: `groklab detect FILE --capabilities GLOB`. Every column the glob matches
 * (a mixture run's `test_acc/<name>`, a language model's `eval/<benchmark>/acc` over checkpoints) is
 * judged on its own curve, with the machinery `detect` uses for a whole run: detector.ts finds the
 * change, sigmoid.ts times it, thresholds.ts gives t_mem (of the capability's train column, found by
 * name) and the first crossing of accuracies. Around them, what makes it hold on real logs:
 *
 * 1. Kind and direction, from the name's words (accuracy: acc, accuracy, top1, em, exact, ...; score:
 *    f1, bleu, rouge, score, reward, ...; lower is better: loss, nll, error, wer, mse, ...;
 *    perplexity, analysed as ln ppl), else from the trend (median of the last third against the
 *    first: a metric that fell is taken as lower-is-better, and the output says so). An "accuracy"
 *    with values outside [0, 100] is a score.
 * 2. Noise σ of one evaluation: from the curve's own first differences, 1.4826·MAD(Δv)/√2 (a steady
 *    trend moves every difference alike and not the MAD), taken away from the change being tested
 *    (max of the MAD and SD estimates there), raised by one standard error of the estimate
 *    (×(1 + 1.16/√k), k differences) so a short curve's lucky low estimate makes no jump. For an
 *    accuracy whose evaluation set size N is known (--eval-size, or every value a multiple of 1/N,
 *    20 ≤ N ≤ 10,000) σ is instead the larger of the binomial √(p(1−p)/N) at the level and the
 *    residual estimate.
 * 3. The curve oriented (up is better), its two end values put through Tukey's end-point rule (a lone
 *    stray first or last evaluation decides nothing), scaled to the range of its 3-evaluation running
 *    median; the detector then looks for the largest rise (and, on the flipped curve, the largest fall).
 *
 * A change counts when the mean of the raw values after its midpoint exceeds the mean of the plateau
 * before its onset by Z_MIN = 4 standard errors, at least 2 evaluations are past the midpoint, and an
 * accuracy moved by at least MIN_ACCURACY_CHANGE. Its 10/50/90% steps come from a sigmoid in ln(step)
 * when that fits (measureChange), else from the detector. It is a jump when ln(t90/t10) ≤ 1 (a factor
 * e of training time, verdict.ts's GRADUAL_LOG_WIDTH), or when at most one evaluation lies inside the
 * 10→90% window (the grid cannot show it gradual: 'grid-limited'), and the plateau before it did not
 * climb (drift within max(5% of the range, 15% of the rise, 3 standard errors)). With no single change
 * counting, the means of the log's first and last thirds are compared the same way (a slow drift).
 *
 * Labels: grokked (a jump whose onset is ≥ 2 × t_mem of its train column), jumped-early (a jump before
 * that), jumped (a jump, no t_mem to compare with), rising-gradually, declined (a change for the
 * worse), flat (nothing beyond the noise), insufficient-data (fewer than 4 evaluations).
 */
import { UsageError } from '../util/errors.ts';
import { DEFAULT_MEM_THRESHOLD, type LoadedLog } from './analyze.ts';
import { ACCURACY, HELD_OUT, LOSS, nameWords, resolveStepColumn } from './columns.ts';
import { detectTransition } from './detector.ts';
import { formatStep } from './format.ts';
import { bareColumn, matchColumns } from './glob.ts';
import { DRIFT_MIN, DRIFT_SHARE_OF_RISE } from './plateau.ts';
import { describeSampling, extractSeries, finiteCount, parseCell } from './series.ts';
import { fitSigmoid } from './sigmoid.ts';
import { indexAtOrAfter, median, runningMedian } from './smooth.ts';
import { DEFAULT_GROK_THRESHOLD, firstConfirmedCrossing } from './thresholds.ts';
import type { DataIssue, SamplingInfo, Series, SigmoidFit, SourceInfo, Transition } from './types.ts';
import { GAP_RATIO_MIN, GRADUAL_LOG_WIDTH } from './verdict.ts';

/** Fewer evaluations than this cannot show a plateau, a rise and its confirmation. */
export const MIN_EVALUATIONS = 4;
/** Standard errors by which the level after a change must differ from the level before it. */
export const Z_MIN = 4;
/** Standard errors of the plateau's drift that still count as flat. */
export const DRIFT_Z = 3;
/** The smallest change of an accuracy that counts (a share; LM benchmark jumps are often 0.05–0.3). */
export const MIN_ACCURACY_CHANGE = 0.05;
/** Evaluations at the new level that confirm a change. */
export const CONFIRMING_EVALUATIONS = 2;
/** t_mem: train accuracy of the capability's train column at or above this (confirmed), as in `detect`. */
export const DEFAULT_CAPABILITY_MEM_THRESHOLD = DEFAULT_MEM_THRESHOLD;

export const CAPABILITY_LABELS = [
  'grokked',
  'jumped-early',
  'jumped',
  'rising-gradually',
  'declined',
  'flat',
  'insufficient-data',
] as const;
export type CapabilityLabel = (typeof CAPABILITY_LABELS)[number];

/** accuracy: a share in [0, 1] (percent read as such); score: higher is better, any range. */
export type CapabilityKind = 'accuracy' | 'score' | 'loss' | 'perplexity' | 'metric';
export type Direction = 'higher-is-better' | 'lower-is-better';

export interface CapabilityOptions {
  /** The glob over column names (glob.ts). */
  glob: string;
  /** Step column override (--step). */
  step?: string;
  /** t_mem threshold for train columns (default 0.99). */
  memThreshold?: number;
  /** First-crossing threshold for accuracies (default: the log's task's, else 0.9). */
  grokThreshold?: number;
  /** Examples each accuracy was measured on: the binomial noise floor. */
  evalSize?: number;
}

export interface CapabilityNoise {
  /** Per-evaluation standard deviation from the curve's first differences, in the analysed scale (ln for perplexity); null under 4 evaluations. */
  residual_sigma: number | null;
  /** The same raised by one standard error of the estimate (smallSampleFactor): what the test uses. */
  residual_sigma_used: number | null;
  /** Examples per evaluation of an accuracy: --eval-size, or read off the values' granularity. */
  eval_size: number | null;
  eval_size_from: 'flag' | 'granularity' | null;
  /** σ of one evaluation: the residuals', or the larger of it and the binomial √(p(1−p)/N) at the level. */
  rule: 'residuals' | 'binomial-and-residuals';
}

/** A change of the curve (a rise, or a fall for the worse), in the analysed scale (ln for perplexity). */
export interface CapabilityChange {
  direction: 'better' | 'worse';
  /** Mean of the raw values before the change (plateau to onset) and after it (from its midpoint on). */
  from_level: number;
  to_level: number;
  /** First evaluation at or after t10: the first that shows the change. */
  onset_step: number;
  /** Where the change passes 10/50/90% of its height (t10, t90 clipped to the log: see beyond_log). */
  t10: number;
  t50: number;
  t90: number;
  /** 'sigmoid': from the fit in ln(step); 'detector': interpolated on the smoothed curve (detector.ts). */
  timing_from: 'sigmoid' | 'detector';
  /** Where the plateau before it starts (t_mem of the train column, else the first evaluation). */
  plateau_from_step: number;
  sharpness: {
    /** t90 − t10, in steps (within the log). */
    width_10_90: number;
    /** ln(t90/t10): e-folds of training time, of the fit even beyond the log (null when t10 ≤ 0). */
    width_log: number | null;
    /** The fitted 10% or 90% lies outside the evaluated steps: the change runs past the log's ends. */
    beyond_log: boolean;
    /** width_10_90 / onset_step. */
    width_relative: number | null;
    /** What the grid allows ln(t90/t10) to be: the evaluations inside the window, and those around it. */
    width_log_min: number | null;
    width_log_max: number | null;
    /** Evaluations strictly between t10 and t90. */
    evaluations_inside: number;
    /** 'grid-limited': at most one evaluation inside, so a change narrower than the grid looks the same. */
    resolution: 'resolved' | 'grid-limited';
    /** ln(t90/t10) ≤ 1 (a factor e of training time), or grid-limited. */
    sharp: boolean;
  };
  /** The noise test on the raw values. */
  significance: {
    /** σ of one evaluation at the level before and after (NoiseModel, sigmaOf). */
    sigma_before: number;
    sigma_after: number;
    /** Residual spread from the differences away from the change (≥ 3 of them), else the whole curve's. */
    residuals: 'away-from-change' | 'whole-curve';
    before_mean: number;
    before_evaluations: number;
    after_mean: number;
    after_evaluations: number;
    standard_error: number;
    /** (after − before) / standard_error, positive in the change's direction. */
    z: number;
    /** z ≥ Z_MIN (4). */
    significant: boolean;
    /** At least 2 evaluations after the midpoint. */
    confirmed: boolean;
  };
  /** The smoothed plateau's drift (share of the range), the bound it must stay under, and the verdict. */
  plateau: { drift: number | null; bound: number; flat: boolean | null };
  /** The sigmoid in ln(step) fitted from the plateau on (a(t) = c + (d−c)/(1+e^(−k(ln t − ln t0)))). */
  sigmoid: SigmoidFit | null;
}

/** The first and last thirds of the log compared: the test for a drift with no change standing out. */
export interface CapabilityTrend {
  first_mean: number;
  last_mean: number;
  evaluations_each: number;
  /** (last − first) / standard error, in the analysed scale's direction (not oriented). */
  z: number;
  significant: boolean;
}

export interface CapabilityResult {
  /** The column (CSV header, flattened JSONL key, TensorBoard tag) this capability is. */
  name: string;
  source: SourceInfo;
  step_column: string;
  /** The train-accuracy column paired with it (t_mem, gap), or null. */
  train_column: string | null;
  kind: CapabilityKind;
  direction: Direction;
  /** How the direction was decided; 'trend' is said in the text output. */
  direction_from: 'name' | 'trend';
  /** 'log': analysed as ln(value) (perplexity). */
  scale: 'linear' | 'log';
  evaluations: number;
  sampling: SamplingInfo | null;
  first_value: number | null;
  last_value: number | null;
  best_value: number | null;
  noise: CapabilityNoise;
  /** First confirmed evaluation with train accuracy ≥ the mem threshold (train column), or null. */
  t_mem: number | null;
  /** When it jumped: the onset of the jump, for the labels that are jumps; else null. */
  t_grok: number | null;
  /** Accuracies: first confirmed evaluation ≥ the grok threshold (thresholds.ts); else null. */
  t_grok_crossing: number | null;
  /** t_grok − t_mem. */
  gap: number | null;
  /** The largest change for the better (a rise), measured even when it is not significant. */
  change: CapabilityChange | null;
  /** A significant change for the worse, when there is one. */
  decline: CapabilityChange | null;
  /** The log's ends compared (null under 4 evaluations or for a constant curve). */
  trend: CapabilityTrend | null;
  label: CapabilityLabel;
  reason: string;
  notes: string[];
  /** What cleaning this column did (missing values, NaN, percentages, ...). */
  issues: DataIssue[];
}

/** A log in a runs directory that could not be read (the others still are). */
export interface CapabilityFailure {
  source: SourceInfo;
  error: string;
}

export type CapabilityOutcome = CapabilityResult | CapabilityFailure;

export function isCapabilityFailure(o: CapabilityOutcome): o is CapabilityFailure {
  return 'error' in o;
}

// ---------------------------------------------------------------------------------------------
// Names: kind, direction, the train column.

const ACCURACY_WORDS = new Set([...ACCURACY, 'top5', 'acc5', 'em', 'exact', 'correct']);
const SCORE_WORDS = new Set([
  'f1',
  'bleu',
  'rouge',
  'rouge1',
  'rouge2',
  'rougel',
  'score',
  'reward',
  'auc',
  'auroc',
  'precision',
  'recall',
  'pass',
  'map',
  'ndcg',
  'mrr',
  'r2',
  'spearman',
  'pearson',
  'corr',
  'chrf',
  'meteor',
  'winrate',
]);
const LOWER_WORDS = new Set([
  ...LOSS,
  'error',
  'err',
  'wer',
  'cer',
  'mse',
  'mae',
  'rmse',
  'bpb',
  'bpc',
  'regret',
]);
const PERPLEXITY_WORDS = new Set(['ppl', 'perplexity']);

/** The kind a column's name says, or 'metric' when it says nothing. */
export function kindFromName(column: string): CapabilityKind {
  const words = nameWords(column);
  const has = (set: Set<string>) => words.some((w) => set.has(w));
  if (has(PERPLEXITY_WORDS)) return 'perplexity';
  if (has(LOWER_WORDS)) return 'loss';
  if (has(ACCURACY_WORDS)) return 'accuracy';
  if (has(SCORE_WORDS)) return 'score';
  return 'metric';
}

const TRAIN_WORDS = ['train', 'training'];

function caseLike(model: string, word: string): string {
  if (model === model.toUpperCase() && model !== model.toLowerCase()) return word.toUpperCase();
  if (model[0] === model[0].toUpperCase() && model[0] !== model[0].toLowerCase())
    return word[0].toUpperCase() + word.slice(1);
  return word;
}

/** Every way of replacing one whole word of `name` from `from` by one of `to`. */
function replaceWord(name: string, from: Set<string>, to: readonly string[]): string[] {
  const out: string[] = [];
  // A word: a run of letters/digits, split before an upper-case letter that follows a lower-case one.
  const re = /[A-Z]?[a-z0-9]+|[A-Z0-9]+(?![a-z])/g;
  for (const m of name.matchAll(re)) {
    if (!from.has(m[0].toLowerCase())) continue;
    const at = m.index ?? 0;
    for (const w of to) out.push(name.slice(0, at) + caseLike(m[0], w) + name.slice(at + m[0].length));
  }
  return out;
}

/**
 * The train-accuracy column of a held-out column: a held-out word (test, val, eval, ...) replaced by
 * train / training, and for a metric that is not an accuracy its metric word by acc / accuracy too
 * (test_acc/add → train_acc/add, eval/arc/acc → train/arc/acc, test_loss/add → train_acc/add).
 * Null when the name has no held-out word or no such column holds a number.
 */
export function trainColumnOf(column: string, columns: readonly string[], rows: LoadedLog['table']['rows']) {
  const bare = bareColumn(column);
  const prefix = column.slice(0, column.length - bare.length);
  let candidates = replaceWord(bare, HELD_OUT, TRAIN_WORDS);
  if (kindFromName(bare) !== 'accuracy') {
    const metricWords = new Set([...LOWER_WORDS, ...PERPLEXITY_WORDS, ...SCORE_WORDS]);
    candidates = candidates.flatMap((c) => replaceWord(c, metricWords, ['acc', 'accuracy']));
  }
  for (const c of candidates) {
    const full = prefix + c;
    if (full !== column && columns.includes(full) && finiteCount(rows, full) > 0) return full;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Noise.

/** Robust per-evaluation noise from first differences: 1.4826·MAD(Δv)/√2; null under 3 differences. */
export function residualSigma(values: readonly number[]): number | null {
  if (values.length < 4) return null;
  const diffs: number[] = [];
  for (let i = 1; i < values.length; i++) diffs.push(values[i] - values[i - 1]);
  return madSigma(diffs);
}

/** σ of the values behind first differences from their standard deviation: / √2 as above. */
function sdSigma(diffs: readonly number[]): number {
  const m = mean(diffs);
  return (
    Math.sqrt(diffs.reduce((acc, d) => acc + (d - m) ** 2, 0) / Math.max(1, diffs.length - 1)) / Math.SQRT2
  );
}

/** σ of the values behind first differences: 1.4826·MAD / √2 (a difference has twice the variance). */
function madSigma(diffs: readonly number[]): number {
  const center = median(diffs);
  return (1.4826 * median(diffs.map((d) => Math.abs(d - center)))) / Math.SQRT2;
}

/**
 * The MAD estimate from k differences is itself uncertain (relative standard error ≈ 1.16/√k): it
 * is raised by one standard error so that a lucky low estimate from a short curve makes no jump.
 */
export function smallSampleFactor(differences: number): number {
  return 1 + 1.16 / Math.sqrt(Math.max(1, differences));
}

/**
 * How the noise of one evaluation is known: the residual spread (from `differences` first
 * differences) and, for accuracies, the evaluation set size. Without a set size the residual estimate
 * is raised by smallSampleFactor; with one, σ is the larger of the binomial σ at the level and the
 * residual estimate as it is.
 */
export interface NoiseModel {
  residual: number | null;
  differences: number;
  evalSize: number | null;
}

/** The σ the tests use at a level of the analysed scale. */
export function sigmaOf(model: NoiseModel): (level: number) => number {
  const r = model.residual ?? 0;
  const used = model.evalSize === null ? r * smallSampleFactor(model.differences) : r;
  return (level) => Math.max(used, model.evalSize === null ? 0 : binomialSigma(level, model.evalSize));
}

/** σ from the residual spread, as the tests use it (null without residuals). */
export function residualUsed(model: NoiseModel): number | null {
  if (model.residual === null) return null;
  return model.evalSize === null ? model.residual * smallSampleFactor(model.differences) : model.residual;
}

/** Binomial standard deviation of an accuracy measured on `n` examples at level `p` (p kept off 0 and 1). */
export function binomialSigma(p: number, n: number): number {
  const q = (Math.min(1, Math.max(0, p)) * n + 0.5) / (n + 1);
  return Math.sqrt((q * (1 - q)) / n);
}

/** Largest evaluation set size inferred from granularity. */
export const MAX_INFERRED_EVAL_SIZE = 10_000;
/** Smaller inferred sizes are more likely a coarse logger than counts (and would hide real jumps). */
export const MIN_INFERRED_EVAL_SIZE = 20;

/**
 * The evaluation set size an accuracy's values reveal: the smallest N ≤ 10,000 such that every value
 * is a multiple of 1/N (a count of correct answers out of N; float32 rounding allowed), from at least
 * 3 distinct values strictly between 0 and 1; null when there is none, or it is under 20. A log
 * rounded to 2 decimals looks like N = 100: its noise is then overstated, never understated.
 */
export function inferEvalSize(values: readonly number[]): number | null {
  const inner = [...new Set(values.filter((v) => v > 0 && v < 1))];
  if (inner.length < 3) return null;
  const fits = (v: number, n: number) => Math.abs(v * n - Math.round(v * n)) <= 1e-4 + 1e-7 * n;
  const probe = inner.slice(0, 5);
  for (let n = 1; n <= MAX_INFERRED_EVAL_SIZE; n++) {
    if (!probe.every((v) => fits(v, n))) continue;
    if (!inner.every((v) => fits(v, n))) continue;
    return n >= MIN_INFERRED_EVAL_SIZE ? n : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The analysis of one column.

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Tukey's end-point rule for a running median of 3: the first and last values become the median of
 * themselves, their neighbour, and the line through the two neighbours extended to them. A lone
 * stray value at either end (which the running median keeps as it is) then decides nothing.
 */
export function tukeyEnds(values: readonly number[]): number[] {
  const v = [...values];
  const n = v.length;
  if (n < 3) return v;
  v[0] = median([values[0], values[1], 3 * values[1] - 2 * values[2]]);
  v[n - 1] = median([values[n - 1], values[n - 2], 3 * values[n - 2] - 2 * values[n - 3]]);
  return v;
}

interface Analysed {
  steps: number[];
  /** Values in the analysed scale (ln for perplexity), not oriented. */
  scaled: number[];
  /** +1 when higher is better, −1 when lower is. */
  sign: 1 | -1;
}

/** A sigmoid fit explains the change well enough to time it when its R² is at least this. */
export const FIT_R2_MIN = 0.5;

/**
 * One change, found by the detector on `normalized` (oriented so that the change is up, scaled to
 * the smoothed range), timed, measured in the analysed scale and tested against the noise.
 * `noise` is the whole curve's; the test uses the residuals away from the change when there are
 * enough of them (the change's own differences would inflate the spread).
 *
 * Timing: a sigmoid in ln(step) fitted to the raw values from the plateau on (started from the
 * detector's levels and 10/50/90% steps) gives t10, t50, t90 when it fits (R² ≥ FIT_R2_MIN, the
 * change's direction, its midpoint inside the window): unlike the first evaluation past a level, a
 * fit does not move with one noisy evaluation. Otherwise the detector's interpolated steps are used.
 */
function measureChange(
  a: Analysed,
  normalized: Series,
  transition: Transition,
  noise: NoiseModel,
  toScaled: (normalizedLevel: number) => number,
  direction: CapabilityChange['direction'],
): CapabilityChange {
  const t = normalized.steps;
  const n = t.length;
  const detectorOnset = indexAtOrAfter(normalized, transition.onset_step);
  const from = Math.max(
    0,
    Math.min(indexAtOrAfter(normalized, transition.plateau_from_step), detectorOnset - 1),
  );

  const window: Series = { steps: t.slice(from), values: a.scaled.slice(from) };
  const fit = fitSigmoid(window, 'log_step', {
    c: toScaled(transition.plateau_level),
    d: toScaled(transition.peak_level),
    t10: transition.t10,
    t50: transition.t50,
    t90: transition.t90,
  });
  const wanted = a.sign * (direction === 'better' ? 1 : -1);
  const fitted =
    fit !== null &&
    fit.r2 !== null &&
    fit.r2 >= FIT_R2_MIN &&
    (fit.d - fit.c) * wanted > 0 &&
    fit.t0 > t[from] &&
    fit.t0 < t[n - 1];
  const [t10, t50, t90] = fitted
    ? [fit.t10, fit.t0, fit.t90]
    : [transition.t10, transition.t50, transition.t90];
  const firstFrom = (step: number) => {
    const i = t.findIndex((s) => s >= step);
    return i < 0 ? n - 1 : i;
  };
  const onset = Math.max(from + 1, fitted ? firstFrom(t10) : detectorOnset);
  const past50 = Math.max(onset, firstFrom(t50));
  const past90 = Math.max(past50, firstFrom(t90));

  // Residuals away from the change: first differences within the plateau and within the new level.
  const away = [...a.scaled.slice(0, onset), Number.NaN, ...a.scaled.slice(past90)];
  const diffs: number[] = [];
  for (let i = 1; i < away.length; i++) {
    const d = away[i] - away[i - 1];
    if (Number.isFinite(d)) diffs.push(d);
  }
  const local = diffs.length >= 3 ? Math.max(madSigma(diffs), sdSigma(diffs)) : null;
  const model: NoiseModel = local !== null ? { ...noise, residual: local, differences: diffs.length } : noise;
  const sigmaAt = sigmaOf(model);

  // Before: the plateau up to the onset. After: from the first evaluation past half the change on.
  const before = a.scaled.slice(from, onset);
  const after = a.scaled.slice(past50);
  const beforeMean = mean(before);
  const afterMean = mean(after);
  const se = Math.sqrt(sigmaAt(beforeMean) ** 2 / before.length + sigmaAt(afterMean) ** 2 / after.length);
  const gain = (afterMean - beforeMean) * wanted;
  const z = se > 0 ? gain / se : gain > 0 ? Number.POSITIVE_INFINITY : 0;

  // The plateau: medians of the first and last thirds of the smoothed (normalized) curve.
  const rise = transition.peak_level - transition.plateau_level;
  const plateau = runningMedian(normalized.values).slice(from, onset);
  const third = Math.floor(plateau.length / 3);
  const drift =
    third >= 1 ? median(plateau.slice(plateau.length - third)) - median(plateau.slice(0, third)) : null;
  // A median of k values varies by about 1.25·σ/√k; the drift is the difference of two of them.
  const range = Math.abs(toScaled(1) - toScaled(0)) || 1;
  const driftNoise = third >= 1 ? 1.2533 * (sigmaAt(beforeMean) / range) * Math.sqrt(2 / third) : 0;
  const bound = Math.max(DRIFT_MIN, DRIFT_SHARE_OF_RISE * rise, DRIFT_Z * driftNoise);
  const flat = drift === null ? null : drift <= bound;

  // Evaluations strictly inside the 10→90% window: with none or one, a change narrower than the grid
  // would look exactly the same, so the grid cannot show it gradual.
  const insideIdx = t.map((s, i) => (s > t10 && s < t90 ? i : -1)).filter((i) => i >= 0);
  const inside = insideIdx.length;
  const logRatio = (x: number | undefined, y: number | undefined) =>
    x !== undefined && y !== undefined && x > 0 && y > 0 ? Math.log(y / x) : null;
  let lastBelow = -1;
  for (let i = 0; i < n && t[i] <= t10; i++) lastBelow = i;
  const widthLog = t10 > 0 ? Math.log(t90 / t10) : null;
  // A fit can put 10% or 90% outside the log (a slow drift over all of it): say so, report the part inside.
  const beyond = t10 < t[0] || t90 > t[n - 1];
  const gridLimited = inside <= 1;
  const sharp = gridLimited || (widthLog !== null && widthLog <= GRADUAL_LOG_WIDTH);
  return {
    direction,
    from_level: beforeMean,
    to_level: afterMean,
    onset_step: t[onset],
    t10: Math.max(t10, t[0]),
    t50,
    t90: Math.min(t90, t[n - 1]),
    timing_from: fitted ? 'sigmoid' : 'detector',
    plateau_from_step: t[from],
    sharpness: {
      width_10_90: Math.min(t90, t[n - 1]) - Math.max(t10, t[0]),
      width_log: widthLog,
      width_relative: t[onset] > 0 ? (t90 - t10) / t[onset] : null,
      width_log_min: inside >= 2 ? logRatio(t[insideIdx[0]], t[insideIdx[inside - 1]]) : 0,
      width_log_max: logRatio(t[lastBelow], t[firstFrom(t90)]),
      evaluations_inside: inside,
      resolution: gridLimited ? 'grid-limited' : 'resolved',
      beyond_log: beyond,
      sharp,
    },
    significance: {
      sigma_before: sigmaAt(beforeMean),
      sigma_after: sigmaAt(afterMean),
      residuals: local !== null ? 'away-from-change' : 'whole-curve',
      before_mean: beforeMean,
      before_evaluations: before.length,
      after_mean: afterMean,
      after_evaluations: after.length,
      standard_error: se,
      z,
      significant: z >= Z_MIN,
      confirmed: after.length >= CONFIRMING_EVALUATIONS,
    },
    plateau: { drift, bound, flat },
    sigmoid: fit,
  };
}

/** The change is real: significant, confirmed, and (accuracies) large enough. */
function counts(change: CapabilityChange | null, kind: CapabilityKind): boolean {
  if (!change) return false;
  const s = change.significance;
  const size = Math.abs(s.after_mean - s.before_mean);
  return s.significant && s.confirmed && (kind !== 'accuracy' || size >= MIN_ACCURACY_CHANGE);
}

/** Analyses one column of a loaded log. */
export function analyzeCapability(
  log: LoadedLog,
  column: string,
  stepColumn: string,
  options: Omit<CapabilityOptions, 'glob'> = {},
): CapabilityResult {
  const { rows, columns } = log.table;
  const notes: string[] = [];
  let kind = kindFromName(column);
  // An accuracy by name must look like one: shares, or percentages.
  if (kind === 'accuracy') {
    const outside = rows
      .map((r) => parseCell(r[column]))
      .filter((c) => c.kind === 'number' && (c.value < 0 || c.value > 100));
    if (outside.length > 0) {
      kind = 'score';
      notes.push(
        'named like an accuracy, but has values outside [0, 100]: read as a score (higher is better)',
      );
    }
  }
  const role = kind === 'accuracy' ? 'test_acc' : 'test_loss';
  const extracted = extractSeries(rows, stepColumn, column, role, column);
  const series = extracted.series;
  // Each result is one column's: the role the cleaning was done under says nothing here.
  const issues = extracted.issues.map(({ metric: _metric, ...rest }) => rest as DataIssue);
  const n = series.steps.length;

  let scale: CapabilityResult['scale'] = 'linear';
  if (kind === 'perplexity') {
    if (series.values.every((v) => v > 0)) scale = 'log';
    else notes.push('a perplexity with values ≤ 0: analysed as it is, not as ln(perplexity)');
  }
  const scaled = scale === 'log' ? series.values.map(Math.log) : [...series.values];
  const fromScaled = (v: number) => (scale === 'log' ? Math.exp(v) : v);

  let directionFrom: CapabilityResult['direction_from'] = 'name';
  let sign: 1 | -1 = kind === 'loss' || kind === 'perplexity' ? -1 : 1;
  if (kind === 'metric') {
    directionFrom = 'trend';
    const third = Math.max(1, Math.floor(n / 3));
    const trend = n >= 2 ? median(scaled.slice(-third)) - median(scaled.slice(0, third)) : 0;
    sign = trend < 0 ? -1 : 1;
    notes.push(
      `the name does not say which way is better: ${sign < 0 ? 'it fell over the log, so lower is taken as better' : 'it did not fall over the log, so higher is taken as better'}`,
    );
  }

  const memThreshold = options.memThreshold ?? DEFAULT_CAPABILITY_MEM_THRESHOLD;
  const trainColumn = trainColumnOf(column, columns, rows);
  let tMem: number | null = null;
  if (trainColumn) {
    const train = extractSeries(rows, stepColumn, trainColumn, 'train_acc', trainColumn).series;
    tMem = firstConfirmedCrossing(train, memThreshold).step;
    if (tMem === null) notes.push(`${trainColumn} never reached ${memThreshold} (confirmed): no t_mem`);
  }

  // Noise: the residuals (raised for short curves), and for accuracies the binomial noise of the
  // evaluation set, given or read off the values' granularity.
  if (options.evalSize !== undefined && kind !== 'accuracy') {
    notes.push('--eval-size applies to accuracies only: the noise of this metric comes from its residuals');
  }
  const inferred =
    kind === 'accuracy' && options.evalSize === undefined ? inferEvalSize(series.values) : null;
  const evalSize = kind === 'accuracy' ? (options.evalSize ?? inferred) : null;
  const noiseModel: NoiseModel = { residual: residualSigma(scaled), differences: n - 1, evalSize };
  const noise: CapabilityNoise = {
    residual_sigma: noiseModel.residual,
    residual_sigma_used: residualUsed(noiseModel),
    eval_size: evalSize,
    eval_size_from: evalSize === null ? null : inferred !== null ? 'granularity' : 'flag',
    rule: evalSize === null ? 'residuals' : 'binomial-and-residuals',
  };
  const sigmaAt = sigmaOf(noiseModel);
  if (inferred !== null) {
    notes.push(
      `every value is a multiple of 1/${inferred}: taken as correct answers out of ${inferred} examples for the binomial noise (--eval-size N says otherwise)`,
    );
  }

  const grokThreshold = options.grokThreshold ?? log.grokThreshold ?? DEFAULT_GROK_THRESHOLD;
  const result: CapabilityResult = {
    name: column,
    source: log.source,
    step_column: stepColumn,
    train_column: trainColumn,
    kind,
    direction: sign > 0 ? 'higher-is-better' : 'lower-is-better',
    direction_from: directionFrom,
    scale,
    evaluations: n,
    sampling: describeSampling(series, 'test_acc').info,
    first_value: n > 0 ? series.values[0] : null,
    last_value: n > 0 ? series.values[n - 1] : null,
    best_value: n > 0 ? (sign > 0 ? Math.max(...series.values) : Math.min(...series.values)) : null,
    noise,
    t_mem: tMem,
    t_grok: null,
    t_grok_crossing: kind === 'accuracy' ? firstConfirmedCrossing(series, grokThreshold).step : null,
    gap: null,
    change: null,
    decline: null,
    trend: null,
    label: 'flat',
    reason: '',
    notes,
    issues,
  };
  const what = KIND_WORDS[kind];
  if (n < MIN_EVALUATIONS) {
    result.label = 'insufficient-data';
    result.reason = `${n} evaluation${n === 1 ? '' : 's'} with a number: at least ${MIN_EVALUATIONS} are needed to see a plateau, a change and its confirmation`;
    return result;
  }

  const oriented = tukeyEnds(scaled.map((v) => sign * v));
  const smooth = runningMedian(oriented);
  const lo = Math.min(...smooth);
  const hi = Math.max(...smooth);
  const range = hi - lo;
  const lastJump = sign * scaled[n - 1] - oriented[n - 1];
  if (Math.abs(lastJump) > Z_MIN * sigmaAt(scaled[n - 1]) && Math.abs(lastJump) > 0) {
    notes.push(
      `the last evaluation alone (step ${series.steps[n - 1]}) moved ${lastJump > 0 ? 'for the better' : 'for the worse'}, to ${fmt(series.values[n - 1])}; one evaluation does not count: evaluate further to confirm`,
    );
  }
  if (!(range > 1e-12 * Math.max(1, Math.abs(hi)))) {
    result.reason = `${what} stays at ${fmt(fromScaled(sign * smooth[0]))} over ${n} evaluations`;
    return result;
  }
  const steps = series.steps;
  const normalized: Series = { steps, values: oriented.map((v) => (v - lo) / range) };
  const flipped: Series = { steps, values: normalized.values.map((v) => 1 - v) };
  const toScaled = (x: number) => sign * (lo + x * range);
  const analysed: Analysed = { steps, scaled, sign };

  // The ends of the log: means of its first and last thirds, tested like a change.
  const third = Math.max(1, Math.floor(n / 3));
  const firstMean = mean(scaled.slice(0, third));
  const lastMean = mean(scaled.slice(n - third));
  // Every difference counts here (no change is set apart), so the spread is the larger of MAD and SD.
  const allDiffs = scaled.slice(1).map((v, i) => v - scaled[i]);
  const trendSigma = sigmaOf({
    ...noiseModel,
    residual: Math.max(noiseModel.residual ?? 0, sdSigma(allDiffs)),
  });
  const trendSe = Math.sqrt((trendSigma(firstMean) ** 2 + trendSigma(lastMean) ** 2) / third);
  const trendZ =
    trendSe > 0
      ? (lastMean - firstMean) / trendSe
      : lastMean === firstMean
        ? 0
        : Math.sign(lastMean - firstMean) * Number.POSITIVE_INFINITY;
  const trend: CapabilityTrend = {
    first_mean: firstMean,
    last_mean: lastMean,
    evaluations_each: third,
    z: trendZ,
    significant: Math.abs(trendZ) >= Z_MIN,
  };
  result.trend = trend;

  const riseTr = detectTransition(normalized, tMem, null);
  const fallTr = detectTransition(flipped, null, null);
  const rise = riseTr ? measureChange(analysed, normalized, riseTr, noiseModel, toScaled, 'better') : null;
  const fall = fallTr
    ? measureChange(analysed, flipped, fallTr, noiseModel, (x) => toScaled(1 - x), 'worse')
    : null;
  result.change = rise;
  const show = (x: number) => fmt(fromScaled(x));
  const rises = counts(rise, kind);
  const falls = counts(fall, kind);
  if (falls) result.decline = fall;

  if (rise && rises) {
    const s = rise.sharpness;
    const moved = `${show(rise.from_level)} → ${show(rise.to_level)}`;
    if (s.sharp && rise.plateau.flat !== false) {
      const width = widthWords(rise, normalized);
      result.t_grok = rise.onset_step;
      if (tMem !== null) {
        result.gap = rise.onset_step - tMem;
        const ratio = (rise.onset_step / Math.max(tMem, 1)).toFixed(1);
        if (rise.onset_step >= GAP_RATIO_MIN * tMem) {
          result.label = 'grokked';
          result.reason = `${trainColumn} memorized at step ${tMem}; ${what} jumped ${moved} from step ${rise.onset_step} (${ratio}× t_mem), ${width}`;
        } else {
          result.label = 'jumped-early';
          result.reason = `${what} jumped ${moved} from step ${rise.onset_step}, ${ratio}× t_mem (${tMem}, ${trainColumn}): along with memorization, not after a plateau (grokking needs ≥ ${GAP_RATIO_MIN}× t_mem); ${width}`;
        }
      } else {
        result.label = 'jumped';
        result.reason = `${what} jumped ${moved} from step ${rise.onset_step}, ${width}${trainColumn ? '' : '; no train column to say whether it came after memorization'}`;
      }
      if (rise.plateau.flat === null) {
        notes.push('the plateau before the jump is too short to say whether it was flat');
      }
      if (
        s.resolution === 'grid-limited' &&
        s.width_log_max !== null &&
        s.width_log_max > GRADUAL_LOG_WIDTH
      ) {
        notes.push(
          `the evaluations are too sparse here to tell a jump from a rise over up to ${times(Math.exp(s.width_log_max))} in training time (steps ${gridSpan(rise, normalized)})`,
        );
      }
    } else {
      result.label = 'rising-gradually';
      const why =
        rise.plateau.flat === false
          ? `it climbed before its steepest part (drift ${signed(rise.plateau.drift ?? 0)} of its range, at most ${fmt(rise.plateau.bound)} is flat)`
          : s.beyond_log
            ? `the rise runs past the ends of the log (10→90% would take more than steps ${step(rise.t10)}–${step(rise.t90)}, ${times(rise.t90 / Math.max(rise.t10, 1e-9))} in training time)`
            : `the 10→90% rise took steps ${step(rise.t10)}–${step(rise.t90)}${s.width_log !== null ? `, ${times(Math.exp(s.width_log))} in training time (a jump takes less than ×${Math.E.toFixed(1)})` : ', from the start of the log'}`;
      result.reason = `${what} improved ${moved} gradually: ${why}`;
    }
    result.reason += significanceWords(rise, noise);
    if (falls && fall) {
      notes.push(
        `it also got worse, ${show(fall.from_level)} → ${show(fall.to_level)} from step ${fall.onset_step}, ${fall.onset_step > rise.t90 ? 'after' : 'before'} the rise`,
      );
    }
  } else if (fall && falls) {
    result.label = 'declined';
    result.reason = `${what} got worse, ${show(fall.from_level)} → ${show(fall.to_level)} from step ${fall.onset_step}${significanceWords(fall, noise)}`;
  } else if (
    trend.significant &&
    (kind !== 'accuracy' || Math.abs(trend.last_mean - trend.first_mean) >= MIN_ACCURACY_CHANGE)
  ) {
    // No single change stands out, but the log's end differs from its start: a slow drift.
    const better = (trend.last_mean - trend.first_mean) * sign > 0;
    result.label = better ? 'rising-gradually' : 'declined';
    result.reason = `${what} ${better ? 'improved' : 'got worse'} ${show(trend.first_mean)} → ${show(trend.last_mean)} (means of the first and last ${trend.evaluations_each} evaluations) without any one change standing out: ${zWords(Math.abs(trend.z))} between the ends${noiseWords(noise)}`;
  } else {
    result.label = 'flat';
    const sig = rise?.significance;
    const why = !rise
      ? 'no rise'
      : !sig?.significant
        ? `the likeliest rise the detector finds (${show(rise.from_level)} → ${show(rise.to_level)} from step ${rise.onset_step}) measures ${zWords(sig?.z ?? 0)}, ${Z_MIN} are needed`
        : !sig.confirmed
          ? `its largest rise (${show(rise.from_level)} → ${show(rise.to_level)}) shows only at the last evaluation; one evaluation does not count`
          : `its largest rise moved it ${signed(sig.after_mean - sig.before_mean)}, under the ${MIN_ACCURACY_CHANGE} an accuracy must move`;
    result.reason = `${what} stays within its noise: ${why}${noiseWords(noise)}`;
  }
  return result;
}

/** "400–1600": the last evaluation at or before t10 and the first at or after t90. */
function gridSpan(change: CapabilityChange, s: Series): string {
  const t = s.steps;
  const below = t.filter((x) => x <= change.t10);
  const above = t.find((x) => x >= change.t90) ?? t[t.length - 1];
  return `${step(below.length > 0 ? below[below.length - 1] : t[0])}–${step(above)}`;
}

function widthWords(change: CapabilityChange, s: Series): string {
  const sh = change.sharpness;
  if (sh.evaluations_inside === 0) return `all of it between two evaluations (steps ${gridSpan(change, s)})`;
  const factor = sh.width_log !== null ? ` (${times(Math.exp(sh.width_log))} in training time)` : '';
  return `10→90% over steps ${step(change.t10)}–${step(change.t90)}${factor}`;
}

const zWords = (z: number) =>
  `${Number.isFinite(z) ? (z >= 100 ? 'over 100' : z.toFixed(1)) : 'infinitely many'} standard errors`;

function significanceWords(change: CapabilityChange, noise: CapabilityNoise): string {
  return `; ${zWords(change.significance.z)} beyond the noise${noiseWords(noise)}`;
}

function noiseWords(noise: CapabilityNoise): string {
  const res =
    noise.residual_sigma_used === null ? null : `σ ${fmt(noise.residual_sigma_used)} from the residuals`;
  if (noise.eval_size === null) return res ? ` (${res})` : '';
  const binomial = `binomial noise of ${noise.eval_size} examples${noise.eval_size_from === 'granularity' ? ' (from the values)' : ''}`;
  return res ? ` (the larger of ${binomial} and ${res})` : ` (${binomial})`;
}

const KIND_WORDS: Record<CapabilityKind, string> = {
  accuracy: 'accuracy',
  score: 'the score',
  loss: 'the loss',
  perplexity: 'the perplexity',
  metric: 'the metric',
};

const step = formatStep;
/** Values: 3 significant digits, without trailing noise. */
export function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000 || a < 0.01) return x.toPrecision(3);
  return a >= 10 ? x.toFixed(1) : x.toFixed(2);
}
/** A factor of training time: "×1.4", "×154". */
export const times = (x: number) => `×${x < 10 ? x.toFixed(1) : String(Math.round(x))}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${fmt(Math.abs(x))}`;

// ---------------------------------------------------------------------------------------------
// A whole log.

/**
 * Every capability of one loaded log, in the log's column order. UsageError (field --capabilities)
 * when the glob matches no column, listing the columns.
 */
export function analyzeCapabilities(log: LoadedLog, options: CapabilityOptions): CapabilityResult[] {
  const matched = capabilityColumns(log, options);
  if (matched.columns.length === 0) throw noMatch(options.glob, [{ where: log.where, columns: matched.all }]);
  return matched.columns.map((c) => analyzeCapability(log, c, matched.step, options));
}

/** The columns of `log` the glob selects (the step column and W&B __MIN/__MAX companions never are). */
export function capabilityColumns(
  log: LoadedLog,
  options: CapabilityOptions,
): { step: string; columns: string[]; all: string[] } {
  const step = resolveStepColumn(log.table, options.step, log.where);
  const all = log.table.columns.filter((c) => c !== step);
  const companions = !/__/.test(options.glob);
  const columns = matchColumns(all, options.glob).filter((c) => !(companions && /__(min|max)$/i.test(c)));
  return { step, columns, all };
}

/** The UsageError for a glob that matched nothing, listing what exists. */
export function noMatch(glob: string, logs: Array<{ where: string; columns: string[] }>): UsageError {
  const listing = logs.map((l) => `${l.where}: ${l.columns.join(', ') || '(none)'}`).join('; ');
  return new UsageError({
    field: '--capabilities',
    message: `"${glob}" matches no column (* stays within one "/" segment, ** crosses them); columns: ${listing}`,
  });
}

/** Options problems, named after the flags. */
export function capabilityOptionProblems(
  options: Partial<CapabilityOptions>,
): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  if (options.glob !== undefined && options.glob.trim() === '') {
    problems.push({
      field: '--capabilities',
      message: "must be a glob over column names, e.g. 'test_acc/*'",
    });
  } else if (options.glob !== undefined) {
    try {
      matchColumns([], options.glob);
    } catch (err) {
      if (err instanceof UsageError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (options.evalSize !== undefined && !(Number.isInteger(options.evalSize) && options.evalSize >= 1)) {
    problems.push({
      field: '--eval-size',
      message: `must be an integer ≥ 1 (examples per evaluation), got ${options.evalSize}`,
    });
  }
  const inUnit = (field: string, x: number | undefined) => {
    if (x !== undefined && !(x > 0 && x <= 1))
      problems.push({ field, message: `must be in (0, 1], got ${x}` });
  };
  inUnit('--mem-threshold', options.memThreshold);
  inUnit('--grok-threshold', options.grokThreshold);
  return problems;
}
