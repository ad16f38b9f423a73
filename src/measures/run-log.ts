/**
 * Logs held in memory, read as `groklab detect` reads files: a groklab run (its metrics records,
 * config, split and status) and CSV / JSONL text. Browser-safe: the readers in readers/ that touch the
 * file system (run.ts, index.ts, config.ts) read the files and hand their contents to these.
 */
import { parseRunConfig } from '../config/schema.ts';
import {
  type MetricsRecord,
  type PortableRun,
  parseRunStatus,
  RUN_FILES,
  type RunStatus,
} from '../runs/portable.ts';
import { buildTask, splitFromJson } from '../tasks/index.ts';
import { UsageError } from '../util/errors.ts';
import { type AnalyzeOptions, analyzeLog, type LoadedLog } from './analyze.ts';
import { baselineForRealInputs, baselineFromTask } from './baseline.ts';
import type { ConfigNextToLog } from './readers/config.ts';
import { CsvError, readCsvText } from './readers/csv.ts';
import { JsonlError, readJsonlText } from './readers/jsonl.ts';
import type { LogTable, RawRow } from './series.ts';
import { taskGrokThreshold } from './thresholds.ts';
import {
  type BaselineInfo,
  type DataIssue,
  type DetectResult,
  type SoftmaxCollapseView,
  STABILITY_COLUMNS,
} from './types.ts';

/** The scalar fields of a metrics record that the analysis reads (norms per tensor, lr and wall_s are not). */
const RUN_COLUMNS = ['step', 'train_acc', 'test_acc', 'train_loss', 'test_loss', 'weight_norm'];
/** Read too, found by name (stability.ts); records written before they existed lack them. */
const READ_COLUMNS = [...RUN_COLUMNS, ...STABILITY_COLUMNS];

/**
 * A groklab run's parts as the reader needs them. config, split and status are functions so that a
 * reader of files can report a file that cannot be read the way it reports a file that does not
 * validate (a missing baseline, a status issue), instead of failing the whole run.
 */
export interface RunLogParts {
  records: readonly MetricsRecord[];
  /** metrics.jsonl ended in a torn line, which was skipped. */
  tornTail: boolean;
  /** config.json's content (may throw). */
  config: () => unknown;
  /** split.json's content (may throw). */
  split: () => unknown;
  /** status.json's content, undefined when there is none (may throw). */
  status: () => unknown;
  /** How status.json is named in messages. */
  statusName: string;
  /**
   * Whether a "running" status belongs to a process that is gone (status.ts isInterrupted, on Node).
   * Without it a running run is taken as running, as a status from another host is.
   */
  isInterrupted?: (status: RunStatus) => boolean;
  /** SourceInfo.path, the run id, and how to name the run in messages. */
  path: string;
  runId: string;
  where: string;
}

/** A groklab run as a log: the body of `groklab detect <run folder>` (readers/run.ts) on its contents. */
export function loadRunParts(parts: RunLogParts): LoadedLog {
  const issues: DataIssue[] = [];
  const notes: string[] = [];
  if (parts.tornTail) {
    issues.push({
      kind: 'torn-tail',
      severity: 'info',
      message: 'metrics.jsonl ends in an incomplete line (a crash or a write in progress); it was skipped',
    });
  }
  const extra = new Set<string>();
  const rows: RawRow[] = parts.records.map((r) => {
    const row: RawRow = {};
    for (const c of READ_COLUMNS) {
      const v = r[c];
      row[c] = typeof v === 'number' || typeof v === 'string' || v === null ? v : undefined;
    }
    addOtherColumns(r, row, extra);
    return row;
  });
  const known = Object.fromEntries(RUN_COLUMNS.map((c) => [c, c]));
  const table: LogTable = {
    columns: [...READ_COLUMNS, ...orderedExtra(extra)],
    rows,
    issues,
    knownColumns: known,
  };

  let taskBaseline: BaselineInfo | null = null;
  let task: string | undefined;
  let lossPrecision: SoftmaxCollapseView['loss_precision'] = null;
  let grokThreshold: number | undefined;
  try {
    const config = parseRunConfig(parts.config());
    grokThreshold = taskGrokThreshold(config.task);
    // StableMax is computed in float64 whatever loss_precision says.
    lossPrecision =
      config.train.loss === 'stablemax_cross_entropy'
        ? 'float64'
        : (config.train.loss_precision ?? 'float32');
    const data = buildTask(config.task);
    task = data.description;
    const split = splitFromJson(parts.split(), data.numExamples);
    taskBaseline = data.features ? baselineForRealInputs(data) : baselineFromTask(data, split);
  } catch (err) {
    issues.push({
      kind: 'broken-run',
      severity: 'warning',
      message: `cannot compute the baseline from config.json and split.json: ${(err as Error).message.split('\n')[0]}`,
    });
  }

  let state: string | undefined;
  try {
    const raw = parts.status();
    if (raw !== undefined) {
      const status = parseRunStatus(raw, parts.statusName);
      state = parts.isInterrupted?.(status) ? 'interrupted' : status.state;
      if (state === 'running')
        notes.push(`the run is still running (step ${status.step}): the verdict may change`);
      if (state === 'interrupted' || state === 'stopped') {
        notes.push(
          `the run was ${state} at step ${status.step}; resume it to see whether it changes the verdict`,
        );
      }
    }
  } catch (err) {
    issues.push({ kind: 'broken-run', severity: 'warning', message: (err as Error).message });
  }

  return {
    table,
    source: { kind: 'groklab-run', path: parts.path, run_id: parts.runId, task, state },
    where: parts.where,
    taskBaseline,
    notes,
    lossPrecision,
    grokThreshold,
  };
}

/** The metrics of one mixture component, as columns `<metric>/<component name>` (docs/mixtures.md). */
export const COMPONENT_METRICS = ['train_acc', 'test_acc', 'train_loss', 'test_loss'] as const;

/**
 * The other numbers of a metrics record, as columns for `detect --capabilities`: a mixture's
 * `components: { add: { train_acc, ... } }` as `train_acc/add`, ..., and any other number, nested
 * objects joined by "/" (`norms/embed`, `lr`) as the JSONL reader names them. The analysis of the
 * run itself reads only READ_COLUMNS.
 */
function addOtherColumns(record: Record<string, unknown>, row: RawRow, columns: Set<string>): void {
  const put = (column: string, v: unknown) => {
    if (typeof v !== 'number' && v !== null) return;
    row[column] = v;
    columns.add(column);
  };
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, `${prefix}/${key}`);
    } else put(prefix, value);
  };
  for (const [key, value] of Object.entries(record)) {
    if ((READ_COLUMNS as readonly string[]).includes(key)) continue;
    if (key === 'components' && isObject(value)) {
      for (const [name, metrics] of Object.entries(value)) {
        if (!isObject(metrics)) continue;
        for (const m of COMPONENT_METRICS) put(`${m}/${name}`, metrics[m]);
      }
      continue;
    }
    if (isObject(value)) for (const [inner, v] of Object.entries(value)) walk(v, `${key}/${inner}`);
    else put(key, value);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Component columns first, grouped by metric (train_acc/*, test_acc/*, ...), then the rest as found. */
function orderedExtra(columns: Set<string>): string[] {
  const all = [...columns];
  const metricOf = (c: string) => COMPONENT_METRICS.findIndex((m) => c.startsWith(`${m}/`));
  const components = all.filter((c) => metricOf(c) >= 0);
  components.sort((a, b) => metricOf(a) - metricOf(b));
  return [...components, ...all.filter((c) => metricOf(c) < 0)];
}

/**
 * A PortableRun as a log. `path` names it in the result (default its id: the folder it would be);
 * `isInterrupted` as in RunLogParts.
 */
export function loadPortableRun(
  run: PortableRun,
  options: { path?: string; isInterrupted?: (status: RunStatus) => boolean } = {},
): LoadedLog {
  const where = options.path ?? run.id;
  return loadRunParts({
    records: run.records,
    tornTail: run.tornTail ?? false,
    config: () => run.config,
    split: () => run.split,
    status: () => run.status,
    statusName: `${run.id}/${RUN_FILES.status}`,
    isInterrupted: options.isInterrupted,
    path: where,
    runId: run.id,
    where,
  });
}

/**
 * What `groklab detect <run folder>` gives for the run in memory (source.path is the run's id). A
 * status that says running is taken as running: a page cannot tell whether its process is gone.
 */
export function detectPortableRun(run: PortableRun, options: AnalyzeOptions = {}): DetectResult {
  return analyzeLog(loadPortableRun(run), options);
}

// ---------------------------------------------------------------------------------------------
// CSV and JSONL text.

export type TextLogKind = 'csv' | 'jsonl';

const problem = (message: string) => new UsageError({ field: 'path', message });

/** CSV or JSONL, by the file name's extension, else by the first non-blank character. */
export function textLogKind(fileName: string, text: string): TextLogKind {
  const name = (fileName.split(/[\\/]/).pop() ?? fileName).toLowerCase();
  if (/\.(csv|tsv)$/.test(name)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  const head = text.slice(0, 256).trimStart();
  return head.startsWith('{') || head.startsWith('[') ? 'jsonl' : 'csv';
}

/** The text read as a table; UsageError (field `path`) naming `p` when it is not valid CSV / JSONL. */
export function readTextLog(kind: TextLogKind, text: string, p: string): LogTable {
  try {
    return kind === 'csv' ? readCsvText(text) : readJsonlText(text);
  } catch (err) {
    if (err instanceof CsvError || err instanceof JsonlError) {
      throw problem(`cannot read "${p}" as ${kind.toUpperCase()}: ${err.message}`);
    }
    throw err;
  }
}

/** A table read by one of the readers as a log; `config` is what a config.json next to it said. */
export function tableAsLog(
  table: LogTable,
  kind: 'csv' | 'jsonl' | 'tensorboard',
  p: string,
  config: ConfigNextToLog,
): LoadedLog {
  if (table.rows.length === 0) {
    throw problem(
      `"${p}" has no ${kind === 'tensorboard' ? 'scalar events' : 'data rows'}${table.columns.length > 0 ? ` (columns: ${table.columns.join(', ')})` : ''}`,
    );
  }
  return {
    table: { ...table, issues: [...table.issues, ...config.issues] },
    source: config.task ? { kind, path: p, task: config.task } : { kind, path: p },
    where: p,
    taskBaseline: config.baseline,
  };
}

/**
 * A CSV or JSONL log's text as `groklab detect <fileName>` reads that file when no groklab
 * config.json lies next to it (source.path is `fileName`). UsageError (field `path`) when it cannot
 * be read.
 */
export function loadLogText(fileName: string, text: string): LoadedLog {
  const kind = textLogKind(fileName, text);
  return tableAsLog(readTextLog(kind, text, fileName), kind, fileName, { baseline: null, issues: [] });
}
