/**
 * Evaluation records for checkpoints trained elsewhere, made by the trainer's own evaluate(), so an
 * imported run's metrics.jsonl means exactly what a trained run's does.
 */
import type { Experiment } from '../experiment/build.ts';
import type { Model } from '../models/index.ts';
import { loadParams } from '../runs/checkpoint.ts';
import type { StoredTensor } from '../runs/index.ts';
import type { EvalRecord, Trainer } from '../train/trainer.ts';

export class CheckpointEvaluator {
  /** Holds the parameters of the checkpoint evaluated last. */
  readonly model: Model;
  private readonly trainer: Trainer;

  constructor(experiment: Experiment) {
    this.model = experiment.createModel();
    this.trainer = experiment.createTrainer(this.model);
  }

  /** Loads `params` into the model and evaluates it as the trainer does at `step`. */
  evaluate(params: Map<string, StoredTensor>, step: number): EvalRecord {
    loadParams(this.model, params);
    this.trainer.restore({ step, wallSeconds: 0, optimizer: { tensors: new Map(), updates: 0 } }, [], false);
    // No training happened here: no training seconds to report.
    return { ...this.trainer.evaluate(), wall_s: 0 };
  }
}
