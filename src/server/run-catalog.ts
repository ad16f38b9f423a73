/**
 * What the dashboard knows about the runs directory: one row per run (state, key config, latest
 * accuracies, verdict and t_grok from src/measures' detectRun) and the sweeps. Everything is cached
 * per run and recomputed only when the run's files change (size, mtime and inode of config.json,
 * status.json and metrics.jsonl), so a directory of hundreds of finished runs lists in milliseconds
 * after the first time, and a run that is training costs one detectRun per change (at most one per
 * `detectIntervalMs`). Whether a "running" run's process is still alive is checked on every listing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/schema.ts';
import { readRunConfig } from '../experiment/open.ts';
import { type DetectResult, detectRun } from '../measures/index.ts';
import type { ModelSpec } from '../models/index.ts';
import { isInterrupted, RUN_FILES, type RunStatus, readStatusFile, validateRunId } from '../runs/index.ts';
import { readSweepManifest, type SweepManifest } from '../sweep/manifest.ts';
import type { BinarySequence } from '../tasks/binary.ts';
import { MODULAR_FORMULAS } from '../tasks/modular.ts';
import { PERMUTATION_FORMULAS } from '../tasks/permutation.ts';
import { type TaskSpec, trainFractionOf } from '../tasks/spec.ts';
import { UsageError } from '../util/errors.ts';
import type {
  LastMetrics,
  MetricsRecord,
  RunListResponse,
  RunRow,
  RunRowState,
  SweepCellRow,
  SweepDetailResponse,
  SweepSummary,
} from './api-types.ts';
import { readLastRecord } from './metrics-tail.ts';
import { NotFoundError, type RunsRoot, runDirOf, runsRoot, sweepFileOf } from './paths.ts';

export interface DetectEntry {
  detect: DetectResult | null;
  error: string | null;
}

interface CachedRun {
  signature: string;
  /** The row as of the files; `state` is refreshed on every read (the process may have died). */
  row: RunRow;
  status: RunStatus | null;
}

interface CachedDetect extends DetectEntry {
  signature: string;
  at: number;
}

export interface CatalogOptions {
  /** A run whose files keep changing is analysed again at most this often (default 1000 ms). */
  detectIntervalMs?: number;
}

function fileSignature(file: string): string {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? `${stat.size}:${stat.mtimeMs}:${stat.ino}` : '-';
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** "x+y mod 47", "S5 x·y", "D6 compose", "sparse parity n=40 k=3". */
export function describeTask(task: TaskSpec): string {
  switch (task.kind) {
    case 'modular':
      return `${MODULAR_FORMULAS[task.op]} mod ${task.p}${task.nonzero_y ? ', y ≠ 0' : ''}${sequenceNote(task.sequence)}`;
    case 'permutation':
      return `S${task.n} ${PERMUTATION_FORMULAS[task.op]}${sequenceNote(task.sequence)}`;
    case 'dihedral':
      return `D${task.n} ${task.op}${sequenceNote(task.sequence)}`;
    case 'parity':
      return `sparse parity n=${task.n_bits} k=${task.k}`;
    case 'mnist':
      return `MNIST, ${task.train_size} training images`;
    case 'mixture':
      return `mixture: ${task.components.map((c) => describeTask({ ...c, kind: c.kind } as TaskSpec)).join(' · ')}`;
  }
}

/** Nothing for the default [x, y, =]; the layout otherwise. */
function sequenceNote(sequence: BinarySequence | undefined): string {
  if (sequence === 'x_op_y_eq') return ' as [x, op, y, =]';
  if (sequence === 'x_y') return ' as [x, y]';
  return '';
}

/** "MLP 256×1 quadratic", "transformer 1L d128 4h mlp512". */
export function describeModel(model: ModelSpec): string {
  if (model.kind === 'mlp') {
    const input = model.input === 'embed' ? ` embed${model.embed_dim}` : '';
    return `MLP ${model.width}×${model.depth} ${model.activation}${input}${model.bias === false ? ' no-bias' : ''}`;
  }
  const ln = model.layernorm !== 'none' ? ` ${model.layernorm}-LN` : '';
  return `transformer ${model.layers}L d${model.d_model} ${model.heads}h mlp${model.d_mlp}${ln}`;
}

function lastMetrics(record: MetricsRecord | null): LastMetrics | null {
  if (!record) return null;
  return {
    step: record.step,
    train_acc: num(record.train_acc),
    test_acc: num(record.test_acc),
    train_loss: num(record.train_loss),
    test_loss: num(record.test_loss),
    weight_norm: num(record.weight_norm),
    wall_s: num(record.wall_s),
  };
}

function emptyRow(id: string, state: RunRowState, message: string | null): RunRow {
  return {
    id,
    state,
    message,
    preset: null,
    task: null,
    task_kind: null,
    op: null,
    p: null,
    n: null,
    k: null,
    train_fraction: null,
    model_kind: null,
    model: null,
    optimizer: null,
    lr: null,
    weight_decay: null,
    batch_size: null,
    seed: null,
    total_steps: null,
    step: null,
    last: null,
    verdict: null,
    verdict_reason: null,
    t_mem: null,
    t_grok: null,
    t_grok_onset: null,
    created_at: null,
    updated_at: null,
    sweeps: [],
  };
}

function stateOf(status: RunStatus | null): RunRowState {
  if (!status) return 'broken';
  return isInterrupted(status) ? 'interrupted' : status.state;
}

export class RunCatalog {
  readonly root: RunsRoot;
  private readonly detectIntervalMs: number;
  private readonly runs = new Map<string, CachedRun>();
  private readonly detects = new Map<string, CachedDetect>();
  private readonly manifests = new Map<string, { signature: string; manifest: SweepManifest | null }>();

  constructor(runsDir: string, options: CatalogOptions = {}) {
    this.root = runsRoot(runsDir);
    this.detectIntervalMs = options.detectIntervalMs ?? 1000;
  }

  /** Folder names that can be runs: valid ids, real folders, not hidden, not `sweeps`. */
  runIds(): string[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.root.dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids: string[] = [];
    for (const e of entries) {
      // Symlinks are listed too: one that stays inside the runs directory is a run like any other,
      // one that leads out of it is listed as broken (and never read).
      if (!(e.isDirectory() || e.isSymbolicLink()) || e.name.startsWith('.') || e.name === 'sweeps') continue;
      try {
        ids.push(validateRunId(e.name));
      } catch {
        // Not a valid run id: never served, so not listed either.
      }
    }
    return ids.sort();
  }

  /** The run's folder: UsageError for a bad id (400), NotFoundError when absent or escaping (404). */
  runDir(id: string): string {
    return runDirOf(this.root, id);
  }

  /** One run's row; throws like runDir. */
  row(id: string): RunRow {
    const snap = this.snapshot(id);
    const row = { ...snap.cached.row, state: snap.state };
    const { detect, error } = this.detectFor(id, snap, false);
    row.verdict = detect?.verdict.label ?? null;
    row.verdict_reason = detect?.verdict.reason ?? error;
    row.t_mem = detect?.measures.t_mem ?? null;
    row.t_grok = detect?.measures.t_grok_crossing ?? null;
    row.t_grok_onset = detect?.measures.t_grok_onset ?? null;
    return row;
  }

  /** The run's status as last read (refreshed when its files changed). */
  status(id: string): { state: RunRowState; status: RunStatus | null } {
    const snap = this.snapshot(id);
    return { state: snap.state, status: snap.cached.status };
  }

  /**
   * The run's folder, its cached row (re-read when config.json, status.json or metrics.jsonl
   * changed) and its state now: one path check and three stats per call.
   */
  private snapshot(id: string): { runDir: string; cached: CachedRun; state: RunRowState } {
    const runDir = this.runDir(id);
    const signature = [RUN_FILES.config, RUN_FILES.status, RUN_FILES.metrics]
      .map((name) => fileSignature(path.join(runDir, name)))
      .join('|');
    let cached = this.runs.get(id);
    if (!cached || cached.signature !== signature) {
      cached = this.readRow(id, runDir, signature);
      this.runs.set(id, cached);
    }
    const state = cached.row.state === 'broken' ? 'broken' : stateOf(cached.status);
    return { runDir, cached, state };
  }

  private readRow(id: string, runDir: string, signature: string): CachedRun {
    let config: RunConfig;
    let status: RunStatus;
    try {
      config = readRunConfig(runDir);
      status = readStatusFile(path.join(runDir, RUN_FILES.status));
    } catch (err) {
      return { signature, row: emptyRow(id, 'broken', (err as Error).message.split('\n')[0]), status: null };
    }
    const { task, model, train } = config;
    const row: RunRow = {
      ...emptyRow(id, stateOf(status), status.message ?? null),
      preset: config.preset ?? null,
      task: describeTask(task),
      task_kind: task.kind,
      op: 'op' in task ? task.op : null,
      p: 'p' in task ? task.p : null,
      n: task.kind === 'parity' ? task.n_bits : 'n' in task ? task.n : null,
      k: 'k' in task ? task.k : null,
      train_fraction: trainFractionOf(task),
      model_kind: model.kind,
      model: describeModel(model),
      optimizer: train.optimizer,
      lr: train.lr,
      weight_decay: train.weight_decay,
      batch_size: train.batch_size,
      seed: config.seed,
      total_steps: train.steps,
      step: status.step,
      last: lastMetrics(readLastRecord(path.join(runDir, RUN_FILES.metrics))),
      created_at: status.created_at ?? null,
      updated_at: status.updated_at,
    };
    return { signature, row, status };
  }

  /**
   * detectRun on the run, cached on its metrics and status files and its state. A run whose log
   * keeps growing is re-analysed at most every detectIntervalMs; `fresh` tells whether the entry
   * reflects the files as they are now.
   */
  detect(id: string, options: { force?: boolean } = {}): DetectEntry & { fresh: boolean } {
    return this.detectFor(id, this.snapshot(id), options.force ?? false);
  }

  private detectFor(
    id: string,
    snap: { runDir: string; cached: CachedRun; state: RunRowState },
    force: boolean,
  ): DetectEntry & { fresh: boolean } {
    // The run's files and its state (the verdict's notes say whether it is still running).
    const signature = `${snap.cached.signature}|${snap.state}`;
    const cached = this.detects.get(id);
    if (cached && cached.signature === signature) return { ...cached, fresh: true };
    const now = Date.now();
    if (cached && !force && now - cached.at < this.detectIntervalMs) return { ...cached, fresh: false };
    let entry: CachedDetect;
    try {
      entry = { detect: detectRun(snap.runDir), error: null, signature, at: now };
    } catch (err) {
      entry = { detect: null, error: (err as Error).message.split('\n')[0], signature, at: now };
    }
    this.detects.set(id, entry);
    return { ...entry, fresh: true };
  }

  /** Every run (oldest first) and every sweep, with each run's sweeps filled in. */
  list(): RunListResponse {
    const ids = this.runIds();
    const present = new Set(ids);
    for (const id of [...this.runs.keys()]) if (!present.has(id)) this.runs.delete(id);
    for (const id of [...this.detects.keys()]) if (!present.has(id)) this.detects.delete(id);
    const rows = ids.map((id) => {
      try {
        return this.row(id);
      } catch (err) {
        const reason = err instanceof NotFoundError ? err.detail : (err as Error).message.split('\n')[0];
        return emptyRow(id, 'broken', reason);
      }
    });
    const manifests = this.manifestsNow();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const m of manifests) {
      for (const cell of m.cells) byId.get(cell.run_id)?.sweeps.push(m.name);
    }
    for (const row of rows) row.sweeps = [...new Set(row.sweeps)];
    rows.sort(
      (a, b) =>
        Date.parse(a.created_at ?? '') - Date.parse(b.created_at ?? '') ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    return {
      runs_dir: this.root.dir,
      runs: rows,
      sweeps: manifests.map((m) => summarizeSweep(m, byId)),
      generated_at: new Date().toISOString(),
    };
  }

  /** Valid sweep manifests, by name; a malformed one is left out of the list. */
  private manifestsNow(): SweepManifest[] {
    const root = path.join(this.root.dir, 'sweeps');
    let names: string[] = [];
    try {
      names = fs
        .readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const found: SweepManifest[] = [];
    for (const name of names) {
      const manifest = this.manifest(name);
      if (manifest) found.push(manifest);
    }
    for (const name of [...this.manifests.keys()]) if (!names.includes(name)) this.manifests.delete(name);
    return found;
  }

  /** One sweep's manifest (cached on the file), or null when it is missing, escaping or malformed. */
  private manifest(name: string): SweepManifest | null {
    let file: string;
    try {
      file = sweepFileOf(this.root, name);
    } catch {
      return null;
    }
    const signature = fileSignature(file);
    const cached = this.manifests.get(name);
    if (cached && cached.signature === signature) return cached.manifest;
    let manifest: SweepManifest | null;
    try {
      manifest = readSweepManifest(this.root.dir, name);
    } catch {
      manifest = null;
    }
    this.manifests.set(name, { signature, manifest });
    return manifest;
  }

  /** A sweep with the state and measures of every cell's run; throws UsageError / NotFoundError. */
  sweep(name: string): SweepDetailResponse {
    sweepFileOf(this.root, name);
    const manifest = this.manifest(name);
    if (!manifest) {
      throw new UsageError({
        field: 'sweep',
        message: `sweeps/${name}/sweep.json is not a groklab sweep manifest`,
      });
    }
    const cells = manifest.cells.map((cell): SweepCellRow => {
      const base: SweepCellRow = {
        run_id: cell.run_id,
        values: cell.values,
        state: 'missing',
        verdict: null,
        t_mem: null,
        t_grok: null,
        t_grok_onset: null,
        final_test_acc: null,
        final_train_acc: null,
        final_train_loss: null,
        final_test_loss: null,
        last_step: null,
      };
      try {
        const row = this.row(cell.run_id);
        const measures = this.detect(cell.run_id).detect?.measures;
        return {
          ...base,
          state: row.state,
          verdict: row.verdict,
          t_mem: row.t_mem,
          t_grok: row.t_grok,
          t_grok_onset: row.t_grok_onset,
          final_test_acc: measures?.final_test_acc ?? row.last?.test_acc ?? null,
          final_train_acc: measures?.final_train_acc ?? row.last?.train_acc ?? null,
          final_train_loss: row.last?.train_loss ?? null,
          final_test_loss: row.last?.test_loss ?? null,
          last_step: measures?.last_step ?? row.last?.step ?? null,
        };
      } catch {
        return base; // a bad id or a run that is not there (yet): shown as missing
      }
    });
    return {
      name: manifest.name,
      created_at: manifest.created_at,
      spec: manifest.spec,
      axes: manifest.axes,
      cells,
    };
  }
}

function summarizeSweep(m: SweepManifest, rows: Map<string, RunRow>): SweepSummary {
  const states: Record<string, number> = {};
  let grokked = 0;
  for (const cell of m.cells) {
    const row = rows.get(cell.run_id);
    const state = row?.state ?? 'missing';
    states[state] = (states[state] ?? 0) + 1;
    if (row?.verdict === 'grokked') grokked++;
  }
  return { name: m.name, created_at: m.created_at, axes: m.axes, cells: m.cells.length, states, grokked };
}
