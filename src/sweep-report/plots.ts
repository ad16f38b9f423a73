/**
 * Which charts a sweep report draws, and their data: a phase diagram over two axes (always, when the
 * grid has a non-seed axis), the accuracy curves of each variant (when the sweep has variants), Δt
 * against 1/γ (when `train.weight_decay` is an axis), t_grok against the training fraction (when
 * `task.train_fraction` is an axis). A chart that cannot be drawn is listed with the reason, so
 * report.md can say why it is missing.
 */
import type { TopLevelSpec } from 'vega-lite';
import { formatStep } from '../measures/index.ts';
import {
  type FractionPoint,
  type GapPoint,
  gapVersusDecaySpec,
  logTicks,
  type PhaseCell,
  type PhaseDiagramData,
  phaseDiagramSpec,
  textColorOn,
  tGrokVersusFractionSpec,
  type VariantCurveRow,
  variantCurvesSpec,
} from '../plots/sweep-specs.ts';
import type { AxisValue } from '../sweep/manifest.ts';
import { VARIANT_AXIS } from '../sweep/variants.ts';
import { UsageError } from '../util/errors.ts';
import {
  DELAYED_VERDICTS,
  fmt,
  groupLabel,
  inverseDecayFit,
  isDone,
  TRAIN_FRACTION_AXIS,
  WEIGHT_DECAY_AXIS,
} from './claims.ts';
import { isLogSpaced } from './fit.ts';
import { type Gathered, SEED_AXIS, type SweepAxis, type SweepCellRow, type SweepRunRow } from './gather.ts';
import { FAST_TEST_ACC } from './levers.ts';
import { luPlot } from './lu-plot.ts';

export const PHASE_METRICS = ['t_grok', 'test_acc', 'gap'] as const;
export type PhaseMetric = (typeof PHASE_METRICS)[number];

export interface PhaseChoice {
  x: string;
  /** null when the grid has a single non-seed axis: the diagram is one row. */
  y: string | null;
  metric: PhaseMetric;
}

export interface PlannedPlot {
  /** File name without extension, e.g. "phase-t_grok". */
  stem: string;
  /** What it shows, one line for report.md. */
  description: string;
  spec: TopLevelSpec;
}

export interface SkippedPlot {
  plot: string;
  reason: string;
}

export interface PlotPlan {
  plots: PlannedPlot[];
  skipped: SkippedPlot[];
}

/** Resolves --x/--y/--metric against the sweep's axes; UsageError naming the allowed values. */
export function choosePhaseAxes(
  axes: SweepAxis[],
  options: { x?: string; y?: string; metric?: string },
  aliases: Record<string, string> = {},
): PhaseChoice | null {
  const problems: Array<{ field: string; message: string }> = [];
  const candidates = axes.map((a) => a.key).filter((k) => k !== SEED_AXIS);
  const allowed = candidates.length > 0 ? candidates.join(', ') : 'none (the sweep only varies the seed)';
  const resolve = (field: string, raw: string | undefined): string | undefined => {
    if (raw === undefined) return undefined;
    const key = aliases[raw] ?? raw;
    if (!candidates.includes(key)) {
      problems.push({
        field,
        message: `"${raw}" is not an axis of the sweep${key === SEED_AXIS ? ' to draw (seeds are aggregated)' : ''}; axes: ${allowed}`,
      });
      return undefined;
    }
    return key;
  };
  const metric = options.metric ?? 't_grok';
  if (!(PHASE_METRICS as readonly string[]).includes(metric))
    problems.push({
      field: '--metric',
      message: `unknown metric "${metric}"; use ${PHASE_METRICS.join(', ')}`,
    });
  const x = resolve('--x', options.x);
  const y = resolve('--y', options.y);
  if (x !== undefined && x === y) problems.push({ field: '--y', message: `must differ from --x (${x})` });
  if (problems.length > 0) throw new UsageError(problems);
  if (candidates.length === 0) return null;
  const chosenX = x ?? candidates.find((k) => k !== y) ?? candidates[0];
  const chosenY = y ?? candidates.find((k) => k !== chosenX) ?? null;
  return { x: chosenX, y: chosenY, metric: metric as PhaseMetric };
}

/** An axis value as written on a chart: numbers with up to 4 significant digits. */
export function formatAxisValue(v: AxisValue | undefined): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
  return String(v);
}

/** The axis's values in drawing order: numbers ascending, booleans false then true, text as listed. */
function orderedValues(axis: SweepAxis): AxisValue[] {
  const values = [...axis.values];
  if (values.every((v) => typeof v === 'number')) return (values as number[]).sort((p, q) => p - q);
  if (values.every((v) => typeof v === 'boolean')) return values.sort((p, q) => Number(p) - Number(q));
  return values;
}

/** "train.weight_decay (0, then log-spaced)" etc.: how the values are spaced, since cells are evenly spaced. */
export function axisTitle(axis: SweepAxis): string {
  const nums = axis.values.filter((v): v is number => typeof v === 'number');
  if (nums.length !== axis.values.length) return axis.key;
  const positive = nums.filter((v) => v > 0);
  if (isLogSpaced(nums)) return `${axis.key} (log-spaced)`;
  if (positive.length === nums.length - 1 && isLogSpaced(positive)) return `${axis.key} (0, then log-spaced)`;
  return axis.key;
}

interface MetricSpec {
  title: string;
  legend: string;
  format: string;
  value(c: SweepCellRow): number | null;
  label(v: number): string;
  /** Text of a measured cell with no value. */
  none(c: SweepCellRow): string;
}

const METRICS: Record<PhaseMetric, MetricSpec> = {
  t_grok: {
    title: 'median t_grok (first step with test accuracy ≥ threshold)',
    legend: 't_grok (steps)',
    format: ',d',
    value: (c) => c.median_t_grok_crossing,
    label: (v) => formatStep(v),
    none: (c) => (c.generalized === 0 ? 'no grok' : 'no median'),
  },
  gap: {
    title: 'median delay Δt = t_grok − t_mem',
    legend: 'Δt (steps)',
    format: ',d',
    value: (c) => c.median_gap_crossing,
    label: (v) => formatStep(v),
    none: (c) => (c.generalized === 0 ? 'no grok' : 'no median'),
  },
  test_acc: {
    title: 'mean final test accuracy',
    legend: 'test accuracy',
    format: '.2f',
    value: (c) => c.mean_final_test_acc,
    label: (v) => v.toFixed(2),
    none: () => 'no value',
  },
};

function phaseDiagram(name: string, g: Gathered, choice: PhaseChoice): PlannedPlot {
  const axisOf = (key: string) => g.axes.find((a) => a.key === key) as SweepAxis;
  const xAxis = axisOf(choice.x);
  const yAxis = choice.y === null ? null : axisOf(choice.y);
  const rest = g.axes.map((a) => a.key).filter((k) => k !== SEED_AXIS && k !== choice.x && k !== choice.y);
  const metric = METRICS[choice.metric];
  const values = g.cells.map(metric.value).filter((v): v is number => v !== null);
  const log = choice.metric !== 'test_acc' && values.length > 0 && values.every((v) => v > 0);
  const domain = colorDomain(values, choice.metric, log);
  const scale = log ? ('log' as const) : ('linear' as const);
  const anyPending = g.cells.some((c) => c.pending > 0 && c.measured > 0);
  const cells: PhaseCell[] = g.cells.map((c) => {
    const v = metric.value(c);
    const base = {
      x: formatAxisValue(c.values[choice.x]),
      y: choice.y === null ? '' : formatAxisValue(c.values[choice.y]),
      panel: groupLabel(c.values, rest),
    };
    const mark = c.pending > 0 ? ' *' : '';
    const detail = `${c.grokked}/${c.measured} grokked${mark}`;
    if (c.measured === 0) {
      const label =
        c.pending > 0 ? (c.pending === c.runs ? 'not run' : 'pending') : c.broken > 0 ? 'broken' : 'no data';
      return {
        ...base,
        kind: 'empty',
        value: null,
        label,
        detail: `${c.runs} run${c.runs === 1 ? '' : 's'}`,
        text_color: '#444444',
      };
    }
    if (v === null)
      return { ...base, kind: 'none', value: null, label: metric.none(c), detail, text_color: '#1a1a1a' };
    return {
      ...base,
      kind: 'value',
      value: v,
      label: metric.label(v),
      detail,
      text_color: textColorOn(v, scale, domain),
    };
  });
  // Panels in the order of the further axes' values (the first axis slowest), as the grid is laid out.
  let combos: Array<Record<string, AxisValue>> = [{}];
  for (const key of rest)
    combos = combos.flatMap((c) => orderedValues(axisOf(key)).map((v) => ({ ...c, [key]: v })));
  const present = new Set(cells.map((c) => c.panel));
  const ordered = combos.map((c) => groupLabel(c, rest)).filter((p) => present.has(p));
  const panels = [...new Set([...ordered, ...present])];
  const seeds = g.axes.find((a) => a.key === SEED_AXIS)?.values.length ?? 1;
  const data: PhaseDiagramData = {
    title: `Sweep ${name}: ${metric.title}`,
    subtitle: [
      `${seeds > 1 ? `each cell: ${seeds} seeds; ` : ''}${choice.metric === 'test_acc' ? 'mean over the runs of the cell' : `median over the runs of the cell, a run that never reached test accuracy ${g.thresholds.grok} counting as later than all`}`,
      `${choice.metric === 'test_acc' ? '' : 'grey, hatched: fewer than half the runs reached it within their budget; '}second line: runs with verdict "grokked" / runs measured${anyPending ? '; * runs not finished yet' : ''}`,
    ],
    x: { title: axisTitle(xAxis), domain: orderedValues(xAxis).map(formatAxisValue) },
    y: yAxis
      ? { title: axisTitle(yAxis), domain: orderedValues(yAxis).map(formatAxisValue) }
      : { title: '', domain: [''] },
    panels,
    panelTitle: rest.length > 0 ? rest.join(', ') : null,
    color: {
      title: `${metric.legend}${log ? ' (log scale)' : ''}`,
      scale,
      domain,
      format: metric.format,
      values: log ? logTicks(domain[0], domain[1]) : undefined,
    },
    cells,
  };
  return {
    stem: `phase-${choice.metric}`,
    description: `phase diagram of the ${metric.title} over ${choice.x}${choice.y ? ` × ${choice.y}` : ''}${rest.length > 0 ? `, one panel per ${rest.join(', ')}` : ''}`,
    spec: phaseDiagramSpec(data),
  };
}

function colorDomain(values: number[], metric: PhaseMetric, log: boolean): [number, number] {
  if (metric === 'test_acc') return [0, 1];
  if (values.length === 0) return [1, 10];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo < hi) return [lo, hi];
  return log ? [lo / 2, hi * 2] : [lo - 1, hi + 1];
}

function numeric(r: SweepRunRow, key: string): number | null {
  const v = r.values[key];
  return typeof v === 'number' ? v : null;
}

function otherKeys(axes: SweepAxis[], except: string): string[] {
  return axes.map((a) => a.key).filter((k) => k !== SEED_AXIS && k !== except);
}

/**
 * How runs are grouped in the line charts (by the non-seed axes other than the one on x) and how a
 * group is named: by its value alone when one axis is left (the legend title names the axis).
 */
function grouping(keys: string[]) {
  return {
    title: keys.join(', '),
    of: (r: { values: Record<string, AxisValue> }): string =>
      keys.length === 0
        ? 'all runs'
        : keys.length === 1
          ? formatAxisValue(r.values[keys[0]])
          : groupLabel(r.values, keys),
    /** The group in a sentence. */
    describe: (label: string): string => (keys.length === 1 ? `${keys[0]} = ${label}` : label),
  };
}

function budgetsOf(rows: SweepRunRow[]): number[] {
  return [...new Set(rows.map((r) => r.steps_budget).filter((b): b is number => b !== null))].sort(
    (p, q) => p - q,
  );
}

function gapVersusDecay(name: string, g: Gathered): PlannedPlot | SkippedPlot {
  const plot = 'Δt versus 1/γ';
  const axis = g.axes.find((a) => a.key === WEIGHT_DECAY_AXIS);
  if (!axis) return { plot, reason: `the sweep has no ${WEIGHT_DECAY_AXIS} axis` };
  if (!axis.values.every((v) => typeof v === 'number'))
    return { plot, reason: `${WEIGHT_DECAY_AXIS} has values that are not numbers` };
  const keys = otherKeys(g.axes, WEIGHT_DECAY_AXIS);
  const groupOf = grouping(keys);
  const done = g.rows.filter(isDone);
  const isPoint = (r: SweepRunRow) =>
    DELAYED_VERDICTS.has(r.verdict ?? '') &&
    (numeric(r, WEIGHT_DECAY_AXIS) ?? 0) > 0 &&
    r.gap_crossing !== null;
  const usable = done.filter(isPoint);
  if (usable.length === 0)
    return {
      plot,
      reason: 'no finished run with γ > 0 generalized after memorizing: there is no delay to plot',
    };
  const groups = [...new Set(usable.map(groupOf.of))];
  const points: GapPoint[] = usable.map((r) => {
    const gamma = numeric(r, WEIGHT_DECAY_AXIS) as number;
    return {
      inv_gamma: 1 / gamma,
      gap: r.gap_crossing as number,
      gamma,
      group: groupOf.of(r),
      run: r.run_id,
    };
  });
  const maxX = Math.max(...points.map((p) => p.inv_gamma)) * 1.05;
  const lines: Array<{ inv_gamma: number; gap: number; group: string }> = [];
  const fitText: string[] = [];
  for (const group of groups) {
    const fit = inverseDecayFit(done.filter((r) => groupOf.of(r) === group));
    if (fit.a === null || fit.b === null) continue;
    for (const xv of [0, maxX]) lines.push({ inv_gamma: xv, gap: fit.a * xv + fit.b, group });
    const b = fit.b;
    fitText.push(
      `${keys.length > 0 ? `${groupOf.describe(group)}: ` : ''}fit Δt = ${fmt(fit.a)}/γ ${b < 0 ? '−' : '+'} ${fmt(Math.abs(b))}, R² ${fmt(fit.r2)} (${fit.points} runs, ${fit.gammas.length} values of γ)`,
    );
  }
  const notes: string[] = [];
  const zero = done.filter((r) => numeric(r, WEIGHT_DECAY_AXIS) === 0);
  if (zero.length > 0) {
    const grokked = zero.filter((r) => r.verdict === 'grokked').length;
    const budgets = budgetsOf(zero);
    notes.push(
      grokked === 0
        ? `γ = 0: no grok within budget (${zero.length} runs${budgets.length === 1 ? `, ${budgets[0]} steps` : ''}); 1/γ = ∞ is not drawn`
        : `γ = 0: ${grokked} of ${zero.length} runs grokked (1/γ = ∞, not drawn)`,
    );
  }
  const absent = [...new Set(done.map((r) => numeric(r, WEIGHT_DECAY_AXIS)))]
    .filter(
      (gv): gv is number =>
        gv !== null && gv > 0 && !usable.some((r) => numeric(r, WEIGHT_DECAY_AXIS) === gv),
    )
    .sort((p, q) => p - q);
  if (absent.length > 0) notes.push(`not drawn, no run grokked: γ = ${absent.map(fmt).join(', ')}`);
  const gammas = [...new Set(points.map((p) => p.gamma))].map((gv) => ({
    inv_gamma: 1 / gv,
    label: `γ ${fmt(gv)}`,
  }));
  return {
    stem: 'gap-vs-inverse-decay',
    description:
      'Δt = t_grok − t_mem of each run that generalized after memorizing (grokked or above-chance-plateau) against 1/γ, with the least-squares fit Δt = a/γ + b',
    spec: gapVersusDecaySpec({
      title: `Sweep ${name}: delay Δt against 1/γ`,
      subtitle: [
        ...(fitText.length > 0 ? fitText.slice(0, 4) : ['fewer than 2 values of γ grokked: no fit']),
        ...notes,
      ],
      points,
      lines,
      gammas,
      groups,
      groupTitle: groupOf.title,
    }),
  };
}

function tGrokVersusFraction(name: string, g: Gathered): PlannedPlot | SkippedPlot {
  const plot = 't_grok versus training fraction';
  const axis = g.axes.find((a) => a.key === TRAIN_FRACTION_AXIS);
  if (!axis) return { plot, reason: `the sweep has no ${TRAIN_FRACTION_AXIS} axis` };
  if (!axis.values.every((v) => typeof v === 'number'))
    return { plot, reason: `${TRAIN_FRACTION_AXIS} has values that are not numbers` };
  const keys = otherKeys(g.axes, TRAIN_FRACTION_AXIS);
  const groupOf = grouping(keys);
  const fractions = [...new Set(axis.values as number[])].sort((p, q) => p - q);
  const measured = g.rows.filter((r) => r.verdict !== null && r.verdict !== 'insufficient-data');
  const groups = [...new Set(g.rows.map(groupOf.of))];
  // Shift each group a little along x so that groups at the same fraction stay visible.
  const minStep =
    fractions.length > 1 ? Math.min(...fractions.slice(1).map((f, i) => f - fractions[i])) : 0.1;
  const shift = (group: string) => {
    const i = groups.indexOf(group);
    return groups.length > 1 ? ((i - (groups.length - 1) / 2) * 0.3 * minStep) / groups.length : 0;
  };
  const points: FractionPoint[] = measured
    .filter((r) => r.t_grok_crossing !== null)
    .map((r) => {
      const f = numeric(r, TRAIN_FRACTION_AXIS) as number;
      const group = groupOf.of(r);
      const kind = r.verdict === 'grokked' ? 'grokked' : r.verdict === 'comprehension' ? 'no delay' : 'other';
      return {
        fraction: f,
        xpos: f + shift(group),
        t_grok: r.t_grok_crossing as number,
        group,
        run: r.run_id,
        kind,
      };
    });
  const medians = g.cells
    .filter((c) => c.median_t_grok_crossing !== null && typeof c.values[TRAIN_FRACTION_AXIS] === 'number')
    .map((c) => {
      const f = c.values[TRAIN_FRACTION_AXIS] as number;
      const group = groupOf.of(c);
      return { fraction: f, xpos: f + shift(group), t_grok: c.median_t_grok_crossing as number, group };
    });
  const missedCounts = new Map<string, { fraction: number; group: string; count: number }>();
  for (const r of g.rows.filter((row) => isDone(row) && row.t_grok_crossing === null)) {
    const f = numeric(r, TRAIN_FRACTION_AXIS) as number;
    const group = groupOf.of(r);
    const k = `${group}\u0000${f}`;
    const entry = missedCounts.get(k) ?? { fraction: f, group, count: 0 };
    entry.count++;
    missedCounts.set(k, entry);
  }
  const missed = [...missedCounts.values()];
  const budgets = budgetsOf(g.rows);
  const tgroks = points.map((p) => p.t_grok);
  const highest = Math.max(1, ...tgroks, ...budgets);
  const top = highest * 1.8;
  const notFinished = g.rows.filter((r) => !isDone(r) && r.t_grok_crossing === null).length;
  return {
    stem: 't-grok-vs-fraction',
    description:
      't_grok of each run and the median per setting against the training fraction; runs that did not generalize marked at the top',
    spec: tGrokVersusFractionSpec({
      title: `Sweep ${name}: t_grok against the training fraction`,
      subtitle: [
        `t_grok: first evaluation with test accuracy ≥ ${g.thresholds.grok}; diamonds and lines: median over seeds (only where at least half the runs got there)`,
        `▲ in the grey band: finished runs that never reached it, one row per ${groups.length > 1 ? groupOf.title : 'setting'}${notFinished > 0 ? `; ${notFinished} runs not finished are not drawn` : ''}`,
      ],
      points,
      medians,
      missed,
      fractions,
      top,
      budget: budgets.length === 1 ? budgets[0] : null,
      yMin: tgroks.length > 0 ? Math.min(...tgroks) / 1.5 : 1,
      groups,
      groupTitle: groupOf.title,
    }),
  };
}

/**
 * With a variant axis: the accuracy curves of each variant's first-seed run, one panel per setting of
 * the other axes. Without one, no chart and no "not drawn" line (other sweeps' reports stay as they were).
 */
function variantCurves(name: string, g: Gathered): PlannedPlot | SkippedPlot | null {
  const axis = g.axes.find((a) => a.key === VARIANT_AXIS);
  if (!axis) return null;
  const plot = 'accuracy curves per variant';
  const curves = (g.curves ?? []).filter((c) => c.points.length > 0);
  if (curves.length === 0) return { plot, reason: 'no run of the first seed has an evaluation yet' };
  const rest = otherKeys(g.axes, VARIANT_AXIS);
  const panelOf = (values: Record<string, AxisValue>) => groupLabel(values, rest);
  const rows: VariantCurveRow[] = [];
  for (const c of curves) {
    const variant = String(c.values[VARIANT_AXIS]);
    const panel = panelOf(c.values);
    for (const p of c.points)
      for (const split of ['test', 'train'] as const) {
        const value = p[`${split}_acc`];
        if (value !== null) rows.push({ kind: 'curve', variant, panel, split, step: p.step, value });
      }
    const reached = g.rows.find((r) => r.run_id === c.run_id)?.t_test_acc_95 ?? null;
    if (reached !== null)
      rows.push({ kind: 'reached', variant, panel, split: 'test', step: reached, value: FAST_TEST_ACC });
  }
  // Panels in grid order (the manifest's cells are in it), the target line in each.
  const panels = [...new Set(curves.map((c) => panelOf(c.values)))];
  for (const panel of panels)
    rows.push({ kind: 'target', variant: '', panel, split: 'test', step: 0, value: FAST_TEST_ACC });
  const variants = axis.values
    .map(String)
    .filter((v) => curves.some((c) => String(c.values[VARIANT_AXIS]) === v));
  const seed = g.axes.find((a) => a.key === SEED_AXIS)?.values[0];
  const unfinished = curves.filter(
    (c) => g.rows.find((r) => r.run_id === c.run_id)?.state !== 'finished',
  ).length;
  return {
    stem: 'variant-accuracy',
    description: `test (solid) and train (dashed) accuracy against step of each variant's ${seed === undefined ? 'run' : 'first-seed run'}, with the first step at test accuracy ${FAST_TEST_ACC}`,
    spec: variantCurvesSpec({
      title: `Sweep ${name}: accuracy of each variant`,
      subtitle: [
        `${seed === undefined ? 'one run per variant' : `seed ${formatAxisValue(seed)} of each variant`}; test accuracy solid, train dashed; dots: first evaluation with test accuracy ≥ ${FAST_TEST_ACC} (dotted line)${unfinished > 0 ? `; ${plural(unfinished)} not finished yet` : ''}`,
      ],
      rows,
      variants,
      panels,
      panelTitle: rest.length > 0 ? rest.join(', ') : null,
      maxStep: Math.max(1, ...curves.flatMap((c) => c.points.map((p) => p.step))),
      target: FAST_TEST_ACC,
    }),
  };
}

const plural = (n: number) => `${n} run${n === 1 ? '' : 's'}`;

function isSkipped(p: PlannedPlot | SkippedPlot): p is SkippedPlot {
  return 'reason' in p;
}

/** The charts of a sweep report, and those that cannot be drawn with why. */
export function planPlots(name: string, g: Gathered, choice: PhaseChoice | null): PlotPlan {
  const plots: PlannedPlot[] = [];
  const skipped: SkippedPlot[] = [];
  if (choice) plots.push(phaseDiagram(name, g, choice));
  else skipped.push({ plot: 'phase diagram', reason: 'the sweep varies nothing but the seed' });
  const charts = [
    variantCurves(name, g),
    gapVersusDecay(name, g),
    tGrokVersusFraction(name, g),
    luPlot(name, g),
  ];
  for (const p of charts) {
    if (p === null) continue;
    if (isSkipped(p)) skipped.push(p);
    else plots.push(p);
  }
  return { plots, skipped };
}
