/**
 * One table row per run of a sweep, and one row per cell (aggregated over seeds), computed with
 * DuckDB over the run folders:
 *
 *   runs     the manifest's cells with each run's state, budget and measures (src/measures'
 *            detectRun, computed here in TypeScript and appended to an in-memory table)
 *   metrics  every run's metrics.jsonl, read by DuckDB's JSON reader in one scan
 *   rows     runs ⟕ the last evaluation of each run (final accuracies, losses, norm, steps) and
 *            the first steps where test accuracy reached 0.95 and softmax collapse 0.5
 *   cells    rows grouped by every axis but the seed: medians, fractions and means over seeds
 *
 * Runs not started yet, still running, interrupted or unreadable stay in the table with that
 * state; nothing is dropped. A torn last line of metrics.jsonl (a crash, or a write in progress)
 * is skipped like readMetrics skips it. Each row also carries the run's training levers, read from
 * its config.json (levers.ts), and a sweep with a variant axis gets the accuracy curves of each
 * variant's first-seed run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { readRunConfig } from '../experiment/open.ts';
import { type DetectResult, detectRun, type VerdictLabel } from '../measures/index.ts';
import { isInterrupted, RUN_FILES, readStatusFile } from '../runs/index.ts';
import type { AxisValue, SweepManifest } from '../sweep/manifest.ts';
import { VARIANT_AXIS } from '../sweep/variants.ts';
import { COLLAPSE_LEVEL, FAST_TEST_ACC, leversOf, type RunLevers } from './levers.ts';

/** The seed axis's key in a manifest: aggregates are taken over it. */
export const SEED_AXIS = 'seed';

/** A run's state in a report: the run folder's, or why there is none to read. */
export type SweepRunState =
  | 'not-started'
  | 'running'
  | 'interrupted'
  | 'finished'
  | 'stopped'
  | 'failed'
  | 'broken';

export interface SweepAxis {
  key: string;
  values: AxisValue[];
}

/** One run of the sweep. Steps are training steps; accuracies in [0, 1]; null where unknown. */
export interface SweepRunRow {
  run_id: string;
  /** Position of the run in the manifest's `cells`. */
  cell: number;
  /** The run's value on every axis (seed included), keyed by axis key. */
  values: Record<string, AxisValue>;
  state: SweepRunState;
  /** train.steps of the run's config: its budget. */
  steps_budget: number | null;
  /** Steps trained so far (status.json; the last evaluation when there is no status). */
  steps_run: number | null;
  evaluations: number;
  last_eval_step: number | null;
  t_mem: number | null;
  t_grok_onset: number | null;
  t_grok_crossing: number | null;
  gap_onset: number | null;
  gap_crossing: number | null;
  ratio_onset: number | null;
  ratio_crossing: number | null;
  final_train_acc: number | null;
  final_test_acc: number | null;
  final_train_loss: number | null;
  final_test_loss: number | null;
  final_weight_norm: number | null;
  max_train_acc: number | null;
  max_test_acc: number | null;
  /** First evaluation with test accuracy ≥ FAST_TEST_ACC (0.95), unconfirmed: Grokfast's "steps to 95%". */
  t_test_acc_95: number | null;
  /** First evaluation with softmax_collapse ≥ COLLAPSE_LEVEL (0.5). */
  t_collapse: number | null;
  /** softmax_collapse and nlm_cosine at the last evaluation (null when the log has none). */
  final_collapse: number | null;
  final_nlm_cosine: number | null;
  /** Wall-clock seconds of training at the last evaluation. */
  wall_s: number | null;
  /** The run's levers, from its config.json; null (all of them) when it could not be read. */
  weight_decay: number | null;
  loss: string | null;
  loss_precision: string | null;
  grad_filter: string | null;
  orthogonal_grad: boolean | null;
  fixed_norm: number | null;
  task_key: string | null;
  alike_key: string | null;
  verdict: VerdictLabel | null;
  verdict_reason: string | null;
  /** Why a run is 'broken' (or its measures could not be computed). */
  error: string | null;
}

/** One cell of the grid: the runs that differ only by seed. */
export interface SweepCellRow {
  /** Values of the non-seed axes. */
  values: Record<string, AxisValue>;
  runs: number;
  finished: number;
  /** Runs not finished yet: not started, running, interrupted or stopped. */
  pending: number;
  broken: number;
  /** Runs with measures (a metrics log with at least 3 evaluations): the denominators below. */
  measured: number;
  memorized: number;
  /** Runs whose test accuracy reached the grok threshold (any verdict). */
  generalized: number;
  /** Runs with verdict `grokked`. */
  grokked: number;
  frac_grokked: number | null;
  frac_generalized: number | null;
  median_t_mem: number | null;
  /** Medians over measured runs where a run that never reached the threshold counts as later than any
   *  that did (right-censored): null when at least half of them never did. */
  median_t_grok_crossing: number | null;
  median_t_grok_onset: number | null;
  median_gap_crossing: number | null;
  median_ratio_crossing: number | null;
  /** Censored median of the first step with test accuracy ≥ 0.95. */
  median_t_test_acc_95: number | null;
  mean_final_test_acc: number | null;
  mean_final_train_acc: number | null;
  /** Most common verdict (ties: alphabetical). */
  verdict: VerdictLabel | null;
}

export interface GatherOptions {
  /** Passed to detectRun (thresholds, baseline). */
  detect?: Parameters<typeof detectRun>[1];
}

/** Train and test accuracy of one run at each evaluation, for the variant chart. */
export interface RunCurve {
  run_id: string;
  values: Record<string, AxisValue>;
  points: Array<{ step: number; train_acc: number | null; test_acc: number | null }>;
}

export interface Gathered {
  axes: SweepAxis[];
  rows: SweepRunRow[];
  cells: SweepCellRow[];
  thresholds: { mem: number; grok: number };
  /** With a variant axis: the first-seed run of every variant (and setting of the other axes). */
  curves?: RunCurve[];
}

/** What TypeScript knows about a run before DuckDB reads its metrics. */
interface RunInfo {
  cell: number;
  run_id: string;
  state: SweepRunState;
  metricsPath: string | null;
  stepsBudget: number | null;
  statusStep: number | null;
  detect: DetectResult | null;
  levers: RunLevers | null;
  error: string | null;
}

/** Reads every run of the manifest and builds the rows and cells. */
export async function gatherSweep(
  runsDir: string,
  manifest: SweepManifest,
  options: GatherOptions = {},
): Promise<Gathered> {
  const infos = manifest.cells.map((cell, i) => inspectRun(runsDir, cell.run_id, i, options));
  const thresholds = infos.find((r) => r.detect)?.detect?.thresholds ?? defaultThresholds(options);
  return withDuckDB(async (con) => {
    const axes = manifest.axes;
    await createRunsTable(con, axes, manifest, infos);
    await createMetricsTable(con, infos);
    await createRowsTable(con, axes);
    const rows = await selectRows(con, axes, manifest, infos);
    const cells = await aggregateCells(con, axes, (cell) => manifest.cells[cell].values);
    const curves = axes.some((a) => a.key === VARIANT_AXIS)
      ? await selectCurves(con, curveRuns(axes, manifest, infos))
      : undefined;
    return { axes, rows, cells, thresholds, ...(curves ? { curves } : {}) };
  });
}

function defaultThresholds(options: GatherOptions): { mem: number; grok: number } {
  return { mem: options.detect?.memThreshold ?? 0.99, grok: options.detect?.grokThreshold ?? 0.9 };
}

function inspectRun(runsDir: string, runId: string, cell: number, options: GatherOptions): RunInfo {
  const dir = path.join(runsDir, runId);
  const info: RunInfo = {
    cell,
    run_id: runId,
    state: 'not-started',
    metricsPath: null,
    stepsBudget: null,
    statusStep: null,
    detect: null,
    levers: null,
    error: null,
  };
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return info;
  const problems: string[] = [];
  try {
    const status = readStatusFile(path.join(dir, RUN_FILES.status));
    info.state = isInterrupted(status) ? 'interrupted' : status.state;
    info.statusStep = status.step;
  } catch (err) {
    problems.push(firstLine(err));
  }
  try {
    const config = readRunConfig(dir);
    info.stepsBudget = config.train.steps;
    info.levers = leversOf(config);
  } catch (err) {
    problems.push(firstLine(err));
  }
  const metricsPath = path.resolve(dir, RUN_FILES.metrics);
  if (fs.existsSync(metricsPath)) info.metricsPath = metricsPath;
  try {
    info.detect = detectRun(dir, options.detect);
  } catch (err) {
    problems.push(firstLine(err));
  }
  if (problems.length > 0) {
    info.error = problems.join('; ');
    // A folder whose status or measures cannot be read is 'broken'; whatever could be read is kept.
    if (info.detect === null || info.statusStep === null) info.state = 'broken';
  }
  return info;
}

function firstLine(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0];
}

async function withDuckDB<T>(work: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    return await work(con);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

type ColumnType = 'DOUBLE' | 'BOOLEAN' | 'VARCHAR';

/** The SQL type of an axis: numbers and booleans keep their type (for sorting); anything mixed is text. */
function axisType(values: readonly AxisValue[]): ColumnType {
  if (values.every((v) => typeof v === 'number')) return 'DOUBLE';
  if (values.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  return 'VARCHAR';
}

/** Axis keys contain dots; in SQL each axis is a plain column ax0, ax1, ... in manifest order. */
const axisColumn = (i: number) => `ax${i}`;

function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

async function createRunsTable(
  con: DuckDBConnection,
  axes: SweepAxis[],
  manifest: SweepManifest,
  infos: RunInfo[],
): Promise<void> {
  const types = axes.map((a) => axisType(a.values));
  const axisDefs = axes.map((_, i) => `${axisColumn(i)} ${types[i]}`);
  await con.run(`CREATE TABLE runs (
    cell INTEGER, run_id VARCHAR, ${axisDefs.map((d) => `${d}, `).join('')}
    state VARCHAR, metrics_path VARCHAR, steps_budget DOUBLE, status_step DOUBLE,
    t_mem DOUBLE, t_grok_onset DOUBLE, t_grok_crossing DOUBLE, max_train_acc DOUBLE, max_test_acc DOUBLE,
    measured_last_step DOUBLE, verdict VARCHAR, verdict_reason VARCHAR, error VARCHAR)`);
  const appender = await con.createAppender('runs');
  const maybe = (x: number | null | undefined) =>
    x === null || x === undefined ? appender.appendNull() : appender.appendDouble(x);
  const text = (x: string | null | undefined) =>
    x === null || x === undefined ? appender.appendNull() : appender.appendVarchar(x);
  for (const info of infos) {
    const values = manifest.cells[info.cell].values;
    appender.appendInteger(info.cell);
    appender.appendVarchar(info.run_id);
    for (const [i, axis] of axes.entries()) appendAxisValue(appender, types[i], values[axis.key]);
    const m = info.detect?.measures;
    text(info.state);
    text(info.metricsPath);
    maybe(info.stepsBudget);
    maybe(info.statusStep);
    maybe(m?.t_mem);
    maybe(m?.t_grok_onset);
    maybe(m?.t_grok_crossing);
    maybe(m?.max_train_acc);
    maybe(m?.max_test_acc);
    maybe(m?.last_step);
    text(info.detect?.verdict.label);
    text(info.detect?.verdict.reason);
    text(info.error);
    appender.endRow();
  }
  appender.closeSync();
}

function appendAxisValue(appender: DuckDBAppender, type: ColumnType, v: AxisValue | undefined): void {
  if (v === undefined) appender.appendNull();
  else if (type === 'DOUBLE') appender.appendDouble(v as number);
  else if (type === 'BOOLEAN') appender.appendBoolean(v as boolean);
  else appender.appendVarchar(typeof v === 'string' ? v : JSON.stringify(v));
}

/** The metric fields read; the rest of a record (per-tensor norms, lr) is not needed here. */
const METRIC_COLUMNS = [
  'step',
  'train_acc',
  'test_acc',
  'train_loss',
  'test_loss',
  'weight_norm',
  'wall_s',
  'softmax_collapse',
  'nlm_cosine',
];

/**
 * All metrics logs in one read_ndjson scan. `ignore_errors` turns a line that is not valid JSON — in
 * practice only a torn last line — into a row of NULLs, dropped by `step IS NOT NULL`. (A bad line in
 * the middle of a file is real corruption; detectRun reports it and the run's error says so.)
 */
async function createMetricsTable(con: DuckDBConnection, infos: RunInfo[]): Promise<void> {
  const files = infos
    .map((r) => r.metricsPath)
    .filter((p): p is string => p !== null && fs.statSync(p).size > 0);
  const typed = METRIC_COLUMNS.map((c) => `${c} DOUBLE`).join(', ');
  if (files.length === 0) {
    await con.run(`CREATE TABLE metrics (filename VARCHAR, ${typed})`);
    return;
  }
  const columns = `{${METRIC_COLUMNS.map((c) => `${c}: 'DOUBLE'`).join(', ')}}`;
  await con.run(`CREATE TABLE metrics AS
    SELECT filename, ${METRIC_COLUMNS.join(', ')}
    FROM read_ndjson([${files.map(quote).join(', ')}], filename = true, ignore_errors = true,
                     columns = ${columns})
    WHERE step IS NOT NULL`);
}

/**
 * rows: every run with its last evaluation. For a run still being written (running or interrupted),
 * evaluations after the last step detectRun saw are left out, so the finals and the measures describe
 * the same snapshot (this also drops a complete last record whose newline is missing, which
 * readMetrics treats as torn).
 */
async function createRowsTable(con: DuckDBConnection, axes: SweepAxis[]): Promise<void> {
  const axisList = axes.map((_, i) => `r.${axisColumn(i)}, `).join('');
  await con.run(`CREATE TABLE rows AS
    WITH finals AS (
      SELECT r.run_id,
        count(m.step)::INTEGER AS evaluations,
        max(m.step) AS last_eval_step,
        arg_max_null(m.train_acc, m.step) AS final_train_acc,
        arg_max_null(m.test_acc, m.step) AS final_test_acc,
        arg_max_null(m.train_loss, m.step) AS final_train_loss,
        arg_max_null(m.test_loss, m.step) AS final_test_loss,
        arg_max_null(m.weight_norm, m.step) AS final_weight_norm,
        arg_max_null(m.wall_s, m.step) AS wall_s,
        min(m.step) FILTER (WHERE m.test_acc >= ${FAST_TEST_ACC}) AS t_test_acc_95,
        min(m.step) FILTER (WHERE m.softmax_collapse >= ${COLLAPSE_LEVEL}) AS t_collapse,
        arg_max_null(m.softmax_collapse, m.step) AS final_collapse,
        arg_max_null(m.nlm_cosine, m.step) AS final_nlm_cosine
      FROM runs r JOIN metrics m ON m.filename = r.metrics_path
      WHERE r.state NOT IN ('running', 'interrupted') OR r.measured_last_step IS NULL
         OR m.step <= r.measured_last_step
      GROUP BY r.run_id
    )
    SELECT r.cell, r.run_id, ${axisList}r.state, r.steps_budget,
      coalesce(r.status_step, f.last_eval_step) AS steps_run,
      coalesce(f.evaluations, 0) AS evaluations, f.last_eval_step,
      r.t_mem, r.t_grok_onset, r.t_grok_crossing,
      r.t_grok_onset - r.t_mem AS gap_onset,
      r.t_grok_crossing - r.t_mem AS gap_crossing,
      CASE WHEN r.t_mem > 0 THEN r.t_grok_onset / r.t_mem END AS ratio_onset,
      CASE WHEN r.t_mem > 0 THEN r.t_grok_crossing / r.t_mem END AS ratio_crossing,
      f.final_train_acc, f.final_test_acc, f.final_train_loss, f.final_test_loss, f.final_weight_norm,
      r.max_train_acc, r.max_test_acc, f.t_test_acc_95, f.t_collapse, f.final_collapse,
      f.final_nlm_cosine, f.wall_s, r.verdict, r.verdict_reason, r.error
    FROM runs r LEFT JOIN finals f USING (run_id)
    ORDER BY r.cell`);
}

/** Points kept per decade of steps in a curve: plenty for a chart with a log step axis. */
const CURVE_POINTS_PER_DECADE = 100;

/** The runs the variant chart draws: in every cell of the grid but the seed, the first seed's run. */
function curveRuns(
  axes: SweepAxis[],
  manifest: SweepManifest,
  infos: readonly RunInfo[],
): Array<{ info: RunInfo; values: Record<string, AxisValue> }> {
  const firstSeed = axes.find((a) => a.key === SEED_AXIS)?.values[0];
  return infos
    .filter((info) => info.metricsPath !== null)
    .map((info) => ({ info, values: manifest.cells[info.cell].values }))
    .filter(({ values }) => firstSeed === undefined || values[SEED_AXIS] === firstSeed);
}

/**
 * Each run's train and test accuracy by step, thinned to at most CURVE_POINTS_PER_DECADE points per
 * decade (the first evaluation in each bucket of log10(step), plus step 0 and the last one).
 */
async function selectCurves(
  con: DuckDBConnection,
  runs: Array<{ info: RunInfo; values: Record<string, AxisValue> }>,
): Promise<RunCurve[]> {
  if (runs.length === 0) return [];
  const result = await con.runAndReadAll(
    `SELECT filename, step, train_acc, test_acc FROM metrics
     WHERE filename IN (${runs.map((r) => quote(r.info.metricsPath as string)).join(', ')})
     ORDER BY filename, step`,
  );
  const byFile = new Map<string, RunCurve['points']>();
  for (const r of result.getRowObjectsJS() as Js[]) {
    const file = r.filename as string;
    const list = byFile.get(file) ?? [];
    list.push({ step: r.step as number, train_acc: numOrNull(r.train_acc), test_acc: numOrNull(r.test_acc) });
    byFile.set(file, list);
  }
  const bucket = (step: number) =>
    step <= 0 ? Number.NEGATIVE_INFINITY : Math.floor(Math.log10(step) * CURVE_POINTS_PER_DECADE);
  return runs.map(({ info, values }) => {
    const all = byFile.get(info.metricsPath as string) ?? [];
    const points = all.filter(
      (p, i) => i === 0 || i === all.length - 1 || bucket(p.step) !== bucket(all[i - 1].step),
    );
    return { run_id: info.run_id, values, points };
  });
}

const NUMERIC_ROW_FIELDS = [
  'steps_budget',
  'steps_run',
  'last_eval_step',
  't_mem',
  't_grok_onset',
  't_grok_crossing',
  'gap_onset',
  'gap_crossing',
  'ratio_onset',
  'ratio_crossing',
  'final_train_acc',
  'final_test_acc',
  'final_train_loss',
  'final_test_loss',
  'final_weight_norm',
  'max_train_acc',
  'max_test_acc',
  't_test_acc_95',
  't_collapse',
  'final_collapse',
  'final_nlm_cosine',
  'wall_s',
] as const;

type Js = Record<string, unknown>;

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The lever fields of a row: a run whose config could not be read has null in each. */
function leverFields(levers: RunLevers | null): Pick<SweepRunRow, keyof RunLevers> {
  return {
    weight_decay: levers?.weight_decay ?? null,
    loss: levers?.loss ?? null,
    loss_precision: levers?.loss_precision ?? null,
    grad_filter: levers?.grad_filter ?? null,
    orthogonal_grad: levers?.orthogonal_grad ?? null,
    fixed_norm: levers?.fixed_norm ?? null,
    task_key: levers?.task_key ?? null,
    alike_key: levers?.alike_key ?? null,
  };
}

async function selectRows(
  con: DuckDBConnection,
  axes: SweepAxis[],
  manifest: SweepManifest,
  infos: readonly RunInfo[],
): Promise<SweepRunRow[]> {
  const result = await con.runAndReadAll('SELECT * FROM rows ORDER BY cell');
  return (result.getRowObjectsJS() as Js[]).map((r) => {
    const cell = r.cell as number;
    const values: Record<string, AxisValue> = {};
    // The manifest's own values (not the SQL column) so types survive exactly.
    for (const axis of axes) values[axis.key] = manifest.cells[cell].values[axis.key];
    const row = {
      run_id: r.run_id as string,
      cell,
      values,
      state: r.state as SweepRunState,
      evaluations: r.evaluations as number,
      verdict: strOrNull(r.verdict) as VerdictLabel | null,
      verdict_reason: strOrNull(r.verdict_reason),
      error: strOrNull(r.error),
      ...leverFields(infos[cell].levers),
    } as SweepRunRow;
    for (const f of NUMERIC_ROW_FIELDS) row[f] = numOrNull(r[f]);
    return row;
  });
}

/**
 * The per-cell aggregates over seeds, from the `rows` table. Censored medians: a measured run that
 * never reached the threshold enters as +∞, so the median is finite only when more than half the
 * runs reached it — the usual median of a survival time. `cellValues` gives the axis values of a
 * manifest cell (the SQL columns of mixed-type axes are text).
 */
async function aggregateCells(
  con: DuckDBConnection,
  axes: SweepAxis[],
  cellValues: (cell: number) => Record<string, AxisValue>,
): Promise<SweepCellRow[]> {
  const groupCols = axes.flatMap((a, i) => (a.key === SEED_AXIS ? [] : [axisColumn(i)]));
  // Numbers and booleans in ascending order; text (variant names, ops) in the order the spec gives it.
  const orderCols = axes.flatMap((a, i) => {
    if (a.key === SEED_AXIS) return [];
    if (axisType(a.values) !== 'VARCHAR') return [axisColumn(i)];
    const text = a.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    return [`CASE ${axisColumn(i)} ${text.map((v, k) => `WHEN ${quote(v)} THEN ${k}`).join(' ')} END`];
  });
  const groupBy = groupCols.length > 0 ? `GROUP BY ${groupCols.join(', ')}` : '';
  const orderBy = orderCols.length > 0 ? `ORDER BY ${orderCols.join(', ')}` : '';
  // Runs with too few evaluations to say anything (just started) are not counted as "never grokked".
  const measured = "verdict IS NOT NULL AND verdict <> 'insufficient-data'";
  // +∞ for "never", then NULL again when the median itself is +∞.
  const censoredMedian = (expr: string) => {
    const median = `quantile_cont(coalesce(${expr}, 'infinity'::DOUBLE), 0.5) FILTER (WHERE ${measured})`;
    return `CASE WHEN isinf(${median}) THEN NULL ELSE ${median} END`;
  };
  const sql = `
    SELECT
      min(cell)::INTEGER AS first_cell,
      count(*)::INTEGER AS runs,
      count(*) FILTER (WHERE state = 'finished')::INTEGER AS finished,
      count(*) FILTER (WHERE state IN ('not-started', 'running', 'interrupted', 'stopped'))::INTEGER AS pending,
      count(*) FILTER (WHERE state = 'broken')::INTEGER AS broken,
      count(*) FILTER (WHERE ${measured})::INTEGER AS measured,
      count(*) FILTER (WHERE ${measured} AND t_mem IS NOT NULL)::INTEGER AS memorized,
      count(*) FILTER (WHERE ${measured} AND t_grok_crossing IS NOT NULL)::INTEGER AS generalized,
      count(*) FILTER (WHERE verdict = 'grokked')::INTEGER AS grokked,
      median(t_mem) FILTER (WHERE ${measured}) AS median_t_mem,
      ${censoredMedian('t_grok_crossing')} AS median_t_grok_crossing,
      ${censoredMedian('CASE WHEN t_grok_crossing IS NOT NULL THEN coalesce(t_grok_onset, t_grok_crossing) END')} AS median_t_grok_onset,
      ${censoredMedian('gap_crossing')} AS median_gap_crossing,
      ${censoredMedian('ratio_crossing')} AS median_ratio_crossing,
      ${censoredMedian('t_test_acc_95')} AS median_t_test_acc_95,
      avg(final_test_acc) FILTER (WHERE ${measured}) AS mean_final_test_acc,
      avg(final_train_acc) FILTER (WHERE ${measured}) AS mean_final_train_acc,
      list(verdict ORDER BY verdict) FILTER (WHERE ${measured}) AS verdicts
    FROM rows ${groupBy} ${orderBy}`;
  const result = await con.runAndReadAll(sql);
  return (result.getRowObjectsJS() as Js[]).map((r) => {
    const all = cellValues(r.first_cell as number);
    const values = Object.fromEntries(
      axes.filter((a) => a.key !== SEED_AXIS).map((a) => [a.key, all[a.key]] as const),
    );
    const measuredRuns = r.measured as number;
    const ratio = (k: number) => (measuredRuns > 0 ? k / measuredRuns : null);
    return {
      values,
      runs: r.runs as number,
      finished: r.finished as number,
      pending: r.pending as number,
      broken: r.broken as number,
      measured: measuredRuns,
      memorized: r.memorized as number,
      generalized: r.generalized as number,
      grokked: r.grokked as number,
      frac_grokked: ratio(r.grokked as number),
      frac_generalized: ratio(r.generalized as number),
      median_t_mem: numOrNull(r.median_t_mem),
      median_t_grok_crossing: numOrNull(r.median_t_grok_crossing),
      median_t_grok_onset: numOrNull(r.median_t_grok_onset),
      median_gap_crossing: numOrNull(r.median_gap_crossing),
      median_ratio_crossing: numOrNull(r.median_ratio_crossing),
      median_t_test_acc_95: numOrNull(r.median_t_test_acc_95),
      mean_final_test_acc: numOrNull(r.mean_final_test_acc),
      mean_final_train_acc: numOrNull(r.mean_final_train_acc),
      verdict: modeOf((r.verdicts as string[] | null) ?? []) as VerdictLabel | null,
    };
  });
}

/** The most common string; ties go to the first in `sorted` (which is sorted). */
function modeOf(sorted: readonly string[]): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > bestCount) {
      best = sorted[i];
      bestCount = j - i;
    }
    i = j;
  }
  return best;
}

/**
 * The per-cell aggregates of rows given directly (no run folders): the same SQL as gatherSweep,
 * over a `rows` table filled from `rows`. For checking the aggregation, and for callers that
 * filter rows first.
 */
export async function aggregateRows(
  axes: SweepAxis[],
  rows: readonly SweepRunRow[],
): Promise<SweepCellRow[]> {
  return withDuckDB(async (con) => {
    const types = axes.map((a) => axisType(a.values));
    await con.run(`CREATE TABLE rows (cell INTEGER, ${axes.map((_, i) => `${axisColumn(i)} ${types[i]}, `).join('')}
      state VARCHAR, verdict VARCHAR, ${NUMERIC_ROW_FIELDS.map((f) => `${f} DOUBLE`).join(', ')})`);
    const appender = await con.createAppender('rows');
    for (const row of rows) {
      appender.appendInteger(row.cell);
      for (const [i, axis] of axes.entries()) appendAxisValue(appender, types[i], row.values[axis.key]);
      appender.appendVarchar(row.state);
      if (row.verdict === null) appender.appendNull();
      else appender.appendVarchar(row.verdict);
      for (const f of NUMERIC_ROW_FIELDS) {
        const v = row[f];
        if (v === null) appender.appendNull();
        else appender.appendDouble(v);
      }
      appender.endRow();
    }
    appender.closeSync();
    const byCell = new Map(rows.map((r) => [r.cell, r.values]));
    return aggregateCells(con, axes, (cell) => byCell.get(cell) ?? {});
  });
}
