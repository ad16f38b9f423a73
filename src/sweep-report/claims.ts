/**
 * The literature's claims about what drives grokking, checked against a sweep's runs (DESIGN.md,
 * "What drives it"). Each check is computed from the rows, never assumed:
 *
 *   no-decay-no-grok       γ = 0: no run groks within its budget
 *   delay-inverse-decay    moderate γ > 0: the delay Δt = t_grok − t_mem shrinks roughly as 1/γ
 *                          (least squares Δt = a/γ + b with a > 0 and R² ≥ FIT_R2_MIN), over the
 *                          runs that generalized after memorizing (DELAYED_VERDICTS)
 *   too-much-decay-no-fit  the largest γ: train accuracy never reaches the memorization threshold
 *   goldilocks-fraction    training fraction: too little data, no generalization; too much,
 *                          generalization without a delay; grokking in between
 *
 * Only finished runs count (a run still going may yet grok; a stopped one did not use its budget).
 * A check is `not tested` when its axis is missing or the runs cannot decide it, and says why.
 * The claims about training levers (Grokfast, softmax collapse, StableMax, ⊥Grad) follow them, from
 * lever-claims.ts, then those about the initialization scale α, from init-scale-claims.ts.
 */
import { formatStep } from '../measures/index.ts';
import { GAP_RATIO_MIN } from '../measures/verdict.ts';
import {
  axisMissingText,
  budgetText,
  byValue,
  type ClaimCheck,
  type ClaimContext,
  type ClaimId,
  type ClaimStatus,
  countBy,
  fmt,
  groupLabel,
  groupsBesides,
  hasAxis,
  isDone,
  listCounts,
  maxOf,
  notDoneNote,
  numericValue,
} from './claim-check.ts';
import { censoredMedian, fitInverse, fitPowerLaw } from './fit.ts';
import type { SweepAxis, SweepRunRow } from './gather.ts';
import { initScaleClaims } from './init-scale-claims.ts';
import { leverClaims } from './lever-claims.ts';

export { type ClaimCheck, type ClaimContext, type ClaimId, type ClaimStatus, fmt, groupLabel, isDone };

export const WEIGHT_DECAY_AXIS = 'train.weight_decay';
export const TRAIN_FRACTION_AXIS = 'task.train_fraction';
/** The 1/γ fit must explain at least this share of the variance of Δt. */
export const FIT_R2_MIN = 0.8;
/** Distinct values needed along an axis before a trend along it is judged. */
export const MIN_VALUES_FOR_TREND = 3;

/** Every claim, each `held`, `not held` or `not tested` with why: the weight-decay ones first. */
export function checkClaims(ctx: ClaimContext): ClaimCheck[] {
  return [
    noDecayNoGrok(ctx),
    delayInverseDecay(ctx),
    tooMuchDecayNoFit(ctx),
    goldilocksFraction(ctx),
    ...leverClaims(ctx),
    ...initScaleClaims(ctx),
  ];
}

type DecayClaimId =
  | 'no-decay-no-grok'
  | 'delay-inverse-decay'
  | 'too-much-decay-no-fit'
  | 'goldilocks-fraction';

const CLAIMS: Record<DecayClaimId, string> = {
  'no-decay-no-grok': 'Without weight decay (γ = 0) the network does not grok within the budget',
  'delay-inverse-decay': `With moderate weight decay the delay Δt = t_grok − t_mem shrinks roughly as 1/γ (fit Δt = a/γ + b: a > 0, R² ≥ ${FIT_R2_MIN})`,
  'too-much-decay-no-fit':
    'With too much weight decay nothing fits: train accuracy never reaches the memorization threshold',
  'goldilocks-fraction':
    'Training fraction has a Goldilocks band: too little data, no generalization; too much, generalization without a delay; grokking in between',
};

function result(
  id: DecayClaimId,
  status: ClaimStatus,
  why: string,
  numbers: Record<string, unknown> = {},
): ClaimCheck {
  return { id, claim: CLAIMS[id], status, why, numbers };
}

function axisMissing(id: DecayClaimId, key: string, axes: SweepAxis[]): ClaimCheck {
  return result(id, 'not tested', axisMissingText(key, axes));
}

function noDecayNoGrok({ axes, rows }: ClaimContext): ClaimCheck {
  const id: DecayClaimId = 'no-decay-no-grok';
  if (!hasAxis(axes, WEIGHT_DECAY_AXIS)) return axisMissing(id, WEIGHT_DECAY_AXIS, axes);
  const atZero = rows.filter((r) => numericValue(r, WEIGHT_DECAY_AXIS) === 0);
  if (atZero.length === 0) {
    const values = axes.find((a) => a.key === WEIGHT_DECAY_AXIS)?.values.join(', ');
    return result(id, 'not tested', `the sweep has no run with γ = 0 (${WEIGHT_DECAY_AXIS}: ${values})`);
  }
  const done = atZero.filter(isDone);
  if (done.length === 0)
    return result(id, 'not tested', `none of the ${atZero.length} runs with γ = 0 has finished yet`);
  const grokked = done.filter((r) => r.verdict === 'grokked');
  const generalized = done.filter((r) => r.t_grok_crossing !== null);
  const withDecay = rows.filter((r) => isDone(r) && (numericValue(r, WEIGHT_DECAY_AXIS) ?? 0) > 0);
  const grokkedWithDecay = withDecay.filter((r) => r.verdict === 'grokked').length;
  const verdicts = countBy(done, (r) => r.verdict ?? 'none');
  const numbers = {
    runs: done.length,
    grokked: grokked.length,
    generalized: generalized.length,
    verdicts,
    max_test_acc: maxOf(done, (r) => r.max_test_acc),
    budget_steps: [...new Set(done.map((r) => r.steps_budget))],
    runs_with_decay: withDecay.length,
    grokked_with_decay: grokkedWithDecay,
  };
  const contrast =
    withDecay.length > 0
      ? `; with γ > 0, ${grokkedWithDecay} of ${withDecay.length} finished runs grokked`
      : '';
  if (grokked.length === 0) {
    const comprehension =
      generalized.length > 0 ? `, ${generalized.length} generalized without a grokking delay` : '';
    return result(
      id,
      'held',
      `none of the ${done.length} finished runs with γ = 0 grokked within ${budgetText(done)} (verdicts: ${listCounts(verdicts)}${comprehension}; highest test accuracy ${fmt(numbers.max_test_acc)})${contrast}${notDoneNote(atZero, done)}`,
      numbers,
    );
  }
  return result(
    id,
    'not held',
    `${grokked.length} of ${done.length} finished runs with γ = 0 grokked (${grokked
      .slice(0, 5)
      .map((r) => `${r.run_id} at step ${formatStep(r.t_grok_crossing)}`)
      .join(', ')})${contrast}${notDoneNote(atZero, done)}`,
    numbers,
  );
}

interface InverseFitGroup {
  group: string;
  gammas: number[];
  points: number;
  /** How many of the points are above-chance-plateau runs (the plateau climbed before the jump). */
  plateau_climbed: number;
  a: number | null;
  b: number | null;
  r2: number | null;
  /** Exponent k of Δt ∝ γ^k fitted in log-log space (−1 for an exact 1/γ law). */
  exponent: number | null;
  held: boolean | null;
}

/**
 * Runs that memorized, then generalized later: the delay Δt is theirs whether the test accuracy sat
 * flat before the jump (grokked) or climbed partway first (above-chance-plateau). Only the plateau's
 * shape tells the two apart; both have a delay to fit.
 */
export const DELAYED_VERDICTS: ReadonlySet<string> = new Set(['grokked', 'above-chance-plateau']);

/** The Δt = a/γ + b fit of one group's delayed runs with γ > 0 (used by the claim and the plot). */
export function inverseDecayFit(rows: readonly SweepRunRow[]): Omit<InverseFitGroup, 'group'> {
  const points = rows.filter(
    (r) =>
      DELAYED_VERDICTS.has(r.verdict ?? '') &&
      (numericValue(r, WEIGHT_DECAY_AXIS) ?? 0) > 0 &&
      r.gap_crossing !== null,
  );
  const gammas = points.map((r) => numericValue(r, WEIGHT_DECAY_AXIS) as number);
  const gaps = points.map((r) => r.gap_crossing as number);
  const distinct = [...new Set(gammas)].sort((p, q) => p - q);
  const fit = fitInverse(gammas, gaps);
  const power = fitPowerLaw(gammas, gaps);
  const testable = distinct.length >= MIN_VALUES_FOR_TREND && fit !== null;
  return {
    gammas: distinct,
    points: points.length,
    plateau_climbed: points.filter((r) => r.verdict !== 'grokked').length,
    a: fit?.a ?? null,
    b: fit?.b ?? null,
    r2: fit?.r2 ?? null,
    exponent: power?.k ?? null,
    held: testable ? fit.a > 0 && (fit.r2 ?? 0) >= FIT_R2_MIN : null,
  };
}

function describeFit(g: InverseFitGroup): string {
  const where = g.group ? ` at ${g.group}` : '';
  const b = g.b ?? 0;
  const climbed = g.plateau_climbed > 0 ? `, ${g.plateau_climbed} of them above-chance-plateau` : '';
  return `Δt = ${fmt(g.a)}/γ ${b < 0 ? '−' : '+'} ${fmt(Math.abs(b))}${where} (R² ${fmt(g.r2)}, ${g.points} runs${climbed}, γ ${g.gammas.map(fmt).join(', ')}; log-log slope ${fmt(g.exponent)})`;
}

function delayInverseDecay({ axes, rows }: ClaimContext): ClaimCheck {
  const id: DecayClaimId = 'delay-inverse-decay';
  if (!hasAxis(axes, WEIGHT_DECAY_AXIS)) return axisMissing(id, WEIGHT_DECAY_AXIS, axes);
  const done = rows.filter(isDone);
  const groups: InverseFitGroup[] = groupsBesides(axes, done, WEIGHT_DECAY_AXIS).map((g) => ({
    group: g.label,
    ...inverseDecayFit(g.rows),
  }));
  const testable = groups.filter((g) => g.held !== null);
  const numbers = { groups, r2_min: FIT_R2_MIN, min_gamma_values: MIN_VALUES_FOR_TREND };
  if (testable.length === 0) {
    const gammasOf = (g: InverseFitGroup) =>
      g.gammas.length > 0 ? `γ = ${g.gammas.map(fmt).join(', ')}` : 'none';
    const seen = groups.map((g) => (g.group ? `${g.group}: ${gammasOf(g)}` : gammasOf(g)));
    return result(
      id,
      'not tested',
      `fewer than ${MIN_VALUES_FOR_TREND} weight decays γ > 0 with finished runs that generalized after memorizing (grokked or above-chance-plateau) to fit (${seen.join('; ')})${notDoneNote(rows, done)}`,
      numbers,
    );
  }
  const failed = testable.filter((g) => !g.held);
  const status: ClaimStatus = failed.length === 0 ? 'held' : 'not held';
  const fits = testable.map(describeFit).join('; ');
  const reason =
    failed.length === 0
      ? `the delay falls with γ as a/γ + b predicts: ${fits}`
      : `${failed.map((g) => (g.a !== null && g.a <= 0 ? `a ≤ 0 (the delay does not shrink with γ)${g.group ? ` at ${g.group}` : ''}` : `R² < ${FIT_R2_MIN}${g.group ? ` at ${g.group}` : ''}`)).join('; ')}: ${fits}`;
  return result(id, status, `${reason}${notDoneNote(rows, done)}`, numbers);
}

function tooMuchDecayNoFit({ axes, rows, thresholds }: ClaimContext): ClaimCheck {
  const id: DecayClaimId = 'too-much-decay-no-fit';
  if (!hasAxis(axes, WEIGHT_DECAY_AXIS)) return axisMissing(id, WEIGHT_DECAY_AXIS, axes);
  const all = byValue(rows, WEIGHT_DECAY_AXIS);
  // Only values of γ with finished runs can show that nothing fits.
  const levels = byValue(rows.filter(isDone), WEIGHT_DECAY_AXIS);
  if (levels.length === 0)
    return result(id, 'not tested', `no run with a numeric ${WEIGHT_DECAY_AXIS} has finished yet`);
  const top = levels[levels.length - 1];
  const unfinished = all.filter((l) => l.value > top.value).map((l) => l.value);
  const unfinishedNote =
    unfinished.length > 0 ? ` (no finished run yet at γ = ${unfinished.map(fmt).join(', ')})` : '';
  const noFit = (level: { rows: SweepRunRow[] }) => level.rows.every((r) => r.t_mem === null);
  // The smallest γ from which every larger γ (with finished runs) fits nothing.
  let from: number | null = null;
  for (let i = levels.length - 1; i >= 0 && noFit(levels[i]); i--) from = levels[i].value;
  const fitting = top.rows.filter((r) => r.t_mem !== null);
  const numbers = {
    gamma_max: top.value,
    runs_at_gamma_max: top.rows.length,
    memorized_at_gamma_max: fitting.length,
    max_train_acc_at_gamma_max: maxOf(top.rows, (r) => r.max_train_acc),
    no_fit_from_gamma: from,
    mem_threshold: thresholds.mem,
    gammas_not_finished: unfinished,
  };
  if (from !== null) {
    const inRange = levels.filter((l) => l.value >= (from as number)).flatMap((l) => l.rows);
    return result(
      id,
      'held',
      `from γ = ${fmt(from)} on, none of the ${inRange.length} finished runs reached train accuracy ${thresholds.mem} (highest ${fmt(maxOf(inRange, (r) => r.max_train_acc))})${unfinishedNote}`,
      numbers,
    );
  }
  const memorized = `${fitting.length} of ${top.rows.length} finished runs memorized (train accuracy up to ${fmt(numbers.max_train_acc_at_gamma_max)})`;
  // Larger γ still running may yet show it: no answer until they finish.
  if (unfinished.length > 0)
    return result(
      id,
      'not tested',
      `at γ = ${fmt(top.value)}, the largest with finished runs, ${memorized}${unfinishedNote}`,
      numbers,
    );
  // A smaller γ where nothing fit, with the largest fitting again, goes against the claim; a sweep
  // where every γ fits has just not reached a γ that is too large.
  const earlier = levels.filter((l) => l.value < top.value && noFit(l)).map((l) => l.value);
  if (earlier.length > 0)
    return result(
      id,
      'not held',
      `nothing fit at γ = ${earlier.map(fmt).join(', ')}, but at the largest weight decay, γ = ${fmt(top.value)}, ${memorized}`,
      numbers,
    );
  return result(
    id,
    'not tested',
    `even at the largest weight decay tried, γ = ${fmt(top.value)}, ${memorized}: the sweep reaches no γ that is too large (extend the ${WEIGHT_DECAY_AXIS} axis)`,
    numbers,
  );
}

interface FractionLevel {
  fraction: number;
  runs: number;
  generalized: number;
  grokked: number;
  /** Median over runs of (onset, else first crossing) / t_mem; censored (null) when half did not generalize. */
  median_delay_ratio: number | null;
}

interface GoldilocksGroup {
  group: string;
  fractions: FractionLevel[];
  /** Smallest fraction: no run generalized. */
  too_little_no_generalization: boolean | null;
  /** Largest fraction: every run generalized, median delay ratio < GAP_RATIO_MIN. */
  too_much_no_delay: boolean | null;
  /** Some fraction in between where at least half the runs grokked. */
  grokking_between: number[] | null;
  held: boolean | null;
}

/** (onset, else first crossing) / t_mem: the measure the verdict compares with GAP_RATIO_MIN. */
function delayRatio(r: SweepRunRow): number | null {
  const start = r.t_grok_onset ?? r.t_grok_crossing;
  if (r.t_grok_crossing === null || start === null || r.t_mem === null) return null;
  return start / Math.max(r.t_mem, 1);
}

function goldilocksGroup(label: string, rows: readonly SweepRunRow[]): GoldilocksGroup {
  const levels: FractionLevel[] = byValue(rows, TRAIN_FRACTION_AXIS).map((l) => ({
    fraction: l.value,
    runs: l.rows.length,
    generalized: l.rows.filter((r) => r.t_grok_crossing !== null).length,
    grokked: l.rows.filter((r) => r.verdict === 'grokked').length,
    median_delay_ratio: censoredMedian(l.rows.map(delayRatio)),
  }));
  if (levels.length < MIN_VALUES_FOR_TREND) {
    return {
      group: label,
      fractions: levels,
      too_little_no_generalization: null,
      too_much_no_delay: null,
      grokking_between: null,
      held: null,
    };
  }
  const low = levels[0];
  const high = levels[levels.length - 1];
  const lowOk = low.generalized === 0;
  const highOk =
    high.generalized === high.runs &&
    high.median_delay_ratio !== null &&
    high.median_delay_ratio < GAP_RATIO_MIN;
  const between = levels.slice(1, -1).filter((l) => l.grokked * 2 >= l.runs && l.grokked > 0);
  return {
    group: label,
    fractions: levels,
    too_little_no_generalization: lowOk,
    too_much_no_delay: highOk,
    grokking_between: between.map((l) => l.fraction),
    held: lowOk && highOk && between.length > 0,
  };
}

const pct = (f: number) => `${fmt(100 * f)}%`;

function describeGoldilocks(g: GoldilocksGroup): string {
  const low = g.fractions[0];
  const high = g.fractions[g.fractions.length - 1];
  const where = g.group ? `at ${g.group}: ` : '';
  const lowText = `with ${pct(low.fraction)} of the data ${low.generalized} of ${low.runs} runs generalized`;
  const highText = `with ${pct(high.fraction)}, ${high.generalized} of ${high.runs} generalized, median (onset or t_grok)/t_mem ${fmt(high.median_delay_ratio)} (no delay: < ${GAP_RATIO_MIN})`;
  const middle = g.fractions.slice(1, -1);
  const betweenText = `in between, grokked: ${middle.map((l) => `${pct(l.fraction)} ${l.grokked} of ${l.runs}`).join(', ')}`;
  return `${where}${lowText}; ${highText}; ${betweenText}`;
}

function goldilocksFraction({ axes, rows }: ClaimContext): ClaimCheck {
  const id: DecayClaimId = 'goldilocks-fraction';
  if (!hasAxis(axes, TRAIN_FRACTION_AXIS)) return axisMissing(id, TRAIN_FRACTION_AXIS, axes);
  const done = rows.filter(isDone);
  const groups = groupsBesides(axes, done, TRAIN_FRACTION_AXIS).map((g) => goldilocksGroup(g.label, g.rows));
  const testable = groups.filter((g) => g.held !== null);
  const numbers = { groups, gap_ratio_min: GAP_RATIO_MIN, min_fractions: MIN_VALUES_FOR_TREND };
  if (testable.length === 0) {
    const most = Math.max(0, ...groups.map((g) => g.fractions.length));
    return result(
      id,
      'not tested',
      `needs finished runs at ${MIN_VALUES_FOR_TREND} or more training fractions (at most ${most} here)${notDoneNote(rows, done)}`,
      numbers,
    );
  }
  const holding = testable.filter((g) => g.held);
  if (holding.length > 0) {
    const others = testable.length - holding.length;
    return result(
      id,
      'held',
      `${holding.map(describeGoldilocks).join('. ')}${others > 0 ? ` (not in the other ${others} of ${testable.length} settings)` : ''}${notDoneNote(rows, done)}`,
      numbers,
    );
  }
  const failures = testable.map((g) => {
    const missing = [
      g.too_little_no_generalization ? null : 'the smallest fraction generalized',
      g.too_much_no_delay ? null : 'the largest fraction did not generalize without a delay',
      (g.grokking_between?.length ?? 0) > 0 ? null : 'no fraction in between grokked',
    ].filter((s) => s !== null);
    return `${describeGoldilocks(g)} → ${missing.join(', ')}`;
  });
  return result(id, 'not held', `${failures.join('. ')}${notDoneNote(rows, done)}`, numbers);
}
