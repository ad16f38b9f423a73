/**
 * The JSON the dashboard API sends (src/server/app.ts) and the dashboard UI reads (web/dashboard).
 * Types only: the UI imports this file with `import type`, so nothing here reaches the browser
 * bundle. Field names are snake_case like the run files they come from.
 */
import type { PhasesSummary } from '../analysis/phases.ts';
import type { DetectResult, VerdictLabel } from '../measures/types.ts';
import type { AxisValue } from '../sweep/manifest.ts';

export type { PhasesSummary } from '../analysis/phases.ts';
export type { DetectResult, VerdictLabel } from '../measures/types.ts';
export type { AxisValue } from '../sweep/manifest.ts';

/** A run's state as listed: 'interrupted' is "running" with its process gone, 'broken' unreadable. */
export type RunRowState = 'running' | 'finished' | 'stopped' | 'failed' | 'interrupted' | 'broken';

/** One row of the run list: what a researcher scans a runs directory for. */
export interface RunRow {
  id: string;
  state: RunRowState;
  /** Why a run is 'broken', or status.json's message ("step budget reached", ...). */
  message: string | null;
  preset: string | null;
  /** "x+y mod 47", "S5 x·y", ... (from the task), or null when the config cannot be read. */
  task: string | null;
  task_kind: string | null;
  op: string | null;
  p: number | null;
  /** n of permutation/dihedral/parity tasks, k of parity. */
  n: number | null;
  k: number | null;
  train_fraction: number | null;
  model_kind: string | null;
  /** "MLP 256 ×1 quadratic", "transformer 1L d128 4h mlp512". */
  model: string | null;
  optimizer: string | null;
  lr: number | null;
  weight_decay: number | null;
  batch_size: number | 'full' | null;
  seed: number | null;
  /** Step budget from the config. */
  total_steps: number | null;
  /** Last step in status.json. */
  step: number | null;
  last: LastMetrics | null;
  verdict: VerdictLabel | null;
  verdict_reason: string | null;
  t_mem: number | null;
  /** First confirmed evaluation with test accuracy ≥ the grok threshold (0.9; 0.8 on MNIST): the "first crossing" t_grok. */
  t_grok: number | null;
  /** Onset of the jump (the detector's t_grok). */
  t_grok_onset: number | null;
  created_at: string | null;
  updated_at: string | null;
  /** Sweeps whose manifest lists this run. */
  sweeps: string[];
}

export interface LastMetrics {
  step: number;
  train_acc: number | null;
  test_acc: number | null;
  train_loss: number | null;
  test_loss: number | null;
  weight_norm: number | null;
  wall_s: number | null;
}

export interface SweepSummary {
  name: string;
  created_at: string;
  axes: Array<{ key: string; values: AxisValue[] }>;
  cells: number;
  /** Counts of the cells' runs by state ('missing': the manifest names a run that is not there). */
  states: Record<string, number>;
  grokked: number;
}

/** GET /api/runs and the `runs` event of GET /api/events. */
export interface RunListResponse {
  runs_dir: string;
  runs: RunRow[];
  sweeps: SweepSummary[];
  /** Server time of the listing (ISO). */
  generated_at: string;
}

/** The `rows` event of GET /api/events: rows that changed or appeared, ids that disappeared. */
export interface RowsEvent {
  changed: RunRow[];
  removed: string[];
  /** The sweep summaries, when they changed. */
  sweeps: SweepSummary[] | null;
  generated_at: string;
}

/** One evaluation as written to metrics.jsonl. */
export interface MetricsRecord {
  step: number;
  train_loss?: number;
  train_acc?: number;
  test_loss?: number;
  test_acc?: number;
  weight_norm?: number;
  norms?: Record<string, number>;
  lr?: number;
  wall_s?: number;
  [key: string]: unknown;
}

export interface RunStatusJson {
  state: string;
  step: number;
  pid: number;
  hostname: string;
  started_at: string;
  updated_at: string;
  created_at?: string;
  message?: string;
  kernels?: string;
}

/** GET /api/runs/:id */
export interface RunDetailResponse {
  id: string;
  row: RunRow;
  config: Record<string, unknown> | null;
  status: RunStatusJson | null;
  /** Every complete record of metrics.jsonl, or with ?max_points=N at most N of them (thin-metrics.ts). */
  metrics: MetricsRecord[];
  /** Complete records in metrics.jsonl (more than metrics.length when thinned). */
  metrics_total: number;
  /**
   * Where the complete lines of metrics.jsonl end (bytes), and the file's identity: pass both to
   * /api/runs/:id/events as `offset` and `file` to receive exactly the records written after these.
   */
  metrics_offset: number;
  metrics_file: string;
  /** Lines that could not be parsed (skipped). */
  bad_lines: number;
  detect: DetectResult | null;
  detect_error: string | null;
  checkpoints: number[];
  /** Whether analysis/analysis.json exists (GET /api/runs/:id/analysis). */
  has_analysis: boolean;
}

/** Payloads of the events of GET /api/runs/:id/events (the SSE `event:` field names them). */
export interface RunEvents {
  /** First event: where the stream starts. */
  hello: { offset: number; file: string; state: RunRowState };
  /** New complete lines of metrics.jsonl, in order; `offset` is where they end. */
  metrics: { records: MetricsRecord[]; offset: number; bad_lines: number };
  /** status.json changed (state, step or message). */
  status: { state: RunRowState; status: RunStatusJson | null };
  /** The detector's result changed (t_mem, t_grok, the verdict). */
  detect: { detect: DetectResult | null; detect_error: string | null };
  /** metrics.jsonl was replaced or shortened (a resume from an earlier checkpoint): fetch the run again. */
  reset: { reason: string };
  /** The run folder is gone. */
  gone: { reason: string };
}

export interface SweepCellRow {
  run_id: string;
  values: Record<string, AxisValue>;
  state: RunRowState | 'missing';
  verdict: VerdictLabel | null;
  t_mem: number | null;
  t_grok: number | null;
  t_grok_onset: number | null;
  final_test_acc: number | null;
  final_train_acc: number | null;
  /** Losses at the run's last evaluation (the LU chart of a train.fixed_norm sweep). */
  final_train_loss: number | null;
  final_test_loss: number | null;
  last_step: number | null;
}

/** GET /api/sweeps/:name */
export interface SweepDetailResponse {
  name: string;
  created_at: string;
  spec: Record<string, unknown>;
  axes: Array<{ key: string; values: AxisValue[] }>;
  cells: SweepCellRow[];
}

/** A spectrum over training: one row per analysed checkpoint, one column per frequency 0..⌊p/2⌋. */
export interface SpectrumSeries {
  norms: number[][];
  gini: number[];
  ipr: number[];
  /** Key frequencies picked at each checkpoint alone. */
  key: number[][];
  run_key_energy_fraction: Array<number | null>;
}

/** GET /api/runs/:id/analysis: the parts of analysis/analysis.json the dashboard draws. */
export interface AnalysisView {
  run_id: string;
  generated_at: string;
  run: { state: string; step: number | null; checkpoints: number[] };
  task: { description: string; p: number | null; op: string | null; classes: number };
  model: { kind: string; parameters: number };
  key_frequencies: { frequencies: number[]; source: string; from_step: number | null } | null;
  detect: {
    verdict: string;
    t_mem: number | null;
    t_grok_onset: number | null;
    t_grok_crossing: number | null;
  } | null;
  phases: PhasesSummary | null;
  /** Analysed checkpoint steps, ascending; every per-checkpoint array below is aligned with it. */
  steps: number[];
  spectra: Record<string, SpectrumSeries>;
  losses: Array<{ train_loss: number; test_loss: number; train_acc: number; test_acc: number }>;
  progress: Array<{ restricted_loss: number; excluded_loss: number; key_logit_energy_share: number } | null>;
  hessian: Array<{ step: number; top_eigenvalues: number[] }>;
  total_norm: Array<number | null>;
  /** metrics.jsonl column-wise as analysed: the dense curves drawn next to the checkpoint measures. */
  curves: {
    step: number[];
    train_loss: Array<number | null>;
    test_loss: Array<number | null>;
    train_acc: Array<number | null>;
    test_acc: Array<number | null>;
    weight_norm: Array<number | null>;
  };
  notes: string[];
}

export interface ApiError {
  error: string;
  field?: string;
}
