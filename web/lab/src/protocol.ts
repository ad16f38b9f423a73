/**
 * Messages between the lab page and a training worker (train-worker.ts). One worker trains one run;
 * the page keeps the run's state (runs.ts). Checkpoint bytes are transferred, not copied.
 */
import type { Override } from '../../../src/config/overrides.ts';
import type { EvalRecord } from '../../../src/train/trainer.ts';

/** Where a run continues from: a checkpoint of this run or of another (a fork). */
export interface ResumePoint {
  /** The run the checkpoint belongs to (the lineage's from_run). */
  fromRun: string;
  step: number;
  checkpoint: Uint8Array;
  /** The run's config as it was (before `overrides`). */
  previousConfig: unknown;
  /** Metrics up to `step` (the stop rule's streak is rebuilt from them). */
  history: EvalRecord[];
  /** The split as split.json holds it: a resume trains on the same examples. */
  split: unknown;
  /** train.* or eval.* changes, recorded in the config's lineage as `groklab resume --set` does. */
  overrides: Override[];
  /** Whether the change is recorded (false: a plain continuation after a reload). */
  record: boolean;
}

export type ToWorker =
  /** Train `config` from scratch, or from `resume`. `threads`: the kernels' threads (first start only). */
  | { type: 'start'; runId: string; config: unknown; threads: number; resume?: ResumePoint }
  /** Stop at the next step, checkpoint it, and wait. */
  | { type: 'pause' }
  /** Continue after a pause. */
  | { type: 'continue' }
  /** Pause, apply train.* / eval.* overrides from the current step (recorded in the lineage), continue. */
  | { type: 'change'; overrides: Override[] };

/** The embedding's Fourier spectrum at one evaluation (modular tasks). */
export interface Spectrum {
  step: number;
  p: number;
  /** √energy per frequency 0..⌊p/2⌋, summed over the embedding's columns. */
  norms: number[];
  /** Key frequencies (fourier.ts selectKeyFrequencies), ascending. */
  key: number[];
  /** Share of the non-constant energy in the key frequencies. */
  keyShare: number;
  /** A few frequencies stand out (gap ratio ≥ 2). */
  sparse: boolean;
}

export type WorkerState = 'running' | 'paused' | 'finished' | 'failed';

export type FromWorker =
  | { type: 'kernels'; name: string; threads: number; note: string | null }
  /** Training is about to run: the resolved config (with any lineage) and the split. */
  | { type: 'started'; config: unknown; split: unknown; step: number }
  | { type: 'eval'; record: EvalRecord; spectrum: Spectrum | null }
  | { type: 'checkpoint'; step: number; bytes: Uint8Array }
  | { type: 'state'; state: WorkerState; step: number; message: string }
  /** A one-line note (e.g. a gradient filter starting fresh). */
  | { type: 'notice'; message: string }
  /** Bad input: every problem with its field (nothing trained). */
  | { type: 'invalid'; problems: Array<{ field: string; message: string }> };
