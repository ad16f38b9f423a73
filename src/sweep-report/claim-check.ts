/**
 * What every claim check shares: its result type, which runs count (finished, with measures), and
 * the small pieces of wording the checks' sentences are made of. claims.ts has the weight-decay and
 * training-fraction claims, lever-claims.ts those about Grokfast, softmax collapse, StableMax and
 * ⊥Grad.
 */
import { formatStep } from '../measures/index.ts';
import type { SweepAxis, SweepRunRow } from './gather.ts';

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
  | 'float64-delays-collapse';

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
