/**
 * What every checkpoint of a run is analysed against, built once: the config, the dataset in task
 * order, the split, a float32 model to load checkpoints into, and the initial network (for distance
 * from initialization and feature movement).
 */
import type { RunConfig } from '../config/schema.ts';
import type { Data } from '../engine/tensor.ts';
import { openExperiment, type RunExperiment } from '../experiment/open.ts';
import type { Model, ModelIO } from '../models/index.ts';
import type { RunFolder } from '../runs/index.ts';
import type { Split, TaskData } from '../tasks/index.ts';
import type { Examples } from '../train/data.ts';
import type { LossKind } from './losses.ts';
import { probeModel } from './probe.ts';
import type { ModularOperands } from './progress.ts';
import type { Weights } from './views.ts';

export interface RunContext {
  run: RunFolder;
  /** The run's experiment: more models of its architecture, at any checkpoint. */
  experiment: RunExperiment;
  config: RunConfig;
  task: TaskData;
  io: ModelIO;
  split: Split;
  train: Examples;
  loss: LossKind;
  model: Model;
  parameters: number;
  init: Weights;
  initHidden: Data;
  /** Modular tasks: p; null otherwise. */
  p: number | null;
  /** Modular tasks whose examples are the full p×p grid (all but division): for per-neuron frequencies. */
  grid: ModularOperands | null;
  /** a+b and a−b only: for the restricted and excluded loss. */
  circuit: ModularOperands | null;
}

function copyWeights(model: Model): Weights {
  const weights: Weights = new Map();
  for (const [name, p] of model.params) weights.set(name, { shape: [...p.shape], data: p.data.slice() });
  return weights;
}

function operandsOf(task: TaskData, p: number, sign: 1 | -1): ModularOperands | null {
  if (task.numExamples !== p * p || task.seqLen < 2) return null;
  const [xAt, yAt] = task.operandPositions ?? [0, 1];
  const a = new Int32Array(task.numExamples);
  const b = new Int32Array(task.numExamples);
  for (let i = 0; i < task.numExamples; i++) {
    a[i] = task.inputs[i * task.seqLen + xAt];
    b[i] = task.inputs[i * task.seqLen + yAt];
  }
  return { p, sign, a, b };
}

export function runContext(run: RunFolder): RunContext {
  const experiment = openExperiment(run);
  const { config, task, io, split, train } = experiment;
  // The same seed gives the same initial weights as the run's step 0 (initialization is seeded).
  const model = experiment.createModel();
  const init = copyWeights(model);
  let parameters = 0;
  for (const p of model.params.values()) parameters += p.size;
  const initHidden = probeModel(model, task.inputs, task.numExamples).hidden;
  const modular = config.task.kind === 'modular' ? config.task : null;
  const p = modular ? modular.p : null;
  const grid = modular && p !== null ? operandsOf(task, p, 1) : null;
  const sign = modular?.op === 'add' ? 1 : modular?.op === 'sub' ? -1 : null;
  const circuit = grid && sign !== null ? { ...grid, sign: sign as 1 | -1 } : null;
  return {
    run,
    experiment,
    config,
    task,
    io,
    split,
    train,
    loss: config.train.loss,
    model,
    parameters,
    init,
    initHidden,
    p,
    grid,
    circuit,
  };
}
