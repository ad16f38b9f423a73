/**
 * The layout of `analysis/analysis.json`: everything `groklab analyze` found, per checkpoint, plus the
 * run's curves, so that plots can be drawn from this file alone. docs/analysis.md describes each field.
 */
import type { ModelSpec } from '../models/index.ts';
import type { FrequencyAblation } from './ablation.ts';
import type { HeadSummary } from './attention.ts';
import type { FeatureMovement } from './features.ts';
import type { SpectrumSummary } from './fourier.ts';
import type { HessianSummary } from './hessian.ts';
import type { NeuronFrequencySummary } from './neurons.ts';
import type { NormsSummary } from './norms.ts';
import type { PatchingResult } from './patching.ts';
import type { PhasesSummary } from './phases.ts';
import type { ProgressMeasures } from './progress.ts';
import type { PruningResult } from './pruning.ts';
import type { ViewName } from './views.ts';

export const ANALYSIS_FORMAT = 'groklab-analysis-1';
/** Bumped whenever a measure changes meaning: files of another version are recomputed from scratch. */
export const ANALYSIS_VERSION = 1;
export const ANALYSIS_DIR = 'analysis';
export const ANALYSIS_FILE = 'analysis.json';

export interface KeyFrequencySet {
  /** Ascending; used by every checkpoint's progress measures and run_key_energy_fraction. */
  frequencies: number[];
  /**
   * 'user': given with --key-freqs; 'embedding': the sparse cut of the embedding spectrum at
   * `from_step`; 'all': that spectrum was not sparse (no frequency stands out), so every
   * non-constant frequency is used.
   */
  source: 'user' | 'embedding' | 'all';
  from_step: number | null;
  /** The embedding spectrum's cut at from_step, whatever was chosen. */
  gap_ratio: number | null;
  sparse: boolean | null;
}

export interface CheckpointLosses {
  train_loss: number;
  test_loss: number;
  train_acc: number;
  test_acc: number;
}

export interface HessianRecord extends HessianSummary {
  requested_iterations: number;
  requested_top: number;
}

export interface CheckpointAnalysis {
  step: number;
  /** Size and modification time of the checkpoint file: a changed file is analysed again. */
  source: { bytes: number; mtime_ms: number };
  /** Recomputed from the checkpoint over the run's split (float32, as in training). */
  losses: CheckpointLosses;
  norms: NormsSummary;
  /** Modular tasks: spectra of the views in views.ts. */
  fourier: Partial<Record<ViewName, SpectrumSummary>> | null;
  /** Modular a+b and a−b: restricted and excluded loss for the run's key frequencies. */
  progress: ProgressMeasures | null;
  /** Modular tasks: dominant frequency of each neuron of the last hidden layer. */
  neurons: NeuronFrequencySummary | null;
  features: FeatureMovement;
  /** Transformers only. */
  attention: HeadSummary[] | null;
  /** Only at the checkpoints chosen for it (--hessian-steps). */
  hessian: HessianRecord | null;
  /** Only at the checkpoints chosen for it (--prune-steps). */
  pruning: PruningResult | null;
}

export interface AnalysisDocument {
  format: typeof ANALYSIS_FORMAT;
  version: number;
  groklab_version: string;
  run_id: string;
  generated_at: string;
  /** The run's state when analysed: analysing a run that is still training is allowed. */
  run: { state: string; step: number | null; checkpoints: number[] };
  task: {
    kind: string;
    description: string;
    /** Modular tasks: the modulus and operation. */
    p: number | null;
    op: string | null;
    classes: number;
    train_examples: number;
    test_examples: number;
  };
  model: { kind: string; parameters: number; spec: ModelSpec };
  key_frequencies: KeyFrequencySet | null;
  /** From src/measures (groklab detect); null with `detect_error` when the log cannot be judged. */
  detect: {
    verdict: string;
    t_mem: number | null;
    t_grok_onset: number | null;
    t_grok_crossing: number | null;
    /** The test accuracy t_grok_crossing is measured at (absent in analyses written before it was recorded: 0.9). */
    grok_threshold?: number;
  } | null;
  detect_error: string | null;
  phases: PhasesSummary | null;
  /** metrics.jsonl, column-wise: the dense train/test curves to draw next to the checkpoint measures. */
  curves: {
    step: number[];
    train_loss: Array<number | null>;
    test_loss: Array<number | null>;
    train_acc: Array<number | null>;
    test_acc: Array<number | null>;
    weight_norm: Array<number | null>;
  };
  /** Ascending by step. */
  checkpoints: CheckpointAnalysis[];
  /** Transformers on modular tasks: the last analysed checkpoint's attention to the first operand, per head. */
  attention_grid: { step: number; layer: number; p: number; heads: number[][] } | null;
  /** --ablate freq: the latest checkpoint with its key frequencies kept alone and removed. */
  ablation: FrequencyAblation | null;
  /** --patch: one checkpoint run with each site's activations taken from another. */
  patching: PatchingResult | null;
  notes: string[];
}
