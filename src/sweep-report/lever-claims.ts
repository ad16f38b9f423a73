/**
 * Published claims about training levers, checked against a sweep's finished runs. Runs are chosen
 * by what their own config.json says (levers.ts: train.grad_filter, loss, loss_precision,
 * orthogonal_grad, weight_decay), never by a variant's name:
 *
 *   grokfast-accelerates     Lee et al. 2024: a gradient filter (Grokfast MA or EMA) reaches test
 *                            accuracy 0.95 in fewer steps than no filter on the same task with the
 *                            same loss, precision and ⊥Grad (weight decay may differ); held when
 *                            every filter kind's median beats the unfiltered runs' median, where a
 *                            run that never got there counts as "≥ its steps" (censored); not held
 *                            when one is known to be no sooner; not tested when censoring hides it
 *   softmax-collapse-without-decay   Prieto et al. 2025: with float32 softmax cross-entropy and no
 *                            regularization (no weight decay, no ⊥Grad, no filter) a run memorizes,
 *                            does not generalize within its budget, and ends with ≥ 50% of its
 *                            training examples at a loss of exactly 0 (softmax collapse)
 *   stablemax-groks-without-decay    Prieto et al.: with StableMax cross-entropy it generalizes
 *                            without weight decay
 *   orthogonal-grad-groks-without-decay  Prieto et al.: with ⊥Grad it generalizes without weight decay
 *   float64-delays-collapse  Prieto et al.: runs alike but for a float64 softmax reach collapse
 *                            later than in float32, or never
 *
 * "Generalizes" is t_grok: test accuracy reached the report's grok threshold (0.9 by default)
 * within the budget; the verdicts are reported beside it. Each check is `not tested`, with why,
 * when the sweep has no such runs, none has finished, or their metrics lack softmax_collapse.
 */
import { formatStep } from '../measures/index.ts';
import {
  budgetText,
  type ClaimCheck,
  type ClaimContext,
  type ClaimId,
  type ClaimStatus,
  countBy,
  fmt,
  isDone,
  listCounts,
  maxOf,
  notDoneNote,
  plural,
} from './claim-check.ts';
import { boundedMedian } from './fit.ts';
import type { SweepRunRow } from './gather.ts';
import { COLLAPSE_LEVEL, canonicalJson, FAST_TEST_ACC } from './levers.ts';

type LeverClaimId = Extract<
  ClaimId,
  | 'grokfast-accelerates'
  | 'softmax-collapse-without-decay'
  | 'stablemax-groks-without-decay'
  | 'orthogonal-grad-groks-without-decay'
  | 'float64-delays-collapse'
>;

const CLAIMS: Record<LeverClaimId, string> = {
  'grokfast-accelerates': `A gradient filter (Grokfast MA or EMA) reaches test accuracy ${FAST_TEST_ACC} in fewer steps than training without one on the same task (same loss, precision and ⊥Grad)`,
  'softmax-collapse-without-decay': `Without regularization (float32 softmax cross-entropy, no weight decay, no ⊥Grad, no gradient filter, a free weight norm) the network memorizes but does not generalize within the budget, and ends in softmax collapse (≥ ${COLLAPSE_LEVEL * 100}% of training examples with a loss of exactly 0)`,
  'stablemax-groks-without-decay':
    'With StableMax cross-entropy the network generalizes without weight decay (no ⊥Grad, no gradient filter, a free weight norm)',
  'orthogonal-grad-groks-without-decay':
    '⊥Grad (the gradient without its component along the weights) lets the network generalize without weight decay (softmax cross-entropy, no gradient filter, a free weight norm)',
  'float64-delays-collapse': `A float64 softmax delays softmax collapse: runs alike but for the precision reach a collapse fraction ≥ ${COLLAPSE_LEVEL} later (or never) in float64 than in float32`,
};

export function leverClaims(ctx: ClaimContext): ClaimCheck[] {
  return [
    grokfastAccelerates(ctx),
    softmaxCollapseWithoutDecay(ctx),
    groksWithoutDecay(ctx, 'stablemax-groks-without-decay', {
      what: 'StableMax cross-entropy (train.loss stablemax_cross_entropy), weight decay 0, no ⊥Grad, no gradient filter and no fixed_norm',
      select: (r) =>
        r.loss === 'stablemax_cross_entropy' &&
        r.orthogonal_grad === false &&
        r.grad_filter === 'none' &&
        r.fixed_norm === null,
    }),
    groksWithoutDecay(ctx, 'orthogonal-grad-groks-without-decay', {
      what: '⊥Grad (train.orthogonal_grad), weight decay 0, softmax cross-entropy, no gradient filter and no fixed_norm',
      select: (r) =>
        r.orthogonal_grad === true &&
        r.loss === 'cross_entropy' &&
        r.grad_filter === 'none' &&
        r.fixed_norm === null,
    }),
    float64DelaysCollapse(ctx),
  ];
}

function result(
  id: LeverClaimId,
  status: ClaimStatus,
  why: string,
  numbers: Record<string, unknown> = {},
): ClaimCheck {
  return { id, claim: CLAIMS[id], status, why, numbers };
}

/** Steps as text, "≥ " before a censored one. */
const stepText = (value: number, censored: boolean) => `${censored ? '≥ ' : ''}${formatStep(value)}`;

/** "1200–1450" (lowest–highest), or "1200" when they are all the same. */
function rangeText(values: readonly number[], format: (x: number) => string): string {
  if (values.length === 0) return '—';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? format(lo) : `${format(lo)}–${format(hi)}`;
}

/** The `not tested` result when no run has the levers ("the sweep has no run with …") or none has finished. */
function noRuns(
  id: LeverClaimId,
  what: string,
  all: readonly SweepRunRow[],
  done: readonly SweepRunRow[],
): ClaimCheck | null {
  if (all.length === 0) return result(id, 'not tested', `the sweep has no run with ${what}`);
  if (done.length === 0)
    return result(id, 'not tested', `none of the ${plural(all.length, 'run')} with ${what} has finished yet`);
  return null;
}

// ---- grokfast-accelerates ----------------------------------------------------------------------

interface StepsToTarget {
  runs: number;
  /** Runs whose test accuracy reached FAST_TEST_ACC. */
  reached: number;
  /** Median steps to it: `median` exact, or only a lower bound (`censored`) when runs that never got there decide it. */
  median: number;
  censored: boolean;
  /** The median with never-reached runs counted as never (+∞): finite only when it is known to be reached. */
  upper: number | null;
}

function stepsToTarget(rows: readonly SweepRunRow[]): StepsToTarget | null {
  const m = boundedMedian(
    rows.map((r) =>
      r.t_test_acc_95 !== null
        ? { value: r.t_test_acc_95, censored: false }
        : { value: r.steps_run ?? r.steps_budget ?? 0, censored: true },
    ),
  );
  if (m === null) return null;
  return {
    runs: rows.length,
    reached: rows.filter((r) => r.t_test_acc_95 !== null).length,
    median: m.lower,
    censored: !m.exact,
    upper: Number.isFinite(m.upper) ? m.upper : null,
  };
}

interface FilterComparison {
  kind: string;
  steps: StepsToTarget;
  /** Baseline median / this median; a lower bound when the baseline's median is censored. */
  speedup: number | null;
  speedup_is_lower_bound: boolean;
  /** null: neither median is known well enough (both beyond the steps their runs trained) to compare. */
  held: boolean | null;
}

interface GroupComparison {
  /** What sets this group apart from the other groups compared ("" when there is one). */
  group: string;
  baseline: StepsToTarget;
  filters: FilterComparison[];
}

/**
 * What a filtered run is compared within: its task and the levers other than the filter (loss, its
 * precision, ⊥Grad), flattened to `task.*` and `train.*` fields. Weight decay and budget may differ,
 * as between Grokfast's runs and its baseline.
 */
function comparisonFields(r: SweepRunRow): Record<string, unknown> {
  const task = JSON.parse(r.task_key as string) as Record<string, unknown>;
  return {
    ...Object.fromEntries(Object.entries(task).map(([k, v]) => [`task.${k}`, v])),
    'train.loss': r.loss,
    'train.loss_precision': r.loss_precision,
    'train.orthogonal_grad': r.orthogonal_grad,
    'train.fixed_norm': r.fixed_norm,
  };
}

/** Labels of groups: the fields whose values differ between them, e.g. "train.loss = stablemax_cross_entropy". */
function groupLabels(groups: ReadonlyArray<Record<string, unknown>>): string[] {
  const fields = [...new Set(groups.flatMap((g) => Object.keys(g)))].filter(
    (f) => new Set(groups.map((g) => JSON.stringify(g[f]))).size > 1,
  );
  return groups.map((g) =>
    fields.map((f) => `${f} = ${typeof g[f] === 'string' ? g[f] : JSON.stringify(g[f])}`).join(', '),
  );
}

function grokfastAccelerates({ rows }: ClaimContext): ClaimCheck {
  const id: LeverClaimId = 'grokfast-accelerates';
  const known = rows.filter((r) => r.grad_filter !== null && r.task_key !== null);
  const filteredAll = known.filter((r) => r.grad_filter !== 'none');
  const done = known.filter(isDone);
  const filtered = done.filter((r) => r.grad_filter !== 'none');
  const none = noRuns(id, 'a gradient filter (train.grad_filter)', filteredAll, filtered);
  if (none) return none;
  const keyOf = (r: SweepRunRow) => canonicalJson(comparisonFields(r));
  const keys = [...new Set(filtered.map(keyOf))];
  const groups: Array<{ key: string; baseline: StepsToTarget }> = [];
  for (const key of keys) {
    const baseline = stepsToTarget(done.filter((r) => r.grad_filter === 'none' && keyOf(r) === key));
    if (baseline !== null) groups.push({ key, baseline });
  }
  const labels = groupLabels(groups.map((g) => JSON.parse(g.key) as Record<string, unknown>));
  const comparisons: GroupComparison[] = groups.map(({ key, baseline }, i) => {
    const inGroup = filtered.filter((r) => keyOf(r) === key);
    const kinds = [...new Set(inGroup.map((r) => r.grad_filter as string))].sort();
    const filters = kinds.map((kind): FilterComparison => {
      const steps = stepsToTarget(inGroup.filter((r) => r.grad_filter === kind)) as StepsToTarget;
      // Sooner than the baseline's median whatever the censored runs would have needed (held), or
      // known to be no sooner (not held); otherwise the budgets were too short to tell.
      const held =
        steps.upper !== null && steps.upper < baseline.median
          ? true
          : baseline.upper !== null && steps.median >= baseline.upper
            ? false
            : null;
      return {
        kind,
        steps,
        speedup: steps.upper !== null && steps.upper > 0 ? baseline.median / steps.upper : null,
        speedup_is_lower_bound: baseline.censored,
        held,
      };
    });
    return { group: labels[i], baseline, filters };
  });
  const numbers = { target_test_acc: FAST_TEST_ACC, groups: comparisons };
  const leftOut = notDoneNote(known, done);
  if (comparisons.length === 0)
    return result(
      id,
      'not tested',
      `no finished run without a gradient filter on the same task, with the same loss, precision and ⊥Grad, as the ${plural(filtered.length, 'finished run')} with one: nothing to compare with${leftOut}`,
      numbers,
    );
  const describe = (c: GroupComparison) => {
    const base = c.baseline;
    const baseText =
      base.reached === 0
        ? `without a filter ≥ ${formatStep(base.median)} (${plural(base.runs, 'run')}, none reached it within ${base.runs === 1 ? 'its budget' : 'their budgets'})`
        : `without a filter ${stepText(base.median, base.censored)} (${base.reached} of ${plural(base.runs, 'run')} reached it)`;
    const filterText = c.filters.map((f) => {
      const s = f.steps;
      const reached = s.reached < s.runs ? `, ${s.reached} of ${s.runs} reached it` : '';
      if (s.upper === null)
        return `${f.kind} ≥ ${formatStep(s.median)} (${s.reached} of ${plural(s.runs, 'run')} reached it)`;
      return `${f.kind} ${formatStep(s.upper)} (${f.speedup_is_lower_bound ? '≥ ' : ''}${fmt(f.speedup)}× sooner${reached})`;
    });
    return `${c.group ? `${c.group}: ` : ''}median steps to test accuracy ${FAST_TEST_ACC}: ${baseText}; ${filterText.join('; ')}`;
  };
  const text = comparisons.map(describe).join('. ');
  const where = (status: boolean | null) =>
    comparisons
      .flatMap((c) =>
        c.filters.filter((f) => f.held === status).map((f) => `${f.kind}${c.group ? ` at ${c.group}` : ''}`),
      )
      .join(', ');
  const slower = where(false);
  if (slower !== '')
    return result(id, 'not held', `not sooner than without a filter: ${slower}. ${text}${leftOut}`, numbers);
  const undecided = where(null);
  if (undecided !== '')
    return result(
      id,
      'not tested',
      `too few runs reached test accuracy ${FAST_TEST_ACC} within their budgets to compare ${undecided} with the runs without a filter. ${text}${leftOut}`,
      numbers,
    );
  return result(id, 'held', `${text}${leftOut}`, numbers);
}

// ---- softmax-collapse-without-decay --------------------------------------------------------------

/** Float32 softmax cross-entropy without any regularizing lever. */
const isPlainSoftmax = (r: SweepRunRow) =>
  r.loss === 'cross_entropy' &&
  r.loss_precision === 'float32' &&
  r.weight_decay === 0 &&
  r.orthogonal_grad === false &&
  r.grad_filter === 'none' &&
  r.fixed_norm === null;

/** The collapse numbers of runs, for the claims' `numbers`. */
function collapseNumbers(rows: readonly SweepRunRow[]) {
  return rows.map((r) => ({
    run: r.run_id,
    t_mem: r.t_mem,
    t_grok: r.t_grok_crossing,
    max_test_acc: r.max_test_acc,
    final_collapse: r.final_collapse,
    t_collapse: r.t_collapse,
    steps_run: r.steps_run,
  }));
}

function softmaxCollapseWithoutDecay({ rows, thresholds }: ClaimContext): ClaimCheck {
  const id: LeverClaimId = 'softmax-collapse-without-decay';
  const all = rows.filter(isPlainSoftmax);
  const done = all.filter(isDone);
  const none = noRuns(
    id,
    'float32 softmax cross-entropy, weight decay 0, no ⊥Grad, no gradient filter and no fixed_norm',
    all,
    done,
  );
  if (none) return none;
  const recorded = done.filter((r) => r.final_collapse !== null);
  if (recorded.length === 0)
    return result(
      id,
      'not tested',
      `the ${plural(done.length, 'finished run')} without regularization recorded no softmax_collapse in metrics.jsonl (trained before groklab measured it)`,
    );
  const memorized = recorded.filter((r) => r.t_mem !== null);
  const generalized = recorded.filter((r) => r.t_grok_crossing !== null);
  const collapsed = recorded.filter((r) => (r.final_collapse as number) >= COLLAPSE_LEVEL);
  const numbers = {
    runs: recorded.length,
    memorized: memorized.length,
    generalized: generalized.length,
    collapsed: collapsed.length,
    collapse_level: COLLAPSE_LEVEL,
    mem_threshold: thresholds.mem,
    grok_threshold: thresholds.grok,
    per_run: collapseNumbers(recorded),
  };
  const unrecorded = done.length - recorded.length;
  const notes = `${unrecorded > 0 ? ` (${plural(unrecorded, 'finished run')} without softmax_collapse in its log left out)` : ''}${notDoneNote(all, done)}`;
  const pct = (x: number) => `${fmt(100 * x)}%`;
  const finals = rangeText(
    recorded.map((r) => r.final_collapse as number),
    pct,
  );
  const firsts = collapsed.map((r) => r.t_collapse).filter((t): t is number => t !== null);
  const n = recorded.length;
  if (memorized.length === n && generalized.length === 0 && collapsed.length === n)
    return result(
      id,
      'held',
      `${n === 1 ? 'the finished run' : `all ${n} finished runs`} without regularization memorized (train accuracy ≥ ${thresholds.mem} at step ${rangeText(
        memorized.map((r) => r.t_mem as number),
        formatStep,
      )}), ${n === 1 ? 'did not reach' : 'none reached'} test accuracy ${thresholds.grok} within ${budgetText(recorded)} (highest ${fmt(maxOf(recorded, (r) => r.max_test_acc))}), and at the end ${finals} of the training examples had a loss of exactly 0 (≥ ${COLLAPSE_LEVEL} from step ${rangeText(firsts, formatStep)})${notes}`,
      numbers,
    );
  const against = [
    memorized.length < n
      ? `${n - memorized.length} of ${n} never memorized (train accuracy < ${thresholds.mem})`
      : null,
    generalized.length > 0
      ? `${generalized.length} of ${n} reached test accuracy ${thresholds.grok} (${generalized
          .slice(0, 4)
          .map((r) => `${r.run_id} at step ${formatStep(r.t_grok_crossing)}`)
          .join(', ')})`
      : null,
    collapsed.length < n
      ? `${n - collapsed.length} of ${n} ended below a collapse fraction of ${COLLAPSE_LEVEL}`
      : null,
  ].filter((s) => s !== null);
  return result(
    id,
    'not held',
    `of the ${plural(n, 'finished run')} without regularization, ${against.join('; ')} (final collapse fractions ${finals})${notes}`,
    numbers,
  );
}

// ---- stablemax- and orthogonal-grad-groks-without-decay -----------------------------------------

function groksWithoutDecay(
  { rows, thresholds }: ClaimContext,
  id: LeverClaimId,
  lever: { what: string; select: (r: SweepRunRow) => boolean },
): ClaimCheck {
  const all = rows.filter((r) => r.weight_decay === 0 && lever.select(r));
  const done = all.filter(isDone);
  const none = noRuns(id, lever.what, all, done);
  if (none) return none;
  const generalized = done.filter((r) => r.t_grok_crossing !== null);
  const verdicts = countBy(done, (r) => r.verdict ?? 'none');
  const tGroks = generalized.map((r) => r.t_grok_crossing as number);
  const numbers = {
    runs: done.length,
    generalized: generalized.length,
    grok_threshold: thresholds.grok,
    verdicts,
    t_grok: generalized.map((r) => ({ run: r.run_id, t_mem: r.t_mem, t_grok: r.t_grok_crossing })),
    max_test_acc: maxOf(done, (r) => r.max_test_acc),
  };
  const n = done.length;
  const notes = notDoneNote(all, done);
  if (generalized.length === n)
    return result(
      id,
      'held',
      `${n === 1 ? 'the finished run' : `all ${n} finished runs`} reached test accuracy ${thresholds.grok} without weight decay: t_grok ${rangeText(tGroks, formatStep)}${n > 1 ? ' steps' : ''}, t_mem ${rangeText(
        done.map((r) => r.t_mem).filter((t): t is number => t !== null),
        formatStep,
      )} (verdicts: ${listCounts(verdicts)})${notes}`,
      numbers,
    );
  return result(
    id,
    'not held',
    `${n - generalized.length} of ${plural(n, 'finished run')} did not reach test accuracy ${thresholds.grok} within ${budgetText(done)} (highest ${fmt(numbers.max_test_acc)}; verdicts: ${listCounts(verdicts)})${generalized.length > 0 ? `; the others at step ${rangeText(tGroks, formatStep)}` : ''}${notes}`,
    numbers,
  );
}

// ---- float64-delays-collapse ---------------------------------------------------------------------

interface PrecisionPair {
  float32: string;
  float64: string;
  t_collapse_float32: number | null;
  t_collapse_float64: number | null;
  /** Steps the float64 run trained: "never" means not within these. */
  float64_steps: number | null;
  held: boolean | null;
}

function float64DelaysCollapse({ rows }: ClaimContext): ClaimCheck {
  const id: LeverClaimId = 'float64-delays-collapse';
  const ce = rows.filter((r) => r.loss === 'cross_entropy' && r.alike_key !== null);
  const all64 = ce.filter((r) => r.loss_precision === 'float64');
  const done = ce.filter(isDone);
  const done64 = done.filter((r) => r.loss_precision === 'float64');
  const none = noRuns(id, 'a float64 softmax cross-entropy (train.loss_precision float64)', all64, done64);
  if (none) return none;
  const pairs: PrecisionPair[] = [];
  for (const b of done64) {
    for (const a of done.filter((r) => r.alike_key === b.alike_key && r.loss_precision === 'float32')) {
      const recorded = a.final_collapse !== null && b.final_collapse !== null;
      // A float32 run that never collapsed shows no delay either way, unless float64 collapsed first.
      const held = !recorded
        ? null
        : a.t_collapse === null
          ? b.t_collapse === null
            ? null
            : false
          : b.t_collapse === null || b.t_collapse > a.t_collapse;
      pairs.push({
        float32: a.run_id,
        float64: b.run_id,
        t_collapse_float32: a.t_collapse,
        t_collapse_float64: b.t_collapse,
        float64_steps: b.steps_run,
        held,
      });
    }
  }
  const numbers = { collapse_level: COLLAPSE_LEVEL, pairs };
  const notes = notDoneNote(ce, done);
  if (pairs.length === 0)
    return result(
      id,
      'not tested',
      `${done64.length === 1 ? 'the finished float64 run has no' : `none of the ${done64.length} finished float64 runs has a`} finished float32 run alike but for the precision to compare with${notes}`,
      numbers,
    );
  const testable = pairs.filter((p) => p.held !== null);
  if (testable.length === 0) {
    const unrecorded = pairs.filter(
      (p) =>
        done.find((r) => r.run_id === p.float32)?.final_collapse === null ||
        done.find((r) => r.run_id === p.float64)?.final_collapse === null,
    ).length;
    return result(
      id,
      'not tested',
      unrecorded > 0
        ? `${unrecorded} of ${plural(pairs.length, 'float32/float64 pair')} recorded no softmax_collapse (trained before groklab measured it); in the others neither run reached a collapse fraction of ${COLLAPSE_LEVEL}`
        : `in ${pairs.length === 1 ? 'the float32/float64 pair' : `all ${pairs.length} float32/float64 pairs`} neither run reached a collapse fraction of ${COLLAPSE_LEVEL} within its budget: no delay to see`,
      numbers,
    );
  }
  const describe = (p: PrecisionPair) =>
    `${p.float32} ${p.t_collapse_float32 === null ? 'never' : `at step ${formatStep(p.t_collapse_float32)}`}, ${p.float64} ${
      p.t_collapse_float64 === null
        ? `never within ${formatStep(p.float64_steps)} steps`
        : `at step ${formatStep(p.t_collapse_float64)}${p.t_collapse_float32 ? ` (${fmt(p.t_collapse_float64 / p.t_collapse_float32)}×)` : ''}`
    }`;
  const failed = testable.filter((p) => !p.held);
  const shown = (list: PrecisionPair[]) =>
    `${list.slice(0, 4).map(describe).join('; ')}${list.length > 4 ? `; and ${list.length - 4} more` : ''}`;
  const untestable = pairs.length - testable.length;
  const skipped =
    untestable > 0
      ? ` (${plural(untestable, 'pair')} where neither collapsed, or without softmax_collapse, left out)`
      : '';
  if (failed.length === 0)
    return result(
      id,
      'held',
      `collapse fraction ≥ ${COLLAPSE_LEVEL} first reached in float32 vs float64: ${shown(testable)}${skipped}${notes}`,
      numbers,
    );
  return result(
    id,
    'not held',
    `in ${failed.length} of ${plural(testable.length, 'pair')} float64 collapsed no later than float32: ${shown(failed)}${skipped}${notes}`,
    numbers,
  );
}
