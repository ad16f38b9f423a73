/**
 * An experiment: what a config turns into before anything is trained. The one place that wires
 * config → task → split → examples → model → trainer; the runner, analysis, the benchmark and the
 * browser all build theirs here. Browser-safe: nothing here touches Node.
 */
import type { RunConfig } from '../config/schema.ts';
import { buildModel, type Model, type ModelIO } from '../models/index.ts';
import { buildTask, makeSplit, type Split, splitFromJson, type TaskData } from '../tasks/index.ts';
import { type Examples, selectExamples } from '../train/data.ts';
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

/** The config's training fraction; tasks without one (MNIST) bring their own split. */
function trainFraction(config: RunConfig): number {
  if (config.task.kind === 'mnist') throw new Error('buildExperiment: an mnist task brings its own split');
  return config.task.train_fraction;
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
      : (task.split ?? makeSplit(task.numExamples, trainFraction(config), config.split_seed));
  const io: ModelIO = {
    vocabSize: task.vocabSize,
    seqLen: task.seqLen,
    numClasses: task.numClasses,
    features: task.features,
  };
  const train = selectExamples(task.inputs, task.labels, task.seqLen, chosen.train);
  const test = selectExamples(task.inputs, task.labels, task.seqLen, chosen.test);
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
      new Trainer(model, train, test, config.train, config.eval, config.seed),
  };
}
