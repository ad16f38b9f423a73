/**
 * The verdict: grokking or one of its look-alikes, with the reason in words. Checked in this order
 * (the first that applies wins):
 * 1. insufficient-data  fewer than 3 evaluations of train or of test accuracy.
 * 2. no-fit             train accuracy never reached the memorization threshold (confirmed).
 * 3. undecided          memorized, test accuracy has not reached the grok threshold (confirmed), and
 *                       the log ends while it is still climbing (trend.ts): the run stopped mid-transition.
 * 4. memorized-only     memorized, but test accuracy never reached the grok threshold (confirmed).
 * 5. unstable           after t_grok: a loss spike or an accuracy collapse (instability.ts).
 * 6. comprehension      the jump started before GAP_RATIO_MIN × t_mem (onset, or the crossing when
 *                       no jump was detected): no plateau worth the name, it generalized while memorizing.
 * 7. above-chance-plateau  the plateau climbed before the jump (partial generalization, plateau.ts);
 *                       or, with a known baseline (task, --classes, --baseline), it sat above the
 *                       memorization band (detector check); or the jump from it was small.
 *                       With the baseline only estimated from the log, a flat plateau above it is not
 *                       held against the run: it is what a memorizer answering swapped pairs scores.
 * 8. gradual            the 10→90% rise took more than a factor e of training time (ln(t90/t10) >
 *                       GRADUAL_LOG_WIDTH): a creep, not a jump.
 * 9. grokked            memorized first, a flat plateau in the memorization band, then a sharp jump.
 *
 * A run that did not generalize (memorized-only, no-fit) while most of its training examples have a
 * loss of exactly 0 at the end (softmax_collapse ≥ COLLAPSE_HIGH) has stalled in Prieto et al.'s
 * softmax collapse: its reason says so, with the naïve-loss-minimization cosine when it is known.
 */
import { isBaselineKnown } from './baseline.ts';
import { peakRequirement } from './detector.ts';
import { formatChange } from './format.ts';
import { COLLAPSE_HIGH, NLM_PEAK_MARGIN } from './stability.ts';
import type {
  BaselineInfo,
  EarlyWarningView,
  EndTrend,
  Instability,
  Measures,
  NlmCosineView,
  PlateauInfo,
  SoftmaxCollapseView,
  Transition,
  Verdict,
} from './types.ts';

/** A jump must start at least this many times later than memorization (a plateau at least as long as memorizing took). */
export const GAP_RATIO_MIN = 2;
/** A rise wider than this in ln(step) (a factor e ≈ 2.7 in steps) is gradual, not a jump. */
export const GRADUAL_LOG_WIDTH = 1;

export interface VerdictInput {
  measures: Measures;
  transition: Transition | null;
  baseline: BaselineInfo;
  instability: Instability;
  thresholds: { mem: number; grok: number };
  trainEvaluations: number;
  testEvaluations: number;
  /** The last evaluation's step when it alone reached the grok threshold (unconfirmed), else null. */
  unconfirmedGrok?: number | null;
  plateau?: PlateauInfo | null;
  endTrend?: EndTrend | null;
  /** Prieto et al.'s measures, when the log has them. */
  softmaxCollapse?: SoftmaxCollapseView | null;
  nlmCosine?: NlmCosineView | null;
}

const step = (x: number) => String(Math.round(x));
const acc = (x: number) => x.toFixed(2);

/** Verdicts that mean the run did not generalize, whose reason names a softmax collapse. */
const STALLED: ReadonlySet<Verdict['label']> = new Set(['memorized-only', 'no-fit']);

export function decideVerdict(input: VerdictInput): Verdict {
  const verdict = shapeVerdict(input);
  const collapse = input.softmaxCollapse;
  if (STALLED.has(verdict.label) && collapse && collapse.final >= COLLAPSE_HIGH) {
    verdict.reason += `; ${collapseStall(collapse, input.nlmCosine ?? null)}`;
  }
  return verdict;
}

/**
 * "softmax collapse: 93% of the training examples have a float32 loss of exactly 0 at the end
 * (≥ 50% from step 2400 on): their gradient vanished; the naïve-loss-minimization cosine is 0.97 (…)".
 */
export function collapseStall(collapse: SoftmaxCollapseView, nlm: NlmCosineView | null): string {
  const loss = collapse.loss_precision ? `a ${collapse.loss_precision} loss` : 'a loss';
  const since =
    collapse.high_since !== null
      ? ` (≥ ${Math.round(100 * COLLAPSE_HIGH)}% from step ${collapse.high_since} on)`
      : '';
  const late =
    nlm && nlm.late_evaluations > 1 ? ` (median of the last ${nlm.late_evaluations} evaluations)` : '';
  const peak =
    nlm && nlm.max - nlm.median_late >= NLM_PEAK_MARGIN
      ? `, down from ${nlm.max.toFixed(2)} at step ${nlm.max_step}`
      : '';
  const cosine = nlm
    ? `; the naïve-loss-minimization cosine is ${nlm.median_late.toFixed(2)}${late}${peak}`
    : '';
  return `softmax collapse: ${percentOf(collapse.final)} of the training examples have ${loss} of exactly 0 at the end${since}: their gradient vanished${cosine}`;
}

/** "93%"; a share just under 1 or just above 0 is not rounded to 100% or 0%. */
function percentOf(x: number): string {
  const p = 100 * x;
  if (p > 99.5 && p < 100) return '>99.5%';
  if (p > 0 && p < 0.5) return '<0.5%';
  return `${Math.round(p)}%`;
}

/** The verdict from the curves' shape (the rules listed at the top). */
function shapeVerdict(input: VerdictInput): Verdict {
  const { measures: m, transition: tr, baseline, instability, thresholds } = input;
  const verdict = (label: Verdict['label'], reason: string): Verdict => ({ label, reason, notes: [] });

  if (input.trainEvaluations < 3 || input.testEvaluations < 3) {
    return verdict(
      'insufficient-data',
      `${input.trainEvaluations} evaluations of train accuracy and ${input.testEvaluations} of test accuracy: at least 3 of each are needed`,
    );
  }
  if (m.t_mem === null) {
    return verdict(
      'no-fit',
      `train accuracy never reached ${thresholds.mem} (highest ${acc(m.max_train_acc ?? 0)}, last step ${m.last_step}): the model did not even memorize (too much weight decay, too small a model or learning rate?)`,
    );
  }
  const trend = input.endTrend;
  if (m.t_grok_crossing === null && trend?.rising) {
    return verdict(
      'undecided',
      `memorized at step ${m.t_mem}; test accuracy ${acc(trend.last)} and rising (${formatChange(trend.change)} over the last ${trend.evaluations} evaluations, steps ${trend.from_step}–${trend.last_step}); the run ended mid-transition: train longer to see whether it generalizes`,
    );
  }
  if (m.t_grok_crossing === null && input.unconfirmedGrok != null) {
    // One evaluation ≥ the threshold at the very end, with no rise before it (a rising one is undecided).
    const from = tr ? ` rose from step ${tr.onset_step} and` : '';
    return verdict(
      'memorized-only',
      `memorized at step ${m.t_mem}; test accuracy${from} reached ${acc(m.max_test_acc ?? 0)} only at the last evaluation (step ${input.unconfirmedGrok}), which nothing after confirms: not counted as generalization yet (train on, or stop with stop_patience ≥ 2)`,
    );
  }
  if (m.t_grok_crossing === null) {
    const rise =
      tr && tr.peak_level > tr.plateau_level
        ? `; it rose to ${acc(tr.peak_level)} from step ${tr.onset_step} without reaching it`
        : '';
    return verdict(
      'memorized-only',
      `memorized at step ${m.t_mem}, but test accuracy never reached ${thresholds.grok} in the ${step((m.last_step ?? m.t_mem) - m.t_mem)} steps after (highest ${acc(m.max_test_acc ?? 0)})${rise}: no generalization within the budget`,
    );
  }
  const episode = instability.loss_spikes[0] ?? instability.collapses[0];
  if (episode) {
    const what = episode.metric.endsWith('loss')
      ? `${episode.metric} spiked to ${episode.worst.toPrecision(3)} (from ${episode.reference.toPrecision(3)})`
      : `${episode.metric} collapsed to ${acc(episode.worst)} (below ${acc(episode.reference)})`;
    const count = instability.loss_spikes.length + instability.collapses.length;
    return verdict(
      'unstable',
      `generalized at step ${m.t_grok_crossing}, then ${what} at step ${episode.from_step}${count > 1 ? ` (${count} episodes in all)` : ''}`,
    );
  }
  const start = m.t_grok_onset ?? m.t_grok_crossing;
  if (start < GAP_RATIO_MIN * m.t_mem) {
    const which = m.t_grok_onset !== null ? 'the rise began' : 'test accuracy reached the threshold';
    return verdict(
      'comprehension',
      `test accuracy rose along with memorization: ${which} at step ${start}, ${(start / Math.max(m.t_mem, 1)).toFixed(1)}× t_mem (${m.t_mem}); grokking needs a plateau, a jump at ≥ ${GAP_RATIO_MIN}× t_mem`,
    );
  }
  const plateau = input.plateau ?? null;
  if (tr && plateau?.flat === false) {
    return verdict(
      'above-chance-plateau',
      `after memorization test accuracy climbed from ${acc(plateau.start_level ?? 0)} to ${acc(plateau.end_level ?? 0)} (steps ${plateau.from_step}–${plateau.to_step}) instead of sitting on a plateau, then rose to ${acc(tr.peak_level)}: partial generalization, not grokking in the strict sense`,
    );
  }
  const known = isBaselineKnown(baseline);
  if (tr && known && tr.checks.plateau_near_baseline === false) {
    return verdict(
      'above-chance-plateau',
      `test accuracy plateaued at ${acc(tr.plateau_level)} after memorization, well above ${memorizationLevel(baseline)} (${baseline.detail}), before rising to ${acc(tr.peak_level)}: not grokking in the strict sense`,
    );
  }
  // An estimated baseline says nothing about what memorizing explains: the jump is measured from the plateau.
  const smallJump = known
    ? tr?.checks.peak_well_above_baseline === false
    : tr !== null && tr.peak_level < peakRequirement(tr.plateau_level);
  if (tr && smallJump) {
    return verdict(
      'above-chance-plateau',
      `the rise from ${acc(tr.plateau_level)} to ${acc(tr.peak_level)} is small next to ${known ? `the baseline ${acc(baseline.value ?? 0)} (${baseline.detail})` : 'what was left to learn'}`,
    );
  }
  if (tr && tr.width_log !== null && tr.width_log > GRADUAL_LOG_WIDTH) {
    return verdict(
      'gradual',
      `test accuracy crept from ${acc(tr.plateau_level)} to ${acc(tr.peak_level)}: the 10→90% rise took steps ${step(tr.t10)}–${step(tr.t90)}, ×${(tr.t90 / tr.t10).toFixed(1)} in training time (a jump takes less than ×${Math.E.toFixed(1)})`,
    );
  }
  const sat = plateau ? `; plateau at ${acc(plateau.level)} ${plateau.cause}` : '';
  const jump = tr
    ? `; the jump began at step ${tr.onset_step} (${(tr.onset_step / Math.max(m.t_mem, 1)).toFixed(1)}× t_mem) and went from 10% to 90% of the rise in ${step(tr.width_10_90)} steps (${(100 * (tr.width_relative ?? 0)).toFixed(1)}% of the onset step)`
    : '';
  return verdict(
    'grokked',
    `memorized at step ${m.t_mem}${sat}${jump}; first ≥ ${thresholds.grok} at step ${m.t_grok_crossing}`,
  );
}

/** "the memorization band 0.01–0.30", or "the baseline 0.50" when there is no band. */
function memorizationLevel(baseline: BaselineInfo): string {
  const band = baseline.band;
  if (band && band.high - band.low > 0.005) return `the memorization band ${acc(band.low)}–${acc(band.high)}`;
  return `the baseline ${acc(baseline.value ?? 0)}`;
}

/**
 * The circuit-forming warning (progress measures, docs/early-warning.md) in one note, or null when
 * there is nothing to say (the log has the measures, but neither a warning nor t_grok).
 */
export function earlyWarningNote(view: EarlyWarningView, grokThreshold: number): string | null {
  const at = view.step === null ? '' : step(view.step);
  switch (view.outcome) {
    case 'ahead':
      return `the circuit-forming warning (progress measures) fired at step ${at}, ${step(view.lead_steps as number)} steps${view.lead_fraction !== null ? ` (${Math.round(100 * view.lead_fraction)}% of t_grok)` : ''} before test accuracy reached ${grokThreshold}`;
    case 'late':
      return `the circuit-forming warning (progress measures) fired at step ${at}, not before test accuracy reached ${grokThreshold} (${step(-(view.lead_steps as number))} steps after t_grok)`;
    case 'missed':
      return `the progress measures gave no circuit-forming warning before test accuracy reached ${grokThreshold}`;
    case 'pending':
      return `the circuit-forming warning (progress measures) fired at step ${at} and test accuracy has not followed in this log: it may grok with more training, or the warning is a false alarm (docs/early-warning.md measures how often)`;
    default:
      return null;
  }
}
