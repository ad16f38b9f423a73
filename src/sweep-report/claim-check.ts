/**
 * What every claim check shares: its result type, which runs count (finished, with measures), and
 * the small pieces of wording the checks' sentences are made of, and the grouping of runs along an
 * axis. claims.ts has the weight-decay and training-fraction claims, lever-claims.ts those about
 * Grokfast, softmax collapse, StableMax and ⊥Grad, init-scale-claims.ts those about α.
 */
import { formatStep } from '../measures/index.ts';
import type { AxisValue } from '../sweep/manifest.ts';
import type { RunFeatureMovement } from './feature-movement.ts';
import { SEED_AXIS, type SweepAxis, type SweepRunRow } from './gather.ts';

export type ClaimStatus = 'held' | 'not held' | 'not tested';
export type ClaimId =
  | 'no-decay-no-grok'
  | 'delay-inverse-decay'
  | 'too-much-decay-no-fit'
  | 'goldilocks-fraction'
  | 'grokfast-accelerates'
  | 'softmax-collapse-without-decay'
  | 'stablemax-groks-without-decay'
  | 'orthogonal-grad-groks-without-decay'
  | 'float64-delays-collapse'
  | 'delay-grows-with-alpha'
  | 'features-move-with-grokking';

export interface ClaimCheck {
  id: ClaimId;
  /** The claim, in words. */
  claim: string;
  status: ClaimStatus;
  /** One or two sentences with the numbers behind the status. */
  why: string;
  /** The numbers, for machines. */
  numbers: Record<string, unknown>;
}

export interface ClaimContext {
  axes: SweepAxis[];
  rows: readonly SweepRunRow[];
  thresholds: { mem: number; grok: number };
  /** Feature movement per run, measured from checkpoints only for sweeps over model.init_scale. */
  features?: readonly RunFeatureMovement[];
}

/** Numbers in sentences: 3 significant digits, no exponent for ordinary sizes. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

/** Finished, with measures: only these can show that something did not happen within the budget. */
export const isDone = (r: SweepRunRow) =>
  r.state === 'finished' && r.verdict !== null && r.verdict !== 'insufficient-data';

export function countBy(rows: readonly SweepRunRow[], f: (r: SweepRunRow) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[f(r)] = (out[f(r)] ?? 0) + 1;
  return out;
}

export function listCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

export function maxOf(rows: readonly SweepRunRow[], f: (r: SweepRunRow) => number | null): number | null {
  let m: number | null = null;
  for (const r of rows) {
    const v = f(r);
    if (v !== null && (m === null || v > m)) m = v;
  }
  return m;
}

export function budgetText(rows: readonly SweepRunRow[]): string {
  const budgets = [...new Set(rows.map((r) => r.steps_budget).filter((b): b is number => b !== null))].sort(
    (p, q) => p - q,
  );
  if (budgets.length === 0) return 'its budget';
  if (budgets.length === 1) return `its budget of ${formatStep(budgets[0])} steps`;
  return `budgets of ${formatStep(budgets[0])}–${formatStep(budgets[budgets.length - 1])} steps`;
}

export function notDoneNote(all: readonly SweepRunRow[], done: readonly SweepRunRow[]): string {
  const left = all.length - done.length;
  return left > 0 ? ` (${left} run${left === 1 ? '' : 's'} not finished or unreadable left out)` : '';
}

/** "1 run" / "3 runs". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function hasAxis(axes: readonly SweepAxis[], key: string): boolean {
  return axes.some((a) => a.key === key);
}

/** The `why` of a claim whose axis the sweep does not vary. */
export function axisMissingText(key: string, axes: readonly SweepAxis[]): string {
  const present = axes.map((a) => a.key).join(', ') || 'none';
  return `axis missing: the sweep varies no ${key} (its axes: ${present})`;
}

/** Values of `key` as numbers (runs whose value is not a number are left out of numeric checks). */
export function numericValue(row: SweepRunRow, key: string): number | null {
  const v = row.values[key];
  return typeof v === 'number' ? v : null;
}

/** A label for the values of the other non-seed axes, e.g. "task.train_fraction = 0.7"; "" if none. */
export function groupLabel(values: Record<string, AxisValue>, keys: readonly string[]): string {
  return keys
    .map((k) => `${k} = ${typeof values[k] === 'number' ? fmt(values[k] as number) : String(values[k])}`)
    .join(', ');
}

/** Rows grouped by every non-seed axis except `except`, in first-seen order. */
export function groupsBesides(
  axes: readonly SweepAxis[],
  rows: readonly SweepRunRow[],
  except: string,
): Array<{ label: string; rows: SweepRunRow[] }> {
  const keys = axes.map((a) => a.key).filter((k) => k !== SEED_AXIS && k !== except);
  const groups = new Map<string, SweepRunRow[]>();
  for (const r of rows) {
    const label = groupLabel(r.values, keys);
    const list = groups.get(label);
    if (list) list.push(r);
    else groups.set(label, [r]);
  }
  return [...groups.entries()].map(([label, members]) => ({ label, rows: members }));
}

/** Rows by numeric value of `key`, ascending. */
export function byValue(
  rows: readonly SweepRunRow[],
  key: string,
): Array<{ value: number; rows: SweepRunRow[] }> {
  const map = new Map<number, SweepRunRow[]>();
  for (const r of rows) {
    const v = numericValue(r, key);
    if (v === null) continue;
    const list = map.get(v);
    if (list) list.push(r);
    else map.set(v, [r]);
  }
  return [...map.entries()].sort((p, q) => p[0] - q[0]).map(([value, members]) => ({ value, rows: members }));
}
