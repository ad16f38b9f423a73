/**
 * The "circuit forming" warning: a rule over the progress measures of the evaluations so far
 * (progress-measures.ts), written as a fold so that the trainer applies it online, a resume rebuilds
 * its state from the metrics history, and anyone can replay it over a log (docs/early-warning.md).
 *
 * Memorization (t_mem) is the first evaluation with train accuracy ≥ MEM_LEVEL; the Fourier share
 * there, S_mem, is the reference. From t_mem on, an evaluation counts as "circuit forming" when the
 * training set is still fitted (train accuracy ≥ MEM_LEVEL), test accuracy has not yet arrived
 * (< GROK_LEVEL), and either
 *   fourier   the embedding's top-k Fourier share has risen a fifth of the way from S_mem to 1:
 *             S ≥ S_mem + FOURIER_RISE·(1 − S_mem); or
 *   excluded  the excluded loss (the training loss without the key-frequency part of the logits) is at
 *             least EXCLUDED_LEVEL·ln p: the training set's fit now rests on the key frequencies
 *             (removing them leaves the right answer a probability under 1/√p, half-way, in log-loss,
 *             from certainty to chance), while the weight norm is not growing (norm_slope ≤ 0). A
 *             loss scales with the logits: without weight decay ‖θ‖ keeps growing and removing any
 *             part of the logits costs more and more, circuit or not. Cross-entropy losses only (ln p
 *             is their chance level).
 * The warning fires at the CONFIRM-th such evaluation in a row (one noisy evaluation is not a circuit)
 * and stays. A path whose measure is absent from the log simply never holds.
 *
 * The thresholds were set on seed-0 runs; the norm condition was added after the first measurement
 * (seeds 1 and 2) showed the excluded path firing in runs without weight decay, and the rule was then
 * measured again on seeds 3 and 4 (docs/early-warning.md has both tables).
 */

/** t_mem: first evaluation with train accuracy ≥ this (as detect's default threshold). */
export const MEM_LEVEL = 0.99;
/** The warning is about test accuracy that has not risen yet: it fires only below this. */
export const GROK_LEVEL = 0.9;
/** The Fourier path: the share must rise this fraction of the way from its level at t_mem to 1. */
export const FOURIER_RISE = 0.2;
/** The excluded-loss path: at least this times ln p. */
export const EXCLUDED_LEVEL = 0.5;
/** Consecutive evaluations that must agree before the warning fires. */
export const CONFIRM = 3;
/** The norm path (not in the default rule; measured in docs/early-warning.md): norm_slope at most this. */
export const NORM_SLOPE_LEVEL = -0.1;

/** What the rule reads of one evaluation (an EvalRecord, or a row of a log). */
export interface WarningPoint {
  step: number;
  train_acc: number;
  test_acc: number;
  progress?: {
    fourier_top_share?: number;
    excluded_loss?: number;
    norm_slope?: number;
  };
}

/** Which paths the rule uses, and ln p's setting. */
export interface WarningRule {
  fourier: boolean;
  excluded: boolean;
  /** norm_slope ≤ NORM_SLOPE_LEVEL: weight norm falling after memorization (off in the shipped rule). */
  norm: boolean;
  /** The number of classes p of a cross-entropy loss (the excluded path's ln p); null: that path is off. */
  classes: number | null;
}

/** The rule the trainer applies: the Fourier and the excluded-loss paths. */
export function defaultRule(classes: number | null): WarningRule {
  return { fourier: true, excluded: true, norm: false, classes };
}

export interface WarningState {
  /** First evaluation with train accuracy ≥ MEM_LEVEL; null before. */
  t_mem: number | null;
  /** fourier_top_share at t_mem; null when not measured there. */
  share_at_mem: number | null;
  /** Consecutive qualifying evaluations up to the last one. */
  streak: number;
  /** The step at which the warning fired; null until it does. */
  warning_step: number | null;
  /** The path that completed the streak first ('fourier' | 'excluded' | 'norm'); null until it fires. */
  fired_by: WarningPath | null;
}

export type WarningPath = 'fourier' | 'excluded' | 'norm';

export function initialWarningState(): WarningState {
  return { t_mem: null, share_at_mem: null, streak: 0, warning_step: null, fired_by: null };
}

const finite = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** The paths that hold at `point` (empty before t_mem or outside the accuracy window). */
export function holdingPaths(state: WarningState, point: WarningPoint, rule: WarningRule): WarningPath[] {
  if (state.t_mem === null || point.train_acc < MEM_LEVEL || !(point.test_acc < GROK_LEVEL)) return [];
  const p = point.progress ?? {};
  const out: WarningPath[] = [];
  const s0 = state.share_at_mem;
  if (rule.fourier && s0 !== null && finite(p.fourier_top_share)) {
    if (p.fourier_top_share >= s0 + FOURIER_RISE * (1 - s0)) out.push('fourier');
  }
  if (rule.excluded && rule.classes !== null && rule.classes >= 2 && finite(p.excluded_loss)) {
    // A loss grows with the logits' scale: while ‖θ‖ grows (no weight decay) removing any part of
    // the logits costs more and more, circuit or not, so the path holds only while it does not.
    const notGrowing = finite(p.norm_slope) && p.norm_slope <= 0;
    if (notGrowing && p.excluded_loss >= EXCLUDED_LEVEL * Math.log(rule.classes)) out.push('excluded');
  }
  if (rule.norm && finite(p.norm_slope) && p.norm_slope <= NORM_SLOPE_LEVEL) out.push('norm');
  return out;
}

/** The state after one more evaluation (evaluations in step order). */
export function foldWarning(state: WarningState, point: WarningPoint, rule: WarningRule): WarningState {
  if (state.warning_step !== null) return state;
  let next = state;
  if (state.t_mem === null && point.train_acc >= MEM_LEVEL) {
    const share = point.progress?.fourier_top_share;
    next = { ...state, t_mem: point.step, share_at_mem: finite(share) ? share : null };
  }
  const paths = holdingPaths(next, point, rule);
  const streak = paths.length > 0 ? next.streak + 1 : 0;
  if (streak >= CONFIRM) return { ...next, streak, warning_step: point.step, fired_by: paths[0] };
  return { ...next, streak };
}

/** The rule replayed over a whole log: its final state (warning_step null when it never fired). */
export function replayWarning(points: Iterable<WarningPoint>, rule: WarningRule): WarningState {
  let state = initialWarningState();
  for (const point of points) state = foldWarning(state, point, rule);
  return state;
}
