/**
 * From raw log rows to clean metric series, saying what was done: missing and non-numeric values,
 * NaN/Inf, duplicated and out-of-order steps, percentages, gaps in the sampling. Nothing is dropped
 * without an issue that counts it.
 */
import type { DataIssue, MetricRole, SamplingInfo, Series, SeriesRole } from './types.ts';

/** A cell as a reader found it: a number, a string still to parse, or nothing. */
export type RawCell = number | string | boolean | null | undefined;
export type RawRow = Record<string, RawCell>;

/** What every reader produces: named columns and rows of raw cells, plus what reading found. */
export interface LogTable {
  columns: string[];
  rows: RawRow[];
  issues: DataIssue[];
  /** Set when the step is not a user column (TensorBoard's event step). */
  intrinsicStep?: string;
  /** Set when the reader knows which column is which (groklab runs): no guessing, even with no rows yet. */
  knownColumns?: Partial<Record<'step' | MetricRole, string>>;
}

type Cell =
  | { kind: 'number'; value: number }
  | { kind: 'missing' }
  | { kind: 'non-finite' }
  | { kind: 'invalid' };

const NON_FINITE_TEXT = /^[+-]?(nan|inf|infinity)$/i;

/** Reads one cell: numbers and numeric text count, "NaN"/"inf" are non-finite, "" and null are missing. */
export function parseCell(cell: RawCell): Cell {
  if (cell === null || cell === undefined) return { kind: 'missing' };
  if (typeof cell === 'number')
    return Number.isFinite(cell) ? { kind: 'number', value: cell } : { kind: 'non-finite' };
  if (typeof cell === 'boolean') return { kind: 'invalid' };
  const text = cell.trim();
  if (text === '') return { kind: 'missing' };
  if (NON_FINITE_TEXT.test(text)) return { kind: 'non-finite' };
  const value = Number(text);
  return Number.isFinite(value) ? { kind: 'number', value } : { kind: 'invalid' };
}

/** How many cells of `column` hold a finite number (used to prefer the column that is a real curve). */
export function finiteCount(rows: RawRow[], column: string): number {
  let n = 0;
  for (const row of rows) if (parseCell(row[column]).kind === 'number') n++;
  return n;
}

/** "1 value", "3 values". */
export const counted = (n: number, noun: string, plural = `${noun}s`) => `${n} ${n === 1 ? noun : plural}`;

const EXAMPLES = 5;
const few = (list: number[]) => list.slice(0, EXAMPLES);
const listed = (list: number[]) =>
  `${few(list).join(', ')}${list.length > EXAMPLES ? `, … (${list.length} in all)` : ''}`;

/** An accuracy column whose maximum is above this (and at most 100) is in percent. */
export const PERCENT_ABOVE = 1.5;

/** 'measure': a quantity with its own range, checked where it is used (stability.ts). */
export type MetricKind = 'accuracy' | 'loss' | 'norm' | 'measure';

export function metricKind(role: SeriesRole): MetricKind {
  if (role === 'train_acc' || role === 'test_acc') return 'accuracy';
  if (role === 'softmax_collapse' || role === 'nlm_cosine') return 'measure';
  return role === 'weight_norm' ? 'norm' : 'loss';
}

/**
 * The series of `valueColumn` against `stepColumn`. Rules, each reported as an issue:
 * - a row whose value is empty is skipped (W&B and Lightning exports log metrics on separate rows);
 * - a value whose step is empty or not a number is dropped;
 * - NaN/Inf and non-numeric values are dropped;
 * - several values at one step: the one latest in the file wins (a resumed or re-logged run);
 * - steps out of order are sorted;
 * - accuracies whose maximum is in (1.5, 100] are taken as percentages and divided by 100;
 *   accuracies outside [0, 1] after that are dropped.
 * Messages name the series "<role> (<column>)", or `label` when given (a capability is named by its column).
 */
export function extractSeries(
  rows: RawRow[],
  stepColumn: string,
  valueColumn: string,
  role: SeriesRole,
  label?: string,
): { series: Series; issues: DataIssue[] } {
  const issues: DataIssue[] = [];
  const missingStepRows: number[] = [];
  const nonFiniteSteps: number[] = [];
  const invalidSteps: number[] = [];
  let missing = 0;
  const points: Array<{ step: number; value: number }> = [];
  rows.forEach((row, i) => {
    const value = parseCell(row[valueColumn]);
    if (value.kind === 'missing') {
      missing++;
      return;
    }
    const step = parseCell(row[stepColumn]);
    if (step.kind !== 'number') {
      missingStepRows.push(i + 1);
      return;
    }
    if (value.kind === 'non-finite') nonFiniteSteps.push(step.value);
    else if (value.kind === 'invalid') invalidSteps.push(step.value);
    else points.push({ step: step.value, value: value.value });
  });
  const where = label ?? `${role} (${valueColumn})`;
  if (missing > 0 && points.length > 0) {
    issues.push({
      kind: 'missing-value',
      severity: 'info',
      metric: role,
      count: missing,
      message: `${where}: empty in ${missing} of ${rows.length} rows (skipped)`,
    });
  }
  if (missingStepRows.length > 0) {
    issues.push({
      kind: 'missing-step',
      severity: 'warning',
      metric: role,
      count: missingStepRows.length,
      examples: few(missingStepRows),
      message: `${where}: ${counted(missingStepRows.length, 'value')} in rows without a numeric ${stepColumn} (data rows ${listed(missingStepRows)}) dropped`,
    });
  }
  if (nonFiniteSteps.length > 0) {
    issues.push({
      kind: 'non-finite',
      severity: 'warning',
      metric: role,
      count: nonFiniteSteps.length,
      examples: few(nonFiniteSteps),
      message: `${where}: ${counted(nonFiniteSteps.length, 'NaN/Inf value')} (steps ${listed(nonFiniteSteps)}) dropped`,
    });
  }
  if (invalidSteps.length > 0) {
    issues.push({
      kind: 'invalid-value',
      severity: 'warning',
      metric: role,
      count: invalidSteps.length,
      examples: few(invalidSteps),
      message: `${where}: ${counted(invalidSteps.length, 'non-numeric value')} (steps ${listed(invalidSteps)}) dropped`,
    });
  }
  const ordered = orderAndMerge(points, where, role, issues);
  const series = metricKind(role) === 'accuracy' ? checkAccuracyRange(ordered, where, role, issues) : ordered;
  return { series, issues };
}

function orderAndMerge(
  points: Array<{ step: number; value: number }>,
  where: string,
  role: SeriesRole,
  issues: DataIssue[],
): Series {
  const backwards: number[] = [];
  for (let i = 1; i < points.length; i++)
    if (points[i].step < points[i - 1].step) backwards.push(points[i].step);
  if (backwards.length > 0) {
    issues.push({
      kind: 'unsorted',
      severity: 'warning',
      metric: role,
      count: backwards.length,
      examples: few(backwards),
      message: `${where}: steps go backwards ${counted(backwards.length, 'time')} (at steps ${listed(backwards)}; a restarted or concatenated log?); sorted by step`,
    });
  }
  // Map keeps the last value written for a step: the latest in the file wins.
  const byStep = new Map<number, number>();
  const duplicatedSet = new Set<number>();
  const conflictingSet = new Set<number>();
  for (const { step, value } of points) {
    const previous = byStep.get(step);
    if (previous !== undefined) {
      duplicatedSet.add(step);
      if (previous !== value) conflictingSet.add(step);
    }
    byStep.set(step, value);
  }
  const duplicated = [...duplicatedSet].sort((a, b) => a - b);
  const conflicting = [...conflictingSet];
  if (duplicated.length > 0) {
    const differ =
      conflicting.length > 0
        ? `, with different values at ${conflicting.length} of them`
        : ', all with equal values';
    issues.push({
      kind: 'duplicate-step',
      severity: conflicting.length > 0 ? 'warning' : 'info',
      metric: role,
      count: duplicated.length,
      examples: few(duplicated),
      message: `${where}: ${counted(duplicated.length, 'step appears', 'steps appear')} more than once (${listed(duplicated)})${differ}; the value latest in the file is used`,
    });
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  return { steps, values: steps.map((s) => byStep.get(s) as number) };
}

function checkAccuracyRange(series: Series, where: string, role: SeriesRole, issues: DataIssue[]): Series {
  let values = series.values;
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  // Above 1.5 no fraction can be meant; a little above 1 is more likely a bad value than a percentage.
  if (max > PERCENT_ABOVE && max <= 100) {
    values = values.map((v) => v / 100);
    issues.push({
      kind: 'percent-scale',
      severity: 'info',
      metric: role,
      message: `${where}: values up to ${max} read as percentages and divided by 100`,
    });
  }
  const outside: number[] = [];
  const kept: Series = { steps: [], values: [] };
  values.forEach((v, i) => {
    if (v < 0 || v > 1) outside.push(series.steps[i]);
    else {
      kept.steps.push(series.steps[i]);
      kept.values.push(v);
    }
  });
  if (outside.length > 0) {
    issues.push({
      kind: 'out-of-range',
      severity: 'warning',
      metric: role,
      count: outside.length,
      examples: few(outside),
      message: `${where}: ${counted(outside.length, 'value')} outside [0, 1] (steps ${listed(outside)}) dropped`,
    });
  }
  return kept;
}

/** A gap between evaluations this many times the median spacing is reported as sparse sampling. */
export const SPARSE_GAP_FACTOR = 5;

/** Spacing statistics of a series, and an issue for stretches with no evaluation. */
export function describeSampling(
  series: Series,
  role: MetricRole,
): { info: SamplingInfo | null; issues: DataIssue[] } {
  const n = series.steps.length;
  if (n === 0) return { info: null, issues: [] };
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) gaps.push(series.steps[i] - series.steps[i - 1]);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  const info: SamplingInfo = {
    evaluations: n,
    first_step: series.steps[0],
    last_step: series.steps[n - 1],
    spacing_min: sorted[0] ?? 0,
    spacing_median: median,
    spacing_max: sorted[sorted.length - 1] ?? 0,
  };
  const sparseAt: number[] = [];
  gaps.forEach((g, i) => {
    if (median > 0 && g > SPARSE_GAP_FACTOR * median) sparseAt.push(series.steps[i]);
  });
  const issues: DataIssue[] = [];
  if (sparseAt.length > 0) {
    issues.push({
      kind: 'sparse',
      severity: 'info',
      metric: role,
      count: sparseAt.length,
      examples: few(sparseAt),
      message: `${role}: ${counted(sparseAt.length, 'gap')} longer than ${SPARSE_GAP_FACTOR}× the median spacing ${median} (after steps ${listed(sparseAt)}); steps measured there are only known to within the gap`,
    });
  }
  return { info, issues };
}
