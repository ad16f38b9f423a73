/**
 * `groklab import`: TransformerLens checkpoints (one per training step) become a groklab run folder:
 * config.json and split.json from the task options, the parameters as groklab checkpoints, and one
 * evaluation per checkpoint in metrics.jsonl, so that `analyze` and `detect` work on it.
 */
import { applyOverrides, type Override } from '../config/overrides.ts';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import { getKernels } from '../engine/kernels-default.ts';
import { buildExperiment } from '../experiment/build.ts';
import type { ModelIO, TransformerSpec } from '../models/index.ts';
import { encodeCheckpoint } from '../runs/checkpoint.ts';
import {
  checkRunIdFree,
  createRunFolder,
  type MetricsRecord,
  newRunId,
  type RunFolder,
  rewriteMetrics,
  type StoredTensor,
} from '../runs/index.ts';
import { type Split, splitFromJson, splitToJson, type TaskData } from '../tasks/index.ts';
import type { EvalRecord } from '../train/trainer.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { CheckpointEvaluator } from './evaluate.ts';

import { checkpointSteps } from './steps.ts';
import { parseHookedTransformerConfig } from './tl-config.ts';
import { readTensorFile } from './tl-file.ts';
import { fromTransformerLens } from './tl-weights.ts';

export interface ImportRequest {
  files: string[];
  /** The HookedTransformerConfig, parsed from its JSON file. */
  tlConfig: unknown;
  /** The `task` section of the run config (train_fraction may be left to a given split). */
  task: Record<string, unknown>;
  seed: number;
  /** A split.json (groklab's format) holding the training set the checkpoints were trained on. */
  split?: unknown;
  /** One step per file, in file order; default: from each file's metadata or name. */
  steps?: number[];
  /** `--set` changes to the written config: train.* and eval.* (e.g. the real lr or weight decay). */
  overrides: Override[];
  runsDir: string;
  id?: string;
}

export interface ImportOutcome {
  run: RunFolder;
  records: EvalRecord[];
  /** Things worth saying that are not errors (ignored config keys). */
  notes: string[];
}

/**
 * Recorded as the run's training settings, which the checkpoints do not carry: those of Nanda et
 * al. (AdamW, lr 1e-3, weight decay 1, full batch). Only `loss` (scored) and `lr` (logged) enter the
 * evaluations; `--set train.…` records the real ones.
 */
const TRAIN_DEFAULTS = {
  optimizer: 'adamw',
  lr: 1e-3,
  weight_decay: 1,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  momentum: 0,
  warmup_steps: 0,
  batch_size: 'full',
  loss: 'cross_entropy',
  stop_test_acc: null,
  stop_patience: 1,
} as const;

/** The checkpoint's optimizer kind: none was saved, so a resume starts with fresh optimizer moments. */
const NO_OPTIMIZER = 'none';

/** Sections a `--set` may change: the model comes from the TransformerLens config. */
const SETTABLE = ['seed', 'split_seed', 'task', 'train', 'eval', 'preset'];

interface Checkpoint {
  file: string;
  step: number;
  params: Map<string, StoredTensor>;
}

/** The full run config: task options, the model from the TransformerLens config, training settings recorded for reference. */
function runConfig(request: ImportRequest, spec: TransformerSpec, steps: number[], split?: Split): RunConfig {
  const frozen = request.overrides.filter((o) => !SETTABLE.includes(o.key.split('.')[0]));
  if (frozen.length > 0) {
    throw new UsageError(
      frozen.map((o) => ({
        field: o.key,
        message: `cannot be set on import (the model comes from --config); allowed: ${SETTABLE.map((s) => `${s}.*`).join(', ')}`,
      })),
    );
  }
  const task = { ...request.task };
  if (task.train_fraction === undefined && split !== undefined) {
    task.train_fraction = split.train.length / (split.train.length + split.test.length);
  }
  const last = steps[steps.length - 1];
  const gaps = steps.slice(1).map((s, i) => s - steps[i]);
  const every = Math.max(1, Math.min(...gaps, last));
  const base = {
    seed: request.seed,
    task,
    model: spec,
    train: { ...TRAIN_DEFAULTS, steps: Math.max(1, last) },
    eval: { every, log_points_per_decade: 0, checkpoint_every: every },
  };
  return parseRunConfig(applyOverrides(base, request.overrides));
}

/** The TransformerLens config's sizes must be the task's: the same tokens in, the same classes out. */
function checkSizes(io: ModelIO, task: TaskData): void {
  const problems: FieldProblem[] = [];
  const check = (field: string, given: number, needed: number, what: string) => {
    if (given !== needed) {
      problems.push({
        field,
        message: `must be ${needed} for ${task.description} (${what}); the config gives ${given}`,
      });
    }
  };
  check('d_vocab', io.vocabSize, task.vocabSize, 'its input tokens, "=" included');
  check('n_ctx', io.seqLen, task.seqLen, 'tokens per example, "=" included');
  check('d_vocab_out', io.numClasses, task.numClasses, 'its answer classes');
  if (problems.length > 0) throw new UsageError(problems);
}

/** Reads every file and converts it, before anything is written. */
function readCheckpoints(request: ImportRequest, spec: TransformerSpec, io: ModelIO): Checkpoint[] {
  if (request.files.length === 0) {
    throw new UsageError({ field: 'file', message: 'give at least one safetensors checkpoint file' });
  }
  const read = request.files.map((file) => ({ file, ...readTensorFile(file) }));
  const steps = checkpointSteps(read, request.steps);
  return read
    .map(({ file, tensors }, i) => ({
      file,
      step: steps[i],
      params: fromTransformerLens(tensors, spec, io, file),
    }))
    .sort((a, b) => a.step - b.step);
}

/** Validates everything, then writes the run folder in one piece (see createRunFolder). */
export function importTransformerLens(request: ImportRequest): ImportOutcome {
  getKernels(); // a bad GROKLAB_KERNELS or GROKLAB_THREADS is reported before any work
  const { spec, io, notes } = parseHookedTransformerConfig(request.tlConfig);
  if (request.id !== undefined) checkRunIdFree(request.runsDir, request.id, '--id');
  const checkpoints = readCheckpoints(request, spec, io);
  const steps = checkpoints.map((c) => c.step);

  const givenSplit = request.split === undefined ? undefined : splitFromJson(request.split);
  const config = runConfig(request, spec, steps, givenSplit);
  const experiment = buildExperiment(config, request.split);
  checkSizes(io, experiment.task);

  const id = request.id ?? newRunId('import', request.runsDir);
  const records: EvalRecord[] = [];
  const run = createRunFolder(
    request.runsDir,
    id,
    { config: config as unknown as Record<string, unknown>, split: splitToJson(experiment.split) },
    (staged) => {
      const evaluator = new CheckpointEvaluator(experiment);
      for (const { step, params } of checkpoints) {
        records.push(evaluator.evaluate(params, step));
        const state = { step, wallSeconds: 0, optimizer: { tensors: new Map(), updates: 0 } };
        staged.writeCheckpoint(step, encodeCheckpoint(evaluator.model, state, NO_OPTIMIZER));
      }
      rewriteMetrics(staged.metricsPath, records as unknown as MetricsRecord[]);
      const from = checkpoints.length === 1 ? checkpoints[0].file : `${checkpoints.length} files`;
      staged.writeStatus({
        state: 'finished',
        step: steps[steps.length - 1],
        message: `imported from TransformerLens checkpoints (${from})`,
        // Evaluations round differently on other kernels (see RunStatusSchema).
        kernels: getKernels().name,
      });
    },
  );
  return { run, records, notes };
}
