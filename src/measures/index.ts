/**
 * Measures of grokking, computed from a training log: did it grok, when, and how sharply.
 *
 *   analyzeCurve({ step, train_acc, test_acc, ... }, options)  an in-memory curve
 *   detectRun(runDir, options)                                 a groklab run folder (exact baseline)
 *   detectPath(path, options)                                  anything `groklab detect` takes:
 *       run folder, runs directory, run folder zip, CSV, JSONL, TensorBoard event file or directory
 *   detectPortableRun(run, options)                            a run held in memory (run-log.ts,
 *       browser-safe, as are loadLogText and loadPortableRun; this module itself is not)
 *
 * All return DetectResult (types.ts), the same structure `groklab detect --json` prints. The rules
 * (noise rule, onset, verdict thresholds) are documented in thresholds.ts, detector.ts, verdict.ts,
 * instability.ts, baseline.ts and docs/measures.md.
 */
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { type AnalyzeOptions, analyzeLog } from './analyze.ts';
import { loadTarget, targetsOf } from './readers/index.ts';
import type { RawCell, RawRow } from './series.ts';
import type { DetectOutcome, DetectResult, SeriesRole } from './types.ts';

export {
  type AnalyzeOptions,
  analyzeLog,
  checkOptions,
  DEFAULT_GROK_THRESHOLD,
  DEFAULT_MEM_THRESHOLD,
  type LoadedLog,
  optionProblems,
} from './analyze.ts';
export { baselineFromFraction, baselineFromHint, baselineFromTask, type TaskHint } from './baseline.ts';
export type { ColumnOverrides } from './columns.ts';
export { formatReport, formatStep, formatTable } from './format.ts';
export { detectPortableRun, loadLogText, loadPortableRun } from './run-log.ts';
export { median } from './smooth.ts';
export { COLLAPSE_HIGH, LATE_EVALUATIONS } from './stability.ts';
export { MNIST_GROK_THRESHOLD, taskGrokThreshold } from './thresholds.ts';
export * from './types.ts';

/** An in-memory curve: one step array and, per metric, one value per step (null or NaN for none). */
export interface CurveInput {
  step: ArrayLike<number | null>;
  train_acc?: ArrayLike<number | null>;
  test_acc?: ArrayLike<number | null>;
  train_loss?: ArrayLike<number | null>;
  test_loss?: ArrayLike<number | null>;
  weight_norm?: ArrayLike<number | null>;
  /** Prieto et al.'s measures (stability.ts): share of training examples with loss exactly 0, cos(−∇L, θ). */
  softmax_collapse?: ArrayLike<number | null>;
  nlm_cosine?: ArrayLike<number | null>;
}

const METRICS: SeriesRole[] = [
  'train_acc',
  'test_acc',
  'train_loss',
  'test_loss',
  'weight_norm',
  'softmax_collapse',
  'nlm_cosine',
];

/** Analyzes a curve given as arrays; missing values, NaN and duplicated steps are reported like any log's. */
export function analyzeCurve(curve: CurveInput, options: AnalyzeOptions = {}): DetectResult {
  const n = curve.step.length;
  const present = METRICS.filter((m) => curve[m] !== undefined);
  const wrong = present.filter((m) => curve[m]?.length !== n);
  if (wrong.length > 0) {
    throw new UsageError(
      wrong.map((m) => ({
        field: `curve.${m}`,
        message: `has ${curve[m]?.length} values but step has ${n}`,
      })),
    );
  }
  const rows: RawRow[] = [];
  for (let i = 0; i < n; i++) {
    const row: RawRow = { step: curve.step[i] };
    for (const m of present) row[m] = curve[m]?.[i] as RawCell;
    rows.push(row);
  }
  const table = { columns: ['step', ...present], rows, issues: [] };
  return analyzeLog({ table, source: { kind: 'curve', path: null }, where: 'the curve' }, options);
}

/** Analyzes one groklab run folder. */
export function detectRun(runDir: string, options: AnalyzeOptions = {}): DetectResult {
  const { targets, runsDir } = targetsOf(runDir);
  if (runsDir || targets[0].kind !== 'run') {
    throw new UsageError({ field: 'path', message: `"${runDir}" is not a groklab run folder` });
  }
  return analyzeLog(loadTarget(targets[0]), options);
}

/**
 * Analyzes whatever `p` is. A runs directory gives one outcome per run; a run there that cannot be
 * read becomes a DetectFailure while the others are still analysed. Anything else that cannot be
 * read throws UsageError.
 */
export function detectPath(p: string, options: AnalyzeOptions = {}): DetectOutcome[] {
  const { targets, runsDir } = targetsOf(p);
  return targets.map((target) => {
    if (!runsDir) return analyzeLog(loadTarget(target), options);
    try {
      return analyzeLog(loadTarget(target), options);
    } catch (err) {
      if (err instanceof UsageError && err.problems.some((pr) => pr.field.startsWith('--'))) throw err;
      return {
        source: { kind: 'groklab-run', path: target.path, run_id: path.basename(target.path) },
        error: (err as Error).message,
      };
    }
  });
}
