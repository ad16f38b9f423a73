/**
 * Values of one sweep axis from how the spec writes them:
 *
 *   [0.1, 0.3, 1]                           a list (numbers, strings or booleans; no repeats)
 *   {from: 0.1, to: 0.9, step: 0.2}         linear, inclusive of `to` when it lies on the grid
 *   {from: 0, to: 1, num: 5}                num evenly spaced values, both ends included
 *   {from: 1e-4, to: 1, num: 5, log: true}  num log-spaced (geometric) values, both ends included
 *   add `integer: true` to round every value to an integer (e.g. widths on a log scale)
 *
 * Floating point: value i is computed as from + i·step (never by repeated addition) and rounded to
 * the decimals the spec itself uses, so 0.1..0.9 step 0.2 gives exactly 0.1, 0.3, 0.5, 0.7, 0.9;
 * evenly and log-spaced values are rounded to 12 significant digits and the ends are exact, so
 * 1e-4..1 num 5 log gives exactly 0.0001, 0.001, 0.01, 0.1, 1.
 */
import type { FieldProblem } from '../util/errors.ts';
import type { AxisValue } from './manifest.ts';

/** More values than this on one axis is almost certainly a typo (a step too small). */
export const MAX_AXIS_VALUES = 10_000;

const RANGE_KEYS = ['from', 'to', 'step', 'num', 'log', 'integer'] as const;

export type AxisForm =
  | { kind: 'list'; values: AxisValue[] }
  | { kind: 'step'; from: number; to: number; step: number; integer: boolean }
  | { kind: 'num'; from: number; to: number; num: number; log: boolean; integer: boolean };

export type AxisResult = { values: AxisValue[]; problems: [] } | { values: null; problems: FieldProblem[] };

const FORMS_HELP =
  'a list of values, {from, to, step}, {from, to, num} or {from, to, num, log: true} (see docs/sweeps.md)';

/** Expands one axis written at `field` (e.g. `axes.wd`); every problem names the exact sub-field. */
export function expandAxis(field: string, raw: unknown): AxisResult {
  const problems: FieldProblem[] = [];
  const fail = (f: string, message: string) => problems.push({ field: f, message });
  let values: AxisValue[] | null = null;

  if (Array.isArray(raw)) {
    if (raw.length === 0) fail(field, 'must not be empty');
    raw.forEach((v, i) => {
      const ok =
        (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'boolean';
      if (!ok)
        fail(`${field}[${i}]`, `must be a number, string or boolean (got ${JSON.stringify(v) ?? String(v)})`);
    });
    if (problems.length === 0) values = raw as AxisValue[];
  } else if (typeof raw === 'object' && raw !== null) {
    values = expandRange(field, raw as Record<string, unknown>, problems);
  } else {
    fail(
      field,
      `must be ${FORMS_HELP}; got ${JSON.stringify(raw) ?? String(raw)} (a single fixed value belongs under set:)`,
    );
  }

  if (values !== null && problems.length === 0) {
    const seen = new Map<string, number>();
    values.forEach((v, i) => {
      const key = JSON.stringify(v);
      const first = seen.get(key);
      if (first !== undefined) fail(`${field}[${i}]`, `repeats value ${key} (also at [${first}])`);
      else seen.set(key, i);
    });
    if (values.length > MAX_AXIS_VALUES)
      fail(
        field,
        `gives ${values.length} values; at most ${MAX_AXIS_VALUES} per axis (is the step too small?)`,
      );
  }
  return problems.length > 0 ? { values: null, problems } : { values: values ?? [], problems: [] };
}

function expandRange(field: string, raw: Record<string, unknown>, problems: FieldProblem[]): number[] | null {
  const before = problems.length;
  const fail = (f: string, message: string) => problems.push({ field: f, message });
  const unknown = Object.keys(raw).filter((k) => !(RANGE_KEYS as readonly string[]).includes(k));
  for (const k of unknown) fail(`${field}.${k}`, `unknown range key; allowed: ${RANGE_KEYS.join(', ')}`);
  const num = (k: string): number | null => {
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      fail(`${field}.${k}`, v === undefined ? 'required (a number)' : 'must be a finite number');
      return null;
    }
    return v;
  };
  const flag = (k: string): boolean => {
    const v = raw[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') fail(`${field}.${k}`, 'must be true or false');
    return v === true;
  };
  const from = num('from');
  const to = num('to');
  const log = flag('log');
  const integer = flag('integer');
  const hasStep = raw.step !== undefined;
  const hasNum = raw.num !== undefined;
  if (hasStep === hasNum) {
    fail(
      field,
      hasStep ? 'give either step or num, not both' : 'needs step (linear) or num (evenly or log-spaced)',
    );
    return null;
  }
  if (hasStep) {
    if (log) fail(`${field}.log`, 'a log range takes num (the number of values), not step');
    const step = num('step');
    if (step === 0) fail(`${field}.step`, 'must not be 0');
    if (
      from !== null &&
      to !== null &&
      step !== null &&
      step !== 0 &&
      from !== to &&
      Math.sign(to - from) !== Math.sign(step)
    )
      fail(`${field}.step`, `must be ${to > from ? 'positive' : 'negative'} to go from ${from} to ${to}`);
    if (problems.length > before || from === null || to === null || step === null) return null;
    const span = (to - from) / step;
    const count = Math.floor(span + 1e-9 * Math.max(1, Math.abs(span))) + 1;
    if (count > MAX_AXIS_VALUES) {
      fail(field, `gives ${count} values; at most ${MAX_AXIS_VALUES} per axis (is the step too small?)`);
      return null;
    }
    const decimals = Math.max(decimalPlaces(from), decimalPlaces(step));
    const values = Array.from({ length: count }, (_, i) => roundTo(from + i * step, decimals));
    return integer ? values.map(Math.round) : values;
  }
  const n = raw.num;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2) fail(`${field}.num`, 'must be an integer ≥ 2');
  else if (n > MAX_AXIS_VALUES) fail(`${field}.num`, `must be at most ${MAX_AXIS_VALUES}`);
  if (log && from !== null && from <= 0) fail(`${field}.from`, 'must be > 0 for a log range');
  if (log && to !== null && to <= 0) fail(`${field}.to`, 'must be > 0 for a log range');
  if (from !== null && to !== null && from === to)
    fail(field, 'from and to are equal: that is one value, not a range');
  if (problems.length > before || from === null || to === null) return null;
  const count = n as number;
  const values = Array.from({ length: count }, (_, i) => {
    if (i === 0) return from;
    if (i === count - 1) return to;
    const t = i / (count - 1);
    const v = log ? Math.exp(Math.log(from) + t * (Math.log(to) - Math.log(from))) : from + t * (to - from);
    // Cancellation near zero leaves noise like 5.6e-17 where 0 is meant.
    if (!log && Math.abs(v) < 1e-12 * Math.max(Math.abs(from), Math.abs(to))) return 0;
    return Number(v.toPrecision(12));
  });
  return integer ? values.map(Math.round) : values;
}

/** Decimal places a number is written with: 0.25 → 2, 1e-5 → 5, 2.5e-3 → 4, 300 → 0. */
export function decimalPlaces(x: number): number {
  const [mantissa, exponent] = String(Math.abs(x)).split('e');
  const fraction = mantissa.split('.')[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent ?? 0));
}

function roundTo(x: number, decimals: number): number {
  // toFixed takes at most 100 digits; beyond that the spec's own numbers are the precision anyway.
  return decimals <= 100 ? Number(x.toFixed(decimals)) : x;
}
