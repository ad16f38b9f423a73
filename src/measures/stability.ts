/**
 * Prieto et al.'s numerical-stability measures ("Grokking at the Edge of Numerical Stability"),
 * when a log has them: `softmax_collapse`, the share of training examples whose loss is exactly 0
 * in the precision training computes it (their gradient vanished), and `nlm_cosine`, cos(−∇L, θ),
 * near 1 when a step mostly scales the weights up (naïve loss minimization).
 *
 * Columns are found by name: the exact name, else a column whose last "/" part (after a W&B
 * "<run> - " prefix) is the name ("train/softmax_collapse"), the one with the most numbers first.
 * A log without them gives null views and no issue: older logs look exactly as before.
 */
import { extractSeries, finiteCount, type LogTable } from './series.ts';
import { median } from './smooth.ts';
import type { DataIssue, NlmCosineView, Series, SoftmaxCollapseView, StabilityColumn } from './types.ts';

/** A collapse share at or above this is high: t_collapse, and the stall reason of a run that did not generalize. */
export const COLLAPSE_HIGH = 0.5;
/** The late NLM cosine is the median of this many last evaluations. */
export const LATE_EVALUATIONS = 5;
/** A highest cosine this much above the late one is named in the stall reason too. */
export const NLM_PEAK_MARGIN = 0.1;

/** The range each measure lives in; values outside it are dropped and reported. */
const RANGE: Record<StabilityColumn, [number, number]> = {
  softmax_collapse: [0, 1],
  nlm_cosine: [-1, 1],
};

const lastPart = (column: string) => {
  const bare = column.includes(' - ') ? column.slice(column.lastIndexOf(' - ') + 3) : column;
  return bare.slice(bare.lastIndexOf('/') + 1).toLowerCase();
};

/** The column holding `name`, or null when the log has none with a number in it. */
export function findStabilityColumn(table: LogTable, name: StabilityColumn): string | null {
  const candidates = table.columns
    .filter((c) => c === name || (lastPart(c) === name && !/__(min|max)$/i.test(c)))
    .map((column) => ({ column, exact: column === name, numbers: finiteCount(table.rows, column) }))
    .filter((c) => c.numbers > 0)
    .sort((a, b) => Number(b.exact) - Number(a.exact) || b.numbers - a.numbers);
  return candidates[0]?.column ?? null;
}

/**
 * The series of a stability measure, cleaned like every metric. Empty cells are expected (no
 * nlm_cosine at step 0, none in the records an older version wrote before a resume) and not reported.
 */
export function stabilitySeries(
  table: LogTable,
  stepColumn: string,
  column: string,
  name: StabilityColumn,
): { series: Series; issues: DataIssue[] } {
  const extracted = extractSeries(table.rows, stepColumn, column, name);
  const issues = extracted.issues.filter((i) => i.kind !== 'missing-value');
  const [lo, hi] = RANGE[name];
  const kept: Series = { steps: [], values: [] };
  const outside: number[] = [];
  extracted.series.values.forEach((v, i) => {
    const step = extracted.series.steps[i];
    if (v < lo || v > hi) outside.push(step);
    else {
      kept.steps.push(step);
      kept.values.push(v);
    }
  });
  if (outside.length > 0) {
    issues.push({
      kind: 'out-of-range',
      severity: 'warning',
      metric: name,
      count: outside.length,
      examples: outside.slice(0, 5),
      message: `${name} (${column}): ${outside.length} value${outside.length === 1 ? '' : 's'} outside [${lo}, ${hi}] (steps ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', …' : ''}) dropped`,
    });
  }
  return { series: kept, issues };
}

export function collapseView(
  series: Series,
  column: string,
  lossPrecision: SoftmaxCollapseView['loss_precision'],
): SoftmaxCollapseView | null {
  const { steps, values } = series;
  const n = steps.length;
  if (n === 0) return null;
  let maxI = 0;
  values.forEach((v, i) => {
    if (v > values[maxI]) maxI = i;
  });
  const first = values.findIndex((v) => v >= COLLAPSE_HIGH);
  let since = n;
  while (since > 0 && values[since - 1] >= COLLAPSE_HIGH) since--;
  return {
    column,
    loss_precision: lossPrecision,
    final: values[n - 1],
    final_step: steps[n - 1],
    max: values[maxI],
    max_step: steps[maxI],
    t_collapse: first >= 0 ? steps[first] : null,
    high_since: since < n ? steps[since] : null,
  };
}

export function nlmView(series: Series, column: string): NlmCosineView | null {
  const { steps, values } = series;
  const n = steps.length;
  if (n === 0) return null;
  const from = Math.max(0, n - LATE_EVALUATIONS);
  let maxI = 0;
  values.forEach((v, i) => {
    if (v > values[maxI]) maxI = i;
  });
  return {
    column,
    final: values[n - 1],
    final_step: steps[n - 1],
    median_late: median(values.slice(from)),
    late_from_step: steps[from],
    late_evaluations: n - from,
    max: values[maxI],
    max_step: steps[maxI],
  };
}
