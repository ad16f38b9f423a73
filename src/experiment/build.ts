/**
 * An experiment: what a config turns into before anything is trained. The one place that wires
 * config → task → split → examples → model → trainer; the runner, analysis, the benchmark and the
 * browser all build theirs here. Browser-safe: nothing here touches Node.
 */
import type { RunConfig } from '../config/schema.ts';
import { buildModel, type Model, type ModelIO } from '../models/index.ts';
import {
  buildTask,
  makeMixtureSplit,
  makeSplit,
  type Split,
  splitFromJson,
  type TaskData,
} from '../tasks/index.ts';
import { type Examples, selectExamples } from '../train/data.ts';
import { progressSetup } from '../train/progress-measures.ts';
import { Trainer } from '../train/trainer.ts';

export interface Experiment {
  config: RunConfig;
  task: TaskData;
  /** The data shape the model is built for. */
  io: ModelIO;
  split: Split;
  train: Examples;
  test: Examples;
  /** A model with the config's seeded initial weights (the run's step 0). */
  createModel(): Model;
  /** A trainer for `model` (default: a fresh one) under the config's training and evaluation settings. */
  createTrainer(model?: Model): Trainer;
}

/**
 * The split drawn from split_seed: a mixture splits each component by its own fraction; a task with
 * its own split (MNIST) never gets here.
 */
function drawSplit(config: RunConfig, task: TaskData): Split {
  if (config.task.kind === 'mnist') throw new Error('buildExperiment: an mnist task brings its own split');
  if (config.task.kind === 'mixture') {
    if (!task.components) throw new Error('buildExperiment: a mixture task has no components');
    return makeMixtureSplit(task.components, config.split_seed);
  }
  return makeSplit(task.numExamples, config.task.train_fraction, config.split_seed);
}

/**
 * The experiment of a validated config. `savedSplit` is a run's split.json as read back (checked
 * against the task: UsageError naming `split.*`); without it the split is the task's own (MNIST) or
 * drawn from split_seed.
 */
export function buildExperiment(config: RunConfig, savedSplit?: unknown): Experiment {
  const task = buildTask(config.task);
  const chosen =
    savedSplit !== undefined
      ? splitFromJson(savedSplit, task.numExamples)
      : (task.split ?? drawSplit(config, task));
  const io: ModelIO = {
    vocabSize: task.vocabSize,
    seqLen: task.seqLen,
    numClasses: task.numClasses,
    features: task.features,
  };
  const train = selectExamples(task.inputs, task.labels, task.seqLen, chosen.train, task.components);
  const test = selectExamples(task.inputs, task.labels, task.seqLen, chosen.test, task.components);
  const createModel = () => buildModel(config.model, io, config.seed);
  return {
    config,
    task,
    io,
    split: chosen,
    train,
    test,
    createModel,
    createTrainer: (model = createModel()) =>
      new Trainer(
        model,
        train,
        test,
        config.train,
        config.eval,
        config.seed,
        progressSetup(config.task, task, createModel),
      ),
  };
}
