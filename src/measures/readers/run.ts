/**
 * groklab run folders: metrics.jsonl for the curves, config.json and split.json for the exact
 * baseline (baseline.ts), status.json for whether the run is still going.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseRunConfig } from '../../config/schema.ts';
import { isInterrupted, RUN_FILES, readJsonFile, readMetrics, readStatusFile } from '../../runs/index.ts';
import { buildTask, splitFromJson } from '../../tasks/index.ts';
import type { LoadedLog } from '../analyze.ts';
import { baselineForRealInputs, baselineFromTask } from '../baseline.ts';
import type { LogTable, RawRow } from '../series.ts';
import { taskGrokThreshold } from '../thresholds.ts';
import { type BaselineInfo, type DataIssue, type SoftmaxCollapseView, STABILITY_COLUMNS } from '../types.ts';

/** The scalar fields of a metrics record that the analysis reads (norms per tensor, lr and wall_s are not). */
const RUN_COLUMNS = ['step', 'train_acc', 'test_acc', 'train_loss', 'test_loss', 'weight_norm'];
/** Read too, found by name (stability.ts); records written before they existed lack them. */
const READ_COLUMNS = [...RUN_COLUMNS, ...STABILITY_COLUMNS];

export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.config)) && fs.existsSync(path.join(dir, RUN_FILES.metrics));
}

export function loadRun(dir: string): LoadedLog {
  if (!isRunFolder(dir))
    throw new Error(`not a groklab run: ${RUN_FILES.config} or ${RUN_FILES.metrics} is missing`);
  const issues: DataIssue[] = [];
  const notes: string[] = [];
  const { records, tornTail } = readMetrics(path.join(dir, RUN_FILES.metrics));
  if (tornTail) {
    issues.push({
      kind: 'torn-tail',
      severity: 'info',
      message: 'metrics.jsonl ends in an incomplete line (a crash or a write in progress); it was skipped',
    });
  }
  const rows: RawRow[] = records.map((r) => {
    const row: RawRow = {};
    for (const c of READ_COLUMNS) {
      const v = r[c];
      row[c] = typeof v === 'number' || typeof v === 'string' || v === null ? v : undefined;
    }
    return row;
  });
  const known = Object.fromEntries(RUN_COLUMNS.map((c) => [c, c]));
  const table: LogTable = { columns: READ_COLUMNS, rows, issues, knownColumns: known };

  let taskBaseline: BaselineInfo | null = null;
  let task: string | undefined;
  let lossPrecision: SoftmaxCollapseView['loss_precision'] = null;
  let grokThreshold: number | undefined;
  try {
    const config = parseRunConfig(readJsonFile(path.join(dir, RUN_FILES.config)));
    grokThreshold = taskGrokThreshold(config.task);
    // StableMax is computed in float64 whatever loss_precision says.
    lossPrecision =
      config.train.loss === 'stablemax_cross_entropy'
        ? 'float64'
        : (config.train.loss_precision ?? 'float32');
    const data = buildTask(config.task);
    task = data.description;
    const split = splitFromJson(readJsonFile(path.join(dir, RUN_FILES.split)), data.numExamples);
    taskBaseline = data.features ? baselineForRealInputs(data) : baselineFromTask(data, split);
  } catch (err) {
    issues.push({
      kind: 'broken-run',
      severity: 'warning',
      message: `cannot compute the baseline from config.json and split.json: ${(err as Error).message.split('\n')[0]}`,
    });
  }

  let state: string | undefined;
  const statusPath = path.join(dir, RUN_FILES.status);
  if (fs.existsSync(statusPath)) {
    try {
      const status = readStatusFile(statusPath);
      state = isInterrupted(status) ? 'interrupted' : status.state;
      if (state === 'running')
        notes.push(`the run is still running (step ${status.step}): the verdict may change`);
      if (state === 'interrupted' || state === 'stopped') {
        notes.push(
          `the run was ${state} at step ${status.step}; resume it to see whether it changes the verdict`,
        );
      }
    } catch (err) {
      issues.push({ kind: 'broken-run', severity: 'warning', message: (err as Error).message });
    }
  }

  return {
    table,
    source: { kind: 'groklab-run', path: dir, run_id: path.basename(path.resolve(dir)), task, state },
    where: dir,
    taskBaseline,
    notes,
    lossPrecision,
    grokThreshold,
  };
}
