/** From a read log (a table of rows) to the full DetectResult: the pipeline every input goes through. */
import { UsageError } from '../util/errors.ts';
import {
  type BaselineOptions,
  baselineFromHint,
  resolveBaseline,
  type TaskHint,
  taskHintProblems,
} from './baseline.ts';
import { type ColumnOverrides, resolveColumns } from './columns.ts';
import { detectTransition } from './detector.ts';
import { earlyWarningView } from './early-warning.ts';
import { findInstability } from './instability.ts';
import { normView } from './norms.ts';
import { describePlateau } from './plateau.ts';
import { counted, describeSampling, extractSeries, type LogTable } from './series.ts';
import { fitSigmoid } from './sigmoid.ts';
import { collapseView, findStabilityColumn, nlmView, stabilitySeries } from './stability.ts';
import { type Crossing, DEFAULT_GROK_THRESHOLD, firstConfirmedCrossing } from './thresholds.ts';
import { endTrend } from './trend.ts';
import type {
  BaselineInfo,
  DataIssue,
  DetectResult,
  Measures,
  MetricRole,
  Series,
  SigmoidFits,
  SoftmaxCollapseView,
  SourceInfo,
  StabilityColumn,
  Transition,
} from './types.ts';
import { decideVerdict, earlyWarningNote } from './verdict.ts';

export const DEFAULT_MEM_THRESHOLD = 0.99;
export { DEFAULT_GROK_THRESHOLD };

export interface AnalyzeOptions extends BaselineOptions {
  /** t_mem: first confirmed evaluation with train accuracy ≥ this (default 0.99). */
  memThreshold?: number;
  /** t_grok: first confirmed evaluation with test accuracy ≥ this (default: the log's task's, else 0.9). */
  grokThreshold?: number;
  /** Column names to use instead of the auto-detected ones. */
  columns?: ColumnOverrides;
  /** What the log is (--task/--p/--train-fraction): the memorization band comes from it. */
  task?: TaskHint;
}

/** A log as the readers hand it over. */
export interface LoadedLog {
  table: LogTable;
  source: SourceInfo;
  /** How to name the input in messages (a path). */
  where: string;
  /** The baseline computed from the task: a groklab run's (exact split), or a config.json next to a log's. */
  taskBaseline?: BaselineInfo | null;
  /** Notes for the verdict (e.g. the run is still running). */
  notes?: string[];
  /** The grok threshold of a groklab run's task (thresholds.ts), used unless the options give one. */
  grokThreshold?: number;
  /** The precision the run's loss is computed in (a groklab run's config says it), for softmax_collapse's wording. */
  lossPrecision?: SoftmaxCollapseView['loss_precision'];
}

/** Problems with option values, named after the CLI flags. */
export function optionProblems(options: AnalyzeOptions): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  const inUnit = (field: string, x: number | undefined) => {
    if (x !== undefined && !(x > 0 && x <= 1))
      problems.push({ field, message: `must be in (0, 1], got ${x}` });
  };
  inUnit('--mem-threshold', options.memThreshold);
  inUnit('--grok-threshold', options.grokThreshold);
  if (options.classes !== undefined && !(Number.isInteger(options.classes) && options.classes >= 2)) {
    problems.push({ field: '--classes', message: `must be an integer ≥ 2, got ${options.classes}` });
  }
  if (options.baseline !== undefined && !(options.baseline >= 0 && options.baseline < 1)) {
    problems.push({ field: '--baseline', message: `must be in [0, 1), got ${options.baseline}` });
  }
  if (options.task !== undefined) problems.push(...taskHintProblems(options.task));
  return problems;
}

/** Throws UsageError listing every problem with the option values. */
export function checkOptions(options: AnalyzeOptions): void {
  const problems = optionProblems(options);
  if (problems.length > 0) throw new UsageError(problems);
}

export function analyzeLog(log: LoadedLog, options: AnalyzeOptions = {}): DetectResult {
  checkOptions(options);
  const thresholds = {
    mem: options.memThreshold ?? DEFAULT_MEM_THRESHOLD,
    grok: options.grokThreshold ?? log.grokThreshold ?? DEFAULT_GROK_THRESHOLD,
  };
  const issues: DataIssue[] = [...log.table.issues];
  const { columns, issues: columnIssues } = resolveColumns(log.table, options.columns ?? {}, log.where);
  issues.push(...columnIssues);

  const series: Record<MetricRole, Series | null> = {
    train_acc: null,
    test_acc: null,
    train_loss: null,
    test_loss: null,
    weight_norm: null,
  };
  for (const role of Object.keys(series) as MetricRole[]) {
    const column = columns[role];
    if (column === null || columns.step === null) continue;
    const extracted = extractSeries(log.table.rows, columns.step, column, role);
    series[role] = extracted.series;
    issues.push(...extracted.issues);
  }
  const train = series.train_acc;
  const test = series.test_acc;
  const sampling = test ? describeSampling(test, 'test_acc') : { info: null, issues: [] };
  issues.push(...sampling.issues);

  const mem = firstConfirmedCrossing(train ?? { steps: [], values: [] }, thresholds.mem);
  const grok = firstConfirmedCrossing(test ?? { steps: [], values: [] }, thresholds.grok);
  issues.push(
    ...crossingIssues('train_acc', thresholds.mem, mem),
    ...crossingIssues('test_acc', thresholds.grok, grok),
  );

  const fromTask = options.task ? baselineFromHint(options.task) : (log.taskBaseline ?? null);
  const baseline = resolveBaseline(options, fromTask, test);
  if (baseline.source === 'first-evaluation') {
    issues.push({
      kind: 'baseline-estimated',
      severity: 'warning',
      message: `baseline ${baseline.value?.toFixed(3)} ${baseline.detail}`,
    });
  }
  const transition = test ? detectTransition(test, mem.step, baseline.value) : null;
  const measures = measuresOf(train, test, mem, grok, transition);
  const plateau = test ? describePlateau(test, mem.step, transition, baseline) : null;
  const trend = test ? endTrend(test) : null;
  // Instability is looked for once the run has both memorized and generalized.
  const settled = grok.step !== null && mem.step !== null ? Math.max(grok.step, mem.step) : null;
  const instability = findInstability(
    series,
    settled,
    transition ? (transition.plateau_level + transition.peak_level) / 2 : thresholds.grok / 2,
    thresholds.mem,
  );
  const stability = (name: StabilityColumn) => {
    const column = columns.step === null ? null : findStabilityColumn(log.table, name);
    if (column === null || columns.step === null) return null;
    const extracted = stabilitySeries(log.table, columns.step, column, name);
    issues.push(...extracted.issues);
    return { series: extracted.series, column };
  };
  const collapse = stability('softmax_collapse');
  const nlm = stability('nlm_cosine');
  const softmaxCollapse = collapse
    ? collapseView(collapse.series, collapse.column, log.lossPrecision ?? null)
    : null;
  const nlmCosine = nlm ? nlmView(nlm.series, nlm.column) : null;
  const verdict = decideVerdict({
    measures,
    transition,
    baseline,
    instability,
    thresholds,
    trainEvaluations: train?.steps.length ?? 0,
    testEvaluations: test?.steps.length ?? 0,
    unconfirmedGrok: grok.unconfirmedLast,
    plateau,
    endTrend: trend,
    softmaxCollapse,
    nlmCosine,
  });
  const earlyWarning = earlyWarningView(log.table, measures);
  const warningNote = earlyWarning ? earlyWarningNote(earlyWarning, thresholds.grok) : null;
  if (warningNote) verdict.notes.push(warningNote);
  verdict.notes.push(...(log.notes ?? []));
  if (grok.step === null && grok.unconfirmedLast !== null) {
    verdict.notes.push(
      `the last evaluation (step ${grok.unconfirmedLast}) reached ${thresholds.grok}; one evaluation does not count: train longer to confirm`,
    );
  }
  const norm = series.weight_norm;
  return {
    source: log.source,
    columns,
    thresholds,
    baseline,
    sampling: sampling.info,
    measures,
    transition,
    plateau,
    end_trend: trend,
    sigmoid: test && transition ? fits(test, transition) : { step: null, log_step: null, best: null },
    weight_norm:
      norm && columns.weight_norm ? normView(norm, columns.weight_norm, measures, transition) : null,
    instability,
    softmax_collapse: softmaxCollapse,
    nlm_cosine: nlmCosine,
    early_warning: earlyWarning,
    verdict,
    issues,
  };
}

function crossingIssues(
  metric: 'train_acc' | 'test_acc',
  threshold: number,
  crossing: Crossing,
): DataIssue[] {
  const issues: DataIssue[] = [];
  if (crossing.isolated.length > 0) {
    issues.push({
      kind: 'isolated-crossing',
      severity: 'info',
      metric,
      count: crossing.isolated.length,
      examples: crossing.isolated.slice(0, 5),
      message: `${metric}: ${counted(crossing.isolated.length, 'single evaluation')} ≥ ${threshold} followed by one below (steps ${crossing.isolated.slice(0, 5).join(', ')}${crossing.isolated.length > 5 ? ', …' : ''}) were taken as noise`,
    });
  }
  if (crossing.unconfirmedLast !== null) {
    issues.push({
      kind: 'unconfirmed-crossing',
      severity: 'warning',
      metric,
      examples: [crossing.unconfirmedLast],
      message: `${metric}: only the last evaluation (step ${crossing.unconfirmedLast}) is ≥ ${threshold}; with nothing after it to confirm it, it is not taken as a crossing`,
    });
  }
  return issues;
}

function measuresOf(
  train: Series | null,
  test: Series | null,
  mem: Crossing,
  grok: Crossing,
  transition: Transition | null,
): Measures {
  const tMem = mem.step;
  const tGrok = grok.step;
  const onset = transition?.onset_step ?? null;
  const diff = (a: number | null) => (a !== null && tMem !== null ? a - tMem : null);
  const ratio = (a: number | null) => (a !== null && tMem !== null && tMem > 0 ? a / tMem : null);
  const max = (s: Series | null) =>
    s && s.values.length > 0 ? s.values.reduce((m, v) => Math.max(m, v)) : null;
  const last = (s: Series | null) => (s && s.values.length > 0 ? s.values[s.values.length - 1] : null);
  const lastStep = Math.max(train?.steps.at(-1) ?? -Infinity, test?.steps.at(-1) ?? -Infinity);
  return {
    t_mem: tMem,
    t_mem_previous_eval: mem.previousStep,
    t_grok_crossing: tGrok,
    t_grok_crossing_previous_eval: grok.previousStep,
    t_grok_onset: onset,
    gap_crossing: diff(tGrok),
    gap_onset: diff(onset),
    ratio_crossing: ratio(tGrok),
    ratio_onset: ratio(onset),
    max_train_acc: max(train),
    max_test_acc: max(test),
    final_train_acc: last(train),
    final_test_acc: last(test),
    last_step: Number.isFinite(lastStep) ? lastStep : null,
  };
}

/** Sigmoid fits on the raw test accuracy from where the detector looked (memorization) to the end. */
function fits(test: Series, transition: Transition): SigmoidFits {
  const from = test.steps.findIndex((s) => s >= transition.plateau_from_step);
  const window: Series = { steps: test.steps.slice(from), values: test.values.slice(from) };
  const start = {
    c: transition.plateau_level,
    d: transition.peak_level,
    t10: transition.t10,
    t50: transition.t50,
    t90: transition.t90,
  };
  const step = fitSigmoid(window, 'step', start);
  const logStep = fitSigmoid(window, 'log_step', start);
  let best: SigmoidFits['best'] = null;
  if (step || logStep) best = (logStep?.r2 ?? -Infinity) > (step?.r2 ?? -Infinity) ? 'log_step' : 'step';
  return { step, log_step: logStep, best };
}
