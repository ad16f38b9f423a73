/**
 * Claims about the initialization scale α (`model.init_scale`), checked against a sweep's finished
 * runs (init-scale.ts has the per-run numbers and the trend rule):
 *
 *   delay-grows-with-alpha       Liu et al. 2023 (Omnigrok): the larger α, the longer the delay.
 *                                Per α, the median over seeds of t_grok / t_mem (a run that never
 *                                crossed counts as ≥ steps trained / t_mem). Held when no α's median
 *                                is known to be below a smaller α's by more than DIP_TOLERANCE and the
 *                                largest α's median is known to be ≥ DELAY_GROWTH_MIN × the smallest's
 *   features-move-with-grokking  Kumar et al. 2024 (lazy → rich): t_feat, the first checkpoint where
 *                                1 − CKA of the last hidden layer's features to step 0 reaches half its
 *                                maximum, comes no later than the first checkpoint at or after t_grok
 *                                in every run that generalized, and the median t_feat grows with α
 *                                (same rule, largest α's median > the smallest's; features that never
 *                                moved count as ≥ steps trained)
 *
 * Both need finished runs at MIN_VALUES_FOR_TREND values of α; with other axes, each setting of them
 * is judged apart and every one must hold.
 */
import { formatStep } from '../measures/index.ts';
import {
  axisMissingText,
  type ClaimCheck,
  type ClaimContext,
  type ClaimId,
  type ClaimStatus,
  fmt,
  groupsBesides,
  hasAxis,
  isDone,
  notDoneNote,
  plural,
} from './claim-check.ts';
import { FEATURE_MOVEMENT_MIN, FEATURE_PROBE_EXAMPLES } from './feature-movement.ts';
import type { MaybeCensored } from './fit.ts';
import {
  type AlphaLevel,
  alphaLevels,
  alphaTrend,
  DIP_TOLERANCE,
  INIT_SCALE_AXIS,
  type InitScaleRun,
  initScaleRuns,
  levelText,
  stepOrBound,
} from './init-scale.ts';

/** The largest α's median delay ratio must be at least this many times the smallest α's. */
export const DELAY_GROWTH_MIN = 3;
/** Distinct values of α needed before a trend along it is judged (as for the other axes' claims). */
const MIN_ALPHAS = 3;

type InitScaleClaimId = Extract<ClaimId, 'delay-grows-with-alpha' | 'features-move-with-grokking'>;

const CLAIMS: Record<InitScaleClaimId, string> = {
  'delay-grows-with-alpha': `The grokking delay grows with the initialization scale α: the median over seeds of t_grok / t_mem does not fall as α grows (dips ≤ ${DIP_TOLERANCE * 100}% allowed) and is ≥ ${DELAY_GROWTH_MIN}× larger at the largest α than at the smallest`,
  'features-move-with-grokking': `Grokking is the move from lazy to rich training: the last hidden layer's features (1 − linear CKA to step 0) reach half their largest movement no later than the test accuracy jumps (t_feat ≤ the first checkpoint at or after t_grok), and later for larger α`,
};

export function initScaleClaims(ctx: ClaimContext): ClaimCheck[] {
  return [delayGrowsWithAlpha(ctx), featuresMoveWithGrokking(ctx)];
}

function result(
  id: InitScaleClaimId,
  status: ClaimStatus,
  why: string,
  numbers: Record<string, unknown> = {},
): ClaimCheck {
  return { id, claim: CLAIMS[id], status, why, numbers };
}

interface TrendGroup {
  group: string;
  run_ids: string[];
  levels: AlphaLevel[];
  dip: [AlphaLevel, AlphaLevel] | null;
  grows: boolean | null;
  /** true, false, or null when the group cannot decide (too few α, censoring). */
  held: boolean | null;
}

/** Per setting of the other axes: the levels of `measureOf` along α and the trend verdict. */
function trendGroups(
  ctx: ClaimContext,
  runs: readonly InitScaleRun[],
  measureOf: (r: InitScaleRun) => MaybeCensored | null,
  factor: number,
): TrendGroup[] {
  const ids = new Set(runs.map((r) => r.run_id));
  const rows = ctx.rows.filter((r) => ids.has(r.run_id));
  return groupsBesides(ctx.axes, rows, INIT_SCALE_AXIS).map((g) => {
    const runIds = g.rows.map((r) => r.run_id);
    const levels = alphaLevels(
      runs.filter((r) => runIds.includes(r.run_id)),
      measureOf,
    );
    const { dip, grows } = alphaTrend(levels, factor);
    const held = levels.length < MIN_ALPHAS ? null : dip !== null || grows === false ? false : grows;
    return { group: g.label, run_ids: runIds, levels, dip, grows, held };
  });
}

/** "α 1 → 12.5, 4 → ≥ 60 (2 runs each)". */
function levelsText(levels: readonly AlphaLevel[]): string {
  const counts = new Set(levels.map((l) => l.runs));
  const each = counts.size === 1 ? ` (${plural([...counts][0], 'run')} each)` : '';
  const list = levels.map((l) => `${fmt(l.alpha)} → ${levelText(l)}${counts.size > 1 ? ` (${l.runs})` : ''}`);
  return `α ${list.join(', ')}${each}`;
}

/** Why a group's trend holds or not, in words. */
function trendWhy(g: TrendGroup, what: string, factorText: string): string {
  const levels = levelsText(g.levels);
  if (g.levels.length < MIN_ALPHAS)
    return `${g.group ? `${g.group}: ` : ''}finished runs at only ${plural(g.levels.length, 'value')} of α (${levels}); needs ${MIN_ALPHAS}`;
  const low = g.levels[0];
  const high = g.levels[g.levels.length - 1];
  // A censored smallest median is only a lower bound: the ratio to it is not known.
  const span =
    low.upper === null
      ? "largest/smallest unknown: the smallest α's median is censored"
      : `largest/smallest ${high.censored ? '≥ ' : ''}${fmt(high.median / low.median)}×`;
  const verdict =
    g.dip !== null
      ? `falls from α ${fmt(g.dip[0].alpha)} to α ${fmt(g.dip[1].alpha)} (${span})`
      : g.grows === true
        ? `grows (${span}; ${factorText})`
        : g.grows === false
          ? `does not grow enough (${span}; ${factorText})`
          : `cannot be told: censored medians (runs that never got there) hide whether it grows (${span}; ${factorText})`;
  return `median ${what}${g.group ? ` at ${g.group}` : ''}: ${levels}; it ${verdict}`;
}

/** The status of groups judged apart: any not held → not held; all decided and held → held. */
function combined(groups: readonly TrendGroup[]): ClaimStatus {
  if (groups.some((g) => g.held === false)) return 'not held';
  return groups.length > 0 && groups.every((g) => g.held === true) ? 'held' : 'not tested';
}

function delayGrowsWithAlpha(ctx: ClaimContext): ClaimCheck {
  const id: InitScaleClaimId = 'delay-grows-with-alpha';
  if (!hasAxis(ctx.axes, INIT_SCALE_AXIS))
    return result(id, 'not tested', axisMissingText(INIT_SCALE_AXIS, ctx.axes));
  const done = ctx.rows.filter(isDone);
  const runs = initScaleRuns(ctx.rows, ctx.features);
  const memorized = runs.filter((r) => r.delay_ratio !== null);
  const groups = trendGroups(
    ctx,
    memorized,
    (r) => ({ value: r.delay_ratio as number, censored: r.delay_censored }),
    DELAY_GROWTH_MIN,
  );
  // What the ratio is made of: a ratio can fall while t_grok grows, when t_mem grows faster.
  const parts = groups.map((g) => {
    const members = memorized.filter((r) => g.run_ids.includes(r.run_id));
    return {
      t_mem: alphaLevels(members, (r) => stepOrBound(r.t_mem, r)),
      t_grok: alphaLevels(members, (r) => stepOrBound(r.t_grok, r)),
    };
  });
  // Where the jump starts says more than where it crosses when test accuracy creeps to the
  // threshold: reported beside the rule, not judged.
  const onsetLevels = groups.map((g) =>
    alphaLevels(
      memorized.filter((r) => g.run_ids.includes(r.run_id) && r.t_grok_onset !== null),
      (r) => ({ value: (r.t_grok_onset as number) / Math.max(r.t_mem as number, 1), censored: false }),
    ),
  );
  const partsText = (i: number) => {
    const { t_mem, t_grok } = parts[i];
    if (t_mem.length < 2) return '';
    const ends = (l: AlphaLevel[]) =>
      `${levelText(l[0], formatStep)} → ${levelText(l[l.length - 1], formatStep)}`;
    const onset =
      onsetLevels[i].length >= 2
        ? `; by the onset of the jump, t_grok_onset/t_mem: ${levelsText(onsetLevels[i])}`
        : '';
    return `; from α ${fmt(t_mem[0].alpha)} to α ${fmt(t_mem[t_mem.length - 1].alpha)} median t_mem ${ends(t_mem)}, t_grok ${ends(t_grok)}${onset}`;
  };
  const numbers = {
    groups: groups.map((g, i) => ({ ...g, ...parts[i], onset_ratio: onsetLevels[i] })),
    growth_min: DELAY_GROWTH_MIN,
    dip_tolerance: DIP_TOLERANCE,
    min_alphas: MIN_ALPHAS,
    runs_not_memorized: runs.length - memorized.length,
  };
  const unmemorized =
    runs.length > memorized.length
      ? ` (${plural(runs.length - memorized.length, 'run')} that never memorized left out)`
      : '';
  const why = groups
    .map((g, i) => `${trendWhy(g, 't_grok/t_mem', `needs ≥ ${DELAY_GROWTH_MIN}×`)}${partsText(i)}`)
    .join('. ');
  const text = why || 'no finished run memorized';
  return result(id, combined(groups), `${text}${unmemorized}${notDoneNote(ctx.rows, done)}`, numbers);
}

function featuresMoveWithGrokking(ctx: ClaimContext): ClaimCheck {
  const id: InitScaleClaimId = 'features-move-with-grokking';
  if (!hasAxis(ctx.axes, INIT_SCALE_AXIS))
    return result(id, 'not tested', axisMissingText(INIT_SCALE_AXIS, ctx.axes));
  const done = ctx.rows.filter(isDone);
  const runs = initScaleRuns(ctx.rows, ctx.features);
  const measured = runs.filter((r) => r.feature_error === null);
  const leftOut = notDoneNote(ctx.rows, done);
  if (measured.length === 0) {
    const reasons = [...new Set(runs.map((r) => r.feature_error))].join('; ');
    return result(
      id,
      'not tested',
      runs.length === 0
        ? `no finished run with a numeric ${INIT_SCALE_AXIS}${leftOut}`
        : `no finished run's features could be measured (${reasons})${leftOut}`,
    );
  }
  const generalized = measured.filter((r) => r.t_grok !== null);
  const late = generalized.filter((r) => r.feat_by_grok === false);
  // Features that never moved are "later than anything trained": censored at the steps trained.
  const groups = trendGroups(ctx, measured, (r) => stepOrBound(r.t_feat, r), 1);
  const perRun = measured.map((r) => ({
    run: r.run_id,
    alpha: r.alpha,
    t_grok: r.t_grok,
    grok_checkpoint: r.grok_checkpoint,
    t_feat: r.t_feat,
    max_movement: r.max_movement,
    feat_by_grok: r.feat_by_grok,
  }));
  const numbers = {
    generalized: generalized.length,
    feat_by_grok: generalized.length - late.length,
    groups,
    movement_min: FEATURE_MOVEMENT_MIN,
    probe_examples: FEATURE_PROBE_EXAMPLES,
    per_run: perRun,
  };
  const unmeasured = runs.length - measured.length;
  const notes = `${unmeasured > 0 ? ` (${plural(unmeasured, 'finished run')} without feature data left out)` : ''}${leftOut}`;
  const moved = measured.map((r) => r.max_movement).filter((m): m is number => m !== null);
  const movedText =
    moved.length > 0 ? `; largest 1 − CKA ${fmt(Math.min(...moved))}–${fmt(Math.max(...moved))}` : '';
  const lateText = late
    .slice(0, 4)
    .map(
      (r) =>
        `${r.run_id} (α ${fmt(r.alpha)}): t_feat ${r.t_feat ?? 'never'}, t_grok ${r.t_grok} (checkpoint ${r.grok_checkpoint})`,
    )
    .join(', ');
  const order =
    generalized.length === 0
      ? 'no run generalized, so there is no jump to compare t_feat with'
      : late.length === 0
        ? `t_feat ≤ the first checkpoint at or after t_grok in ${generalized.length === 1 ? 'the run' : `all ${generalized.length} runs`} that generalized`
        : `t_feat came after the jump in ${late.length} of ${plural(generalized.length, 'run')} that generalized: ${lateText}${late.length > 4 ? ', …' : ''}`;
  const trend = groups
    .map((g) => trendWhy(g, 't_feat', 'needs the largest α later than the smallest'))
    .join('. ');
  const why = `${order}${movedText}. ${trend}${notes}`;
  const trendStatus = combined(groups);
  const status: ClaimStatus =
    late.length > 0 || trendStatus === 'not held'
      ? 'not held'
      : generalized.length > 0 && trendStatus === 'held'
        ? 'held'
        : 'not tested';
  return result(id, status, why, numbers);
}
