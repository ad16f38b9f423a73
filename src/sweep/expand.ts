/**
 * A validated spec → the grid of runs: the cartesian product of the axes in spec order (the variant
 * axis first and slowest, seeds fastest), one run id per cell (`<name>-<index>`, zero-padded, stable
 * for a spec), and every cell's config checked with the run-config schema before anything is written.
 * A cell's config is the base (with `set`), then its variant's overrides, then its axis values.
 */
import { applyOverrides } from '../config/overrides.ts';
import { parseRunConfig } from '../config/schema.ts';
import { validateRunId } from '../runs/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { type AxisValue, SWEEP_FORMAT, type SweepManifest } from './manifest.ts';
import type { SweepSpec } from './spec.ts';
import { keysOverlap, type SweepVariant, VARIANT_AXIS, variantsRecord } from './variants.ts';

/** A grid larger than this is refused (100 000 run folders is already a lot of disk). */
export const MAX_CELLS = 100_000;
/** Stop collecting problems after this many distinct ones. */
const MAX_PROBLEMS = 30;

export interface PlannedCell {
  runId: string;
  /** Value on every axis, by full key. */
  values: Record<string, AxisValue>;
  /** The cell's config as given to the run (validated). */
  config: Record<string, unknown>;
}

export interface SweepPlan {
  spec: SweepSpec;
  cells: PlannedCell[];
}

/** Run id of cell `index` in a grid of `count` cells. */
export function cellRunId(name: string, index: number, count: number): string {
  const width = Math.max(3, String(count - 1).length);
  return `${name}-${String(index).padStart(width, '0')}`;
}

export function planSweep(spec: SweepSpec): SweepPlan {
  const count = spec.axes.reduce((n, a) => n * a.values.length, 1);
  if (count > MAX_CELLS) {
    const sizes = spec.axes.map((a) => `${a.field}: ${a.values.length}`).join(' × ');
    throw new UsageError({
      field: 'axes',
      message: `the grid has ${count} runs (${sizes}); at most ${MAX_CELLS}`,
    });
  }
  const first = cellRunId(spec.name, 0, count);
  try {
    validateRunId(first);
  } catch (err) {
    if (err instanceof UsageError)
      throw new UsageError({
        field: 'name',
        message: `too long for run ids like ${first}: ${err.problems[0].message}`,
      });
    throw err;
  }

  const cells: PlannedCell[] = [];
  const problems = new Map<string, FieldProblem>();
  for (let index = 0; index < count; index++) {
    // Odometer: the last axis changes fastest.
    const values: Record<string, AxisValue> = {};
    let rest = index;
    for (let a = spec.axes.length - 1; a >= 0; a--) {
      const axis = spec.axes[a];
      values[axis.key] = axis.values[rest % axis.values.length];
      rest = Math.floor(rest / axis.values.length);
    }
    const ordered = Object.fromEntries(spec.axes.map((a) => [a.key, values[a.key]]));
    const runId = cellRunId(spec.name, index, count);
    const variant = spec.variants.find((v) => v.name === ordered[VARIANT_AXIS]);
    const config = applyOverrides(spec.baseConfig, [
      ...(variant?.overrides ?? []),
      ...spec.axes.filter((a) => a.key !== VARIANT_AXIS).map((a) => ({ key: a.key, value: ordered[a.key] })),
    ]);
    try {
      parseRunConfig(config);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      for (const p of err.problems) {
        const problem = attribute(spec, p, ordered, runId, variant);
        // The same base problem in every cell is one problem; an axis problem is one per value.
        const key =
          problem.field === p.field ? `${p.field}\n${p.message}` : `${problem.field}\n${problem.message}`;
        if (!problems.has(key)) problems.set(key, problem);
      }
      if (problems.size >= MAX_PROBLEMS) break;
    }
    cells.push({ runId, values: ordered, config });
  }
  if (problems.size > 0) throw new UsageError([...problems.values()]);
  return { spec, cells };
}

/** Reports a cell's config problem against the spec field that caused it. */
function attribute(
  spec: SweepSpec,
  problem: FieldProblem,
  values: Record<string, AxisValue>,
  runId: string,
  variant: SweepVariant | undefined,
): FieldProblem {
  const under = (key: string) => problem.field === key || problem.field.startsWith(`${key}.`);
  // A variant's override owns the fields inside it: `variants.ma.train.grad_filter` + `.alpha`.
  const override = variant?.overrides.find((o) => keysOverlap(o.key, problem.field));
  if (override) {
    const inside = under(override.key) ? problem.field.slice(override.key.length) : '';
    return { field: `${override.field}${inside}`, message: problem.message };
  }
  const axis = spec.axes.find((a) => a.key !== VARIANT_AXIS && under(a.key));
  if (axis)
    return { field: axis.field, message: `${problem.message} (value ${JSON.stringify(values[axis.key])})` };
  const fixed = spec.set.find((s) => under(s.key));
  if (fixed) return { field: fixed.field, message: problem.message };
  const cell = Object.entries(values)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return { field: problem.field, message: `${problem.message} (in ${runId}: ${cell})` };
}

/** The manifest of a plan (`created_at` now unless kept from an existing one). */
export function manifestOf(plan: SweepPlan, createdAt = new Date().toISOString()): SweepManifest {
  return {
    format: SWEEP_FORMAT,
    name: plan.spec.name,
    created_at: createdAt,
    spec: plan.spec.record,
    axes: plan.spec.axes.map((a) => ({ key: a.key, values: a.values })),
    ...(plan.spec.variants.length > 0 ? { variants: variantsRecord(plan.spec.variants) } : {}),
    cells: plan.cells.map((c) => ({ run_id: c.runId, values: c.values })),
  };
}
