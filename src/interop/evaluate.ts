/**
 * Evaluation records for checkpoints trained elsewhere, made by the trainer's own evaluate(), so an
 * imported run's metrics.jsonl means exactly what a trained run's does.
 */
import type { RunConfig } from '../config/schema.ts';
import { buildModel, type Model } from '../models/index.ts';
import { loadParams } from '../runner/checkpoint.ts';
import type { StoredTensor } from '../runs/index.ts';
import type { Split, TaskData } from '../tasks/index.ts';
import { selectExamples } from '../train/data.ts';
import { type EvalRecord, Trainer } from '../train/trainer.ts';

export class CheckpointEvaluator {
  /** Holds the parameters of the checkpoint evaluated last. */
  readonly model: Model;
  private readonly trainer: Trainer;

  constructor(config: RunConfig, task: TaskData, split: Split) {
    this.model = buildModel(config.model, task, config.seed);
    const train = selectExamples(task.inputs, task.labels, task.seqLen, split.train);
    const test = selectExamples(task.inputs, task.labels, task.seqLen, split.test);
    this.trainer = new Trainer(this.model, train, test, config.train, config.eval, config.seed);
  }

  /** Loads `params` into the model and evaluates it as the trainer does at `step`. */
  evaluate(params: Map<string, StoredTensor>, step: number): EvalRecord {
    loadParams(this.model, params);
    this.trainer.restore({ step, wallSeconds: 0, optimizer: { tensors: new Map(), updates: 0 } }, [], false);
    // No training happened here: no training seconds to report.
    return { ...this.trainer.evaluate(), wall_s: 0 };
  }
}
