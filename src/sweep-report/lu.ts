/**
 * Omnigrok's LU mechanism (Liu et al. 2023), read from a sweep with a `train.fixed_norm` axis:
 * against the fixed weight norm w, the train loss is L-shaped (high at small w, low at every larger
 * w) and the test loss U-shaped (lowest in between), and the norms between the two walls, where the
 * test accuracy is highest, are the "Goldilocks zone".
 *
 * One point per norm: the median over seeds of each run's final losses and accuracies (the last
 * evaluation of the run, not the best one over training: the model as constrained training leaves
 * it). Only finished runs count. Sweeps with other non-seed axes get one curve per setting of them.
 */
import { median } from '../measures/index.ts';
import type { AxisValue } from '../sweep/manifest.ts';
import { fmt, groupLabel, isDone } from './claim-check.ts';
import { SEED_AXIS, type SweepAxis, type SweepRunRow } from './gather.ts';

export const FIXED_NORM_AXIS = 'train.fixed_norm';
/** L: the train loss at the smallest norm is at least this factor above the low side's. */
export const L_DROP = 10;
/** U: both ends' test loss at least this factor above its minimum, which lies strictly inside. */
export const U_RISE = 1.25;
/** The Goldilocks zone: norms whose median test accuracy is at least this share of the best one. */
export const GOLDILOCKS_ACC_SHARE = 0.9;
/** Norms with finished runs needed before a shape is judged. */
export const MIN_NORMS = 3;

export interface LuPoint {
  norm: number;
  runs: number;
  train_loss: number;
  test_loss: number;
  train_acc: number | null;
  test_acc: number | null;
}

export interface LuShape {
  held: boolean;
  /** The sentence with the numbers. */
  text: string;
}

export interface LuCurve {
  /** The setting of the other non-seed axes ('' when there are none). */
  group: string;
  /** By norm, ascending. */
  points: LuPoint[];
  /** null: fewer than MIN_NORMS norms with finished runs, nothing to judge. */
  train_l: LuShape | null;
  test_u: LuShape | null;
  /** The norm with the lowest median test loss. */
  test_loss_min: { norm: number; test_loss: number } | null;
  /** Norms whose median test accuracy is ≥ GOLDILOCKS_ACC_SHARE of the best, and the best. */
  goldilocks: { norms: number[]; from: number; to: number; best_test_acc: number; best_norm: number } | null;
}

export interface LuResult {
  axis: typeof FIXED_NORM_AXIS;
  /** Which value of each run is used. */
  value: 'final';
  /** Other non-seed axes, whose settings give the curves. */
  group_keys: string[];
  curves: LuCurve[];
  /** Runs on the axis not counted (not finished, no losses) and why, in words; null when none. */
  left_out: string | null;
  /** One line per curve for the report. */
  summary: string[];
}

/** Each run's value: the x (norm) and the four finals, for the chart's dots. */
export interface LuRunPoint {
  run_id: string;
  group: string;
  norm: number;
  train_loss: number;
  test_loss: number;
  train_acc: number | null;
  test_acc: number | null;
}

function medianOrNull(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? median(known) : null;
}

/** The norm of a run, when the axis gives it one (a number > 0). */
function normOf(values: Record<string, AxisValue>): number | null {
  const v = values[FIXED_NORM_AXIS];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
}

/** The other non-seed axes: one curve per setting of them. */
export function luGroupKeys(axes: readonly SweepAxis[]): string[] {
  return axes.map((a) => a.key).filter((k) => k !== SEED_AXIS && k !== FIXED_NORM_AXIS);
}

/** The finished runs with a norm and both final losses, as chart points. */
export function luRunPoints(axes: readonly SweepAxis[], rows: readonly SweepRunRow[]): LuRunPoint[] {
  const keys = luGroupKeys(axes);
  return rows.flatMap((r) => {
    const norm = normOf(r.values);
    if (norm === null || !isDone(r) || r.final_train_loss === null || r.final_test_loss === null) return [];
    return [
      {
        run_id: r.run_id,
        group: groupLabel(r.values, keys),
        norm,
        train_loss: r.final_train_loss,
        test_loss: r.final_test_loss,
        train_acc: r.final_train_acc,
        test_acc: r.final_test_acc,
      },
    ];
  });
}

/** Medians over seeds, one point per norm, ascending. */
export function luPoints(runs: readonly LuRunPoint[]): LuPoint[] {
  const byNorm = new Map<number, LuRunPoint[]>();
  for (const r of runs) byNorm.set(r.norm, [...(byNorm.get(r.norm) ?? []), r]);
  return [...byNorm.entries()]
    .sort(([a], [b]) => a - b)
    .map(([norm, list]) => ({
      norm,
      runs: list.length,
      train_loss: median(list.map((r) => r.train_loss)),
      test_loss: median(list.map((r) => r.test_loss)),
      train_acc: medianOrNull(list.map((r) => r.train_acc)),
      test_acc: medianOrNull(list.map((r) => r.test_acc)),
    }));
}

const at = (p: LuPoint, value: number) => `${fmt(value)} at ‖θ‖ = ${fmt(p.norm)}`;

/**
 * L-shaped: going up in norm, the train loss falls to at most 1/L_DROP of its value at the smallest
 * norm and stays there at every larger norm (a high wall on the left, a low floor on the right).
 */
export function judgeTrainL(points: readonly LuPoint[]): LuShape {
  const first = points[0];
  const low = first.train_loss / L_DROP;
  const drop = points.findIndex((p) => p.train_loss <= low);
  if (drop < 0) {
    const min = points.reduce((m, p) => (p.train_loss < m.train_loss ? p : m));
    return {
      held: false,
      text: `train loss not L-shaped: ${at(first, first.train_loss)}, never ${L_DROP}× lower (lowest ${at(min, min.train_loss)})`,
    };
  }
  const rises = points.slice(drop).filter((p) => p.train_loss > low);
  const last = points[points.length - 1];
  if (rises.length > 0) {
    return {
      held: false,
      text: `train loss not L-shaped: it falls from ${at(first, first.train_loss)} to ${at(points[drop], points[drop].train_loss)} but rises again above ${fmt(low)} (${rises.map((p) => at(p, p.train_loss)).join(', ')})`,
    };
  }
  const high = points.slice(0, drop);
  return {
    held: true,
    text: `train loss L-shaped: high at small norms (${high.map((p) => fmt(p.train_loss)).join(', ')} for ‖θ‖ = ${high.map((p) => fmt(p.norm)).join(', ')}), below ${fmt(low)} (${L_DROP}× under the smallest norm's) from ‖θ‖ = ${fmt(points[drop].norm)} on, down to ${at(last, last.train_loss)}`,
  };
}

/** U-shaped: the lowest test loss lies strictly inside, and both ends are ≥ U_RISE× above it. */
export function judgeTestU(points: readonly LuPoint[]): LuShape {
  const first = points[0];
  const last = points[points.length - 1];
  let k = 0;
  for (let i = 1; i < points.length; i++) if (points[i].test_loss < points[k].test_loss) k = i;
  const min = points[k];
  const ends = `${at(first, first.test_loss)}, lowest ${at(min, min.test_loss)}, ${at(last, last.test_loss)}`;
  if (k === 0 || k === points.length - 1) {
    return {
      held: false,
      text: `test loss not U-shaped: its minimum is at the ${k === 0 ? 'smallest' : 'largest'} norm (${ends})`,
    };
  }
  const left = first.test_loss / min.test_loss;
  const right = last.test_loss / min.test_loss;
  const held = left >= U_RISE && right >= U_RISE;
  return {
    held,
    text: `test loss ${held ? 'U-shaped' : `not U-shaped (both ends must be ≥ ${U_RISE}× the minimum)`}: ${ends} (${fmt(left)}× and ${fmt(right)}× the minimum)`,
  };
}

/** The norms whose median test accuracy is ≥ GOLDILOCKS_ACC_SHARE of the best. */
export function goldilocksZone(points: readonly LuPoint[]): LuCurve['goldilocks'] {
  const scored = points.filter((p): p is LuPoint & { test_acc: number } => p.test_acc !== null);
  if (scored.length === 0) return null;
  const best = scored.reduce((m, p) => (p.test_acc > m.test_acc ? p : m));
  if (!(best.test_acc > 0)) return null;
  const norms = scored.filter((p) => p.test_acc >= GOLDILOCKS_ACC_SHARE * best.test_acc).map((p) => p.norm);
  return {
    norms,
    from: norms[0],
    to: norms[norms.length - 1],
    best_test_acc: best.test_acc,
    best_norm: best.norm,
  };
}

function curveSummary(c: LuCurve): string {
  const where = c.group ? `${c.group}: ` : '';
  if (c.train_l === null || c.test_u === null) {
    return `${where}not judged: finished runs at ${c.points.length} norm${c.points.length === 1 ? '' : 's'}, ${MIN_NORMS} needed`;
  }
  const zone = c.goldilocks;
  const zoneText =
    zone === null
      ? 'no Goldilocks zone (no test accuracy above 0)'
      : `Goldilocks zone ‖θ‖ ∈ [${fmt(zone.from)}, ${fmt(zone.to)}] (median test accuracy ≥ ${GOLDILOCKS_ACC_SHARE} × the best, ${fmt(zone.best_test_acc)} at ‖θ‖ = ${fmt(zone.best_norm)})`;
  const both = c.train_l.held && c.test_u.held ? 'LU: held' : 'LU: not held';
  return `${where}${both}. ${c.train_l.text}; ${c.test_u.text}; ${zoneText}.`;
}

/** The LU reading of a sweep; null when it has no train.fixed_norm axis. */
export function luAnalysis(axes: readonly SweepAxis[], rows: readonly SweepRunRow[]): LuResult | null {
  if (!axes.some((a) => a.key === FIXED_NORM_AXIS)) return null;
  const keys = luGroupKeys(axes);
  const runs = luRunPoints(axes, rows);
  const groups = [
    ...new Set(rows.filter((r) => normOf(r.values) !== null).map((r) => groupLabel(r.values, keys))),
  ];
  const curves = groups.map((group): LuCurve => {
    const points = luPoints(runs.filter((r) => r.group === group));
    const judged = points.length >= MIN_NORMS;
    const min = points.length > 0 ? points.reduce((m, p) => (p.test_loss < m.test_loss ? p : m)) : null;
    return {
      group,
      points,
      train_l: judged ? judgeTrainL(points) : null,
      test_u: judged ? judgeTestU(points) : null,
      test_loss_min: min ? { norm: min.norm, test_loss: min.test_loss } : null,
      goldilocks: judged ? goldilocksZone(points) : null,
    };
  });
  const onAxis = rows.filter((r) => normOf(r.values) !== null).length;
  const skipped = onAxis - runs.length;
  return {
    axis: FIXED_NORM_AXIS,
    value: 'final',
    group_keys: keys,
    curves,
    left_out:
      skipped > 0 ? `${skipped} of ${onAxis} runs not counted (not finished, or without final losses)` : null,
    summary: curves.map(curveSummary),
  };
}
