/**
 * What a path is, and reading it. A path can be: a groklab run folder (config.json + metrics.jsonl),
 * a runs directory (folders that are runs), a zip of one run folder (a lab export, portable.ts), a
 * TensorBoard log directory (event files anywhere below), an event file, a CSV/TSV file, or a
 * JSONL/JSON file. Anything that cannot be read is a
 * UsageError (field "path") saying why. A groklab config.json next to a log file (or in a
 * TensorBoard directory) gives the log's task (config.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isInterrupted, RUN_FILES } from '../../runs/index.ts';
import { unzipRunFolder } from '../../runs/portable.ts';
import { UsageError } from '../../util/errors.ts';
import type { LoadedLog } from '../analyze.ts';
import { loadPortableRun, readTextLog, tableAsLog, textLogKind } from '../run-log.ts';
import type { LogTable } from '../series.ts';
import { readConfigNextTo } from './config.ts';
import { isRunFolder, loadRun } from './run.ts';
import { findEventFiles, isEventFileName, readEventFiles, TensorBoardError } from './tensorboard.ts';
import { TfRecordError } from './tfrecord.ts';

export type TargetKind = 'run' | 'zip' | 'csv' | 'jsonl' | 'tensorboard';

export interface Target {
  kind: TargetKind;
  path: string;
}

const problem = (message: string) => new UsageError({ field: 'path', message });

/** What `p` holds: one target, or one per run for a runs directory (`runsDir` true). */
export function targetsOf(p: string): { targets: Target[]; runsDir: boolean } {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) throw problem(`"${p}" does not exist`);
  if (stat.isDirectory()) {
    if (isRunFolder(p)) return { targets: [{ kind: 'run', path: p }], runsDir: false };
    // Like `groklab runs`: once some subfolder is a run, every (non-hidden) subfolder is taken as
    // one, so a half-written or damaged run shows up as an error instead of vanishing.
    const folders = fs
      .readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    if (folders.some((name) => isRunFolder(path.join(p, name)))) {
      return { targets: folders.map((name) => ({ kind: 'run', path: path.join(p, name) })), runsDir: true };
    }
    if (findEventFiles(p).length > 0) return { targets: [{ kind: 'tensorboard', path: p }], runsDir: false };
    throw problem(
      `"${p}" is a directory but neither a groklab run (config.json + metrics.jsonl), a runs directory, nor a TensorBoard log directory (no *tfevents* files below it)`,
    );
  }
  return { targets: [{ kind: fileKind(p), path: p }], runsDir: false };
}

function fileKind(file: string): TargetKind {
  const name = path.basename(file).toLowerCase();
  if (isEventFileName(name)) return 'tensorboard';
  // metrics.jsonl of a run folder: read as the run, which knows its baseline.
  if (name === RUN_FILES.metrics && isRunFolder(path.dirname(file))) return 'run';
  if (name.endsWith('.zip')) return 'zip';
  if (/\.(csv|tsv|jsonl|ndjson|json)$/.test(name)) return textLogKind(name, '');
  return textLogKind(name, readText(file));
}

function readBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw problem(`cannot read "${file}": ${(err as Error).message}`);
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw problem(`cannot read "${file}": ${(err as Error).message}`);
  }
}

export function loadTarget(target: Target): LoadedLog {
  const p = target.path;
  try {
    switch (target.kind) {
      case 'run':
        return loadRun(target.path.endsWith(RUN_FILES.metrics) ? path.dirname(p) : p);
      case 'zip':
        return loadPortableRun(unzipRunFolder(readBytes(p), p), {
          path: p,
          isInterrupted: (s) => isInterrupted(s),
        });
      case 'csv':
      case 'jsonl':
        return asLog(readTextLog(target.kind, readText(p), p), target.kind, p, path.dirname(p));
      case 'tensorboard': {
        const dir = fs.statSync(p).isDirectory() ? p : path.dirname(p);
        const files = dir === p ? findEventFiles(p) : [p];
        return asLog(readEventFiles(files, dir), 'tensorboard', p, dir);
      }
    }
  } catch (err) {
    if (err instanceof TensorBoardError || err instanceof TfRecordError) {
      throw problem(`cannot read "${p}" as TensorBoard events: ${err.message}`);
    }
    throw err;
  }
}

/** A log read by one of the readers; `dir` is where a config.json saying what the log is would be. */
function asLog(table: LogTable, kind: 'csv' | 'jsonl' | 'tensorboard', p: string, dir: string): LoadedLog {
  // An empty log is reported as such, whatever lies next to it.
  const config = table.rows.length === 0 ? { baseline: null, issues: [] } : readConfigNextTo(dir);
  return tableAsLog(table, kind, p, config);
}
