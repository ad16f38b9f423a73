import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { fsyncDir, readJsonFile, writeFileAtomic } from './atomic.ts';
import { MetricsLog, type MetricsRead, type MetricsRecord, readMetrics } from './metrics.ts';
import {
  CHECKPOINT_FILE,
  checkpointFileName,
  formatJsonFile,
  MAX_RUN_ID_LENGTH,
  RUN_FILES,
  RUN_ID,
  SWEEPS_FOLDER,
  validateRunId,
} from './portable.ts';
import {
  isInterrupted,
  type RunState,
  type RunStatus,
  type RunStatusUpdate,
  readStatusFile,
  writeStatusFile,
} from './status.ts';

export { RUN_FILES, SWEEPS_FOLDER, validateRunId };

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * `<prefix>-<YYYYMMDD-HHMMSS>` in UTC, with `-2`, `-3`, ... when taken. Characters not allowed
 * in ids are replaced by "-" so a preset name can be used as the prefix directly. Two
 * processes may still pick the same id; createRunFolder then fails for one of them.
 */
export function newRunId(prefix: string, runsDir: string, now: Date = new Date()): string {
  const clean = prefix.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'run';
  const stamp =
    `${now.getUTCFullYear()}${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}-` +
    `${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}${pad2(now.getUTCSeconds())}`;
  const base = `${clean.slice(0, MAX_RUN_ID_LENGTH - 24)}-${stamp}`;
  let id = base;
  for (let n = 2; fs.existsSync(path.join(runsDir, id)); n++) id = `${base}-${n}`;
  return validateRunId(id);
}

export interface RunContents {
  /** The fully resolved config; must be a JSON object. */
  config: Record<string, unknown>;
  split: unknown;
}

function alreadyExists(runsDir: string, id: string): UsageError {
  return new UsageError({ field: 'run', message: `run "${id}" already exists in ${runsDir}` });
}

/**
 * Makes `runsDir/<id>` with config, split, an empty metrics log, a checkpoints folder and a
 * "running" status, then lets `fill` write more into it (checkpoints, metrics, a final status:
 * an import). Everything is written into `.<id>.tmp-<pid>/<id>` and renamed into place at the
 * end, so the run folder appears complete or not at all. Fails if the id is taken.
 */
export function createRunFolder(
  runsDir: string,
  id: string,
  contents: RunContents,
  fill?: (run: RunFolder) => void,
): RunFolder {
  validateRunId(id);
  if (typeof contents.config !== 'object' || contents.config === null || Array.isArray(contents.config)) {
    throw new Error('run config must be a JSON object');
  }
  fs.mkdirSync(runsDir, { recursive: true });
  const finalDir = path.join(runsDir, id);
  if (fs.existsSync(finalDir)) throw alreadyExists(runsDir, id);

  const staging = path.join(runsDir, `.${id}.tmp-${process.pid}`);
  const tmpDir = path.join(staging, id);
  // A leftover from an earlier crashed process that had the same pid.
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  try {
    writeFileAtomic(path.join(tmpDir, RUN_FILES.config), formatJsonFile(contents.config));
    writeFileAtomic(path.join(tmpDir, RUN_FILES.split), formatJsonFile(contents.split));
    writeFileAtomic(path.join(tmpDir, RUN_FILES.metrics), '');
    fs.mkdirSync(path.join(tmpDir, RUN_FILES.checkpoints));
    const now = new Date();
    writeStatusFile(path.join(tmpDir, RUN_FILES.status), { created_at: now.toISOString() }, now);
    fill?.(new RunFolder(staging, id));
    fsyncDir(tmpDir);
    // Checked again: another process may have created it meanwhile. rename() only replaces
    // an empty directory, and run folders are never empty, so the rename below cannot
    // clobber a real run either way.
    if (fs.existsSync(finalDir)) throw alreadyExists(runsDir, id);
    try {
      fs.renameSync(tmpDir, finalDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') throw alreadyExists(runsDir, id);
      throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fsyncDir(runsDir);
  return new RunFolder(runsDir, id);
}

/** Folder names in `runsDir` that could be runs (valid ids, directories), sorted. */
function runDirNames(runsDir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== SWEEPS_FOLDER)
    .map((e) => e.name)
    .sort();
}

/** Opens an existing run; UsageError (field `run`) for a bad or unknown id. */
export function openRun(runsDir: string, id: string): RunFolder {
  validateRunId(id);
  const dir = path.join(runsDir, id);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    const existing = runDirNames(runsDir);
    // Ids start with a UTC timestamp-suffixed prefix, so the last names are usually the newest.
    const shown = existing.slice(-5);
    const hint =
      existing.length === 0
        ? ' (there are no runs yet)'
        : `; existing runs: ${shown.join(', ')}${existing.length > shown.length ? `, ... (${existing.length} in all)` : ''}`;
    throw new UsageError({ field: 'run', message: `run "${id}" does not exist in ${runsDir}${hint}` });
  }
  return new RunFolder(runsDir, id);
}

/**
 * A run named on the command line: the path of a run folder (one holding config.json), else a run
 * id in `runsDir`. The runs directory of a folder given by path is its parent. UsageError (field
 * `run`) when it is neither, saying which was meant.
 */
export function resolveRunFolder(arg: string, runsDir: string): RunFolder {
  const asPath = path.resolve(arg);
  if (fs.existsSync(path.join(asPath, RUN_FILES.config))) {
    return openRun(path.dirname(asPath), path.basename(asPath));
  }
  // Ids have no separators and no leading dot, so anything else can only have meant a folder.
  if (RUN_ID.test(arg)) return openRun(runsDir, arg);
  const where = path.isAbsolute(arg) ? 'it' : asPath;
  const problem = fs.statSync(asPath, { throwIfNoEntry: false })?.isDirectory()
    ? `has no ${RUN_FILES.config}`
    : 'does not exist';
  throw new UsageError({
    field: 'run',
    message: `no run folder at ${arg} (${where} ${problem}); give the path of a run folder or a run id in ${runsDir}`,
  });
}

/** UsageError (field `flag`) when `runsDir/<id>` is taken. */
export function checkRunIdFree(runsDir: string, id: string, flag: string): void {
  validateRunId(id);
  if (fs.existsSync(path.join(runsDir, id))) {
    throw new UsageError({
      field: flag,
      message: `run "${id}" already exists in ${runsDir}; choose another id`,
    });
  }
}

/** One run folder on disk. Methods read and write it directly; nothing is cached. */
export class RunFolder {
  readonly id: string;
  /** The runs directory the folder is in. */
  readonly runsDir: string;
  readonly dir: string;
  readonly configPath: string;
  readonly splitPath: string;
  readonly statusPath: string;
  readonly metricsPath: string;
  readonly checkpointsDir: string;

  constructor(runsDir: string, id: string) {
    this.id = validateRunId(id);
    this.runsDir = runsDir;
    this.dir = path.join(runsDir, id);
    this.configPath = path.join(this.dir, RUN_FILES.config);
    this.splitPath = path.join(this.dir, RUN_FILES.split);
    this.statusPath = path.join(this.dir, RUN_FILES.status);
    this.metricsPath = path.join(this.dir, RUN_FILES.metrics);
    this.checkpointsDir = path.join(this.dir, RUN_FILES.checkpoints);
  }

  readConfig(): Record<string, unknown> {
    const config = readJsonFile(this.configPath);
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new Error(`${this.configPath} is not a JSON object`);
    }
    return config as Record<string, unknown>;
  }

  readSplit(): unknown {
    return readJsonFile(this.splitPath);
  }

  readStatus(): RunStatus {
    return readStatusFile(this.statusPath);
  }

  /** Merges `update` into status.json (atomically); pid/hostname become this process's. */
  writeStatus(update: RunStatusUpdate): RunStatus {
    return writeStatusFile(this.statusPath, update);
  }

  readMetrics(): MetricsRead {
    return readMetrics(this.metricsPath);
  }

  /** Opens metrics.jsonl for appending (cutting off a torn last line left by a crash). */
  openMetricsLog(): MetricsLog {
    return new MetricsLog(this.metricsPath);
  }

  checkpointPath(step: number): string {
    return path.join(this.checkpointsDir, checkpointFileName(step));
  }

  /** Steps that have a complete checkpoint, ascending (temp files of unfinished writes are skipped). */
  listCheckpoints(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.checkpointsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const steps: number[] = [];
    for (const name of names) {
      const m = CHECKPOINT_FILE.exec(name);
      if (m) steps.push(Number(m[1]));
    }
    return steps.sort((a, b) => a - b);
  }

  latestCheckpoint(): number | null {
    const steps = this.listCheckpoints();
    return steps.length > 0 ? steps[steps.length - 1] : null;
  }

  /** Writes a checkpoint atomically; returns its path. */
  writeCheckpoint(step: number, bytes: Uint8Array): string {
    const file = this.checkpointPath(step);
    fs.mkdirSync(this.checkpointsDir, { recursive: true });
    writeFileAtomic(file, bytes);
    return file;
  }

  /** The checkpoint's bytes; UsageError (field `step`) naming the available steps if absent. */
  readCheckpoint(step: number): Uint8Array {
    const file = this.checkpointPath(step);
    try {
      return new Uint8Array(fs.readFileSync(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const steps = this.listCheckpoints();
      throw new UsageError({
        field: 'step',
        message: `run "${this.id}" has no checkpoint at step ${step}; available: ${steps.length > 0 ? steps.join(', ') : 'none'}`,
      });
    }
  }

  /** Removes checkpoints with a step greater than `step` (when resuming from `step`); returns their steps. */
  deleteCheckpointsAfter(step: number): number[] {
    const removed = this.listCheckpoints().filter((s) => s > step);
    for (const s of removed) fs.rmSync(this.checkpointPath(s), { force: true });
    if (removed.length > 0) fsyncDir(this.checkpointsDir);
    return removed;
  }
}

export type RunListState = RunState | 'interrupted' | 'broken';

export interface RunSummary {
  id: string;
  /** 'interrupted': status says running but its process is gone (checked on this host only). */
  state: RunListState;
  /** Last step in status.json; null for a broken run. */
  step: number | null;
  lastMetrics: MetricsRecord | null;
  config: Record<string, unknown> | null;
  /** ISO time the run folder was made. */
  createdAt: string;
  status: RunStatus | null;
  /** Why a run is 'broken'. */
  reason?: string;
}

function summarize(runsDir: string, id: string): RunSummary {
  const run = new RunFolder(runsDir, id);
  const config = run.readConfig();
  const status = run.readStatus();
  const { records } = run.readMetrics();
  const createdAt = status.created_at ?? fs.statSync(run.configPath).mtime.toISOString();
  return {
    id,
    state: isInterrupted(status) ? 'interrupted' : status.state,
    step: status.step,
    lastMetrics: records.length > 0 ? records[records.length - 1] : null,
    config,
    createdAt,
    status,
  };
}

function brokenSummary(runsDir: string, id: string, reason: string): RunSummary {
  const mtime = fs.statSync(path.join(runsDir, id), { throwIfNoEntry: false })?.mtime ?? new Date(0);
  return {
    id,
    state: 'broken',
    step: null,
    lastMetrics: null,
    config: null,
    createdAt: mtime.toISOString(),
    status: null,
    reason,
  };
}

/**
 * Every run in `runsDir`, oldest first. Dot folders (temp folders of runs being created) are
 * skipped; a folder that cannot be read as a run is listed as 'broken' with a reason.
 */
export function listRuns(runsDir: string): RunSummary[] {
  const summaries = runDirNames(runsDir).map((id) => {
    try {
      validateRunId(id);
      return summarize(runsDir, id);
    } catch (err) {
      return brokenSummary(runsDir, id, (err as Error).message);
    }
  });
  return summaries.sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
