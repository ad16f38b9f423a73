/**
 * What the page knows about a run in the lab: the state the components draw. runs.ts owns and
 * updates it; components read it and call the actions of LabActions.
 */
import type { Override } from '../../../src/config/overrides.ts';
import type { RunConfig } from '../../../src/config/schema.ts';
import type { DetectResult } from '../../../src/measures/types.ts';
import type { EvalRecord } from '../../../src/train/trainer.ts';
import type { Spectrum } from './protocol.ts';

/**
 * new: created, not started; running / paused / finished / failed as the worker says; stopped: the
 * page was reloaded while it trained (resumable from its last checkpoint); imported: a log or run
 * folder brought in to view (not trainable unless it has checkpoints).
 */
export type LabRunState = 'new' | 'running' | 'paused' | 'finished' | 'failed' | 'stopped' | 'imported';

export interface LabRun {
  id: string;
  /** What the user called it, e.g. "demo, wd 0". */
  label: string;
  color: string;
  /** null for an imported CSV/JSONL log. */
  config: RunConfig | null;
  split: unknown | null;
  records: EvalRecord[];
  /** The embedding's spectrum at the latest evaluation (modular tasks). */
  spectrum: Spectrum | null;
  /** Share of the embedding's energy in its key frequencies, per evaluation. */
  keyShare: Array<{ step: number; share: number }>;
  /** Steps with a checkpoint. */
  checkpoints: number[];
  state: LabRunState;
  step: number;
  message: string;
  /** The kernels training it ("wasm-fma, 2 threads"). */
  kernels: string | null;
  detect: DetectResult | null;
  createdAt: string;
}

export interface ConfigProblem {
  field: string;
  message: string;
}

export interface LabActions {
  /** Validates and creates a run (not started); problems instead when the config is bad. */
  create(config: unknown, label?: string): { id: string } | { problems: ConfigProblem[] };
  start(id: string): void;
  pause(id: string): void;
  resume(id: string): void;
  /** Starts the run again from step 0 with the same config (its history is discarded). */
  reset(id: string): void;
  /** Changes train.* / eval.* settings from the current step (recorded in the lineage). */
  change(id: string, overrides: Override[]): void;
  /** A new run continuing from checkpoint `step` of `id`, with optional overrides. */
  fork(id: string, step: number, overrides?: Override[]): void;
  remove(id: string): void;
  /** A zip of the run folder, as `groklab import` and `groklab detect` read it. */
  exportZip(id: string): Promise<Blob>;
  /** A zip of a run folder, or a CSV / JSONL log. */
  importFile(file: File): Promise<{ id: string } | { error: string }>;
}
