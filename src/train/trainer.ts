import { accuracy, crossEntropy, mseOneHot } from '../engine/ops.ts';
import { noGrad, type Tensor } from '../engine/tensor.ts';
import type { Model } from '../models/model.ts';
import { type Examples, MinibatchSchedule, sliceExamples } from './data.ts';
import { createOptimizer, type Optimizer } from './optimizers.ts';
import { isCheckpointStep, isEvalStep, learningRate } from './schedule.ts';
import type { EvalSpec, TrainSpec } from './spec.ts';

/** One line of metrics.jsonl. */
export interface EvalRecord {
  step: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  /** ‖θ‖₂ over all parameters. */
  weight_norm: number;
  /** ‖θ‖₂ per parameter tensor. */
  norms: Record<string, number>;
  lr: number;
  /** Seconds of training so far (summed over resumed sessions). */
  wall_s: number;
}

export interface TrainerState {
  step: number;
  wallSeconds: number;
  optimizer: { tensors: Map<string, Float32Array>; updates: number };
}

export interface TrainerHooks {
  onEval?(record: EvalRecord): void;
  onCheckpoint?(step: number): void;
  /** Called after every step; return true to stop (e.g. on SIGINT). */
  onStep?(step: number): boolean | undefined;
}

export type StopReason = 'budget' | 'threshold' | 'interrupted';

/**
 * The train loss became NaN or infinite: every later update would train on garbage, so training
 * stops here. `step` is the step whose parameters gave that loss.
 */
export class TrainingDiverged extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`training diverged at step ${step}: the train loss is ${loss}`);
    this.name = 'TrainingDiverged';
  }
}

/** Examples scored per forward pass during evaluation: bounds memory on large test sets. */
const EVAL_CHUNK = 4096;

export class Trainer {
  step = 0;
  private wallOffset = 0;
  private readonly optimizer: Optimizer;
  private readonly batches: MinibatchSchedule | null;
  private thresholdStreak = 0;
  private lastEvalStep = -1;

  constructor(
    readonly model: Model,
    private readonly train: Examples,
    private readonly test: Examples,
    private readonly spec: TrainSpec,
    private readonly evalSpec: EvalSpec,
    seed: number,
  ) {
    this.optimizer = createOptimizer(spec, model.params);
    const full = spec.batch_size === 'full' || spec.batch_size >= train.count;
    this.batches = full ? null : new MinibatchSchedule(train, spec.batch_size as number, seed);
  }

  /** Restores a checkpointed state; `history` is the metrics logged up to it (for the stop rule). */
  restore(state: TrainerState, history: EvalRecord[], withOptimizerState = true): void {
    this.step = state.step;
    this.wallOffset = state.wallSeconds;
    if (withOptimizerState) this.optimizer.importState(state.optimizer);
    this.thresholdStreak = 0;
    for (const r of history) this.updateStreak(r);
    this.lastEvalStep = history.length > 0 ? history[history.length - 1].step : -1;
  }

  /** Whether the stop rule already holds (e.g. restored from a run that stopped by it). */
  get stopRuleMet(): boolean {
    return this.spec.stop_test_acc !== null && this.thresholdStreak >= this.spec.stop_patience;
  }

  state(wallSeconds: number): TrainerState {
    return { step: this.step, wallSeconds, optimizer: this.optimizer.exportState() };
  }

  get wallSeconds(): number {
    return this.wallOffset + this.sessionSeconds();
  }

  private sessionStart = performance.now();
  private sessionSeconds(): number {
    return (performance.now() - this.sessionStart) / 1000;
  }

  async run(hooks: TrainerHooks = {}): Promise<StopReason> {
    this.sessionStart = performance.now();
    if (this.step === 0 && this.lastEvalStep < 0) this.evaluateAndReport(hooks);
    if (this.step === 0) hooks.onCheckpoint?.(0);
    let lastYield = performance.now();
    while (this.step < this.spec.steps) {
      this.trainStep();
      const evaluated = isEvalStep(this.evalSpec, this.step);
      if (evaluated) this.evaluateAndReport(hooks);
      // Judged at evaluations only, so a resumed run that had already met the rule trains on to its next one.
      const done = evaluated && this.stopRuleMet;
      if (isCheckpointStep(this.evalSpec, this.step) || done || this.step === this.spec.steps) {
        hooks.onCheckpoint?.(this.step);
      }
      if (done) return 'threshold';
      if (hooks.onStep?.(this.step)) return 'interrupted';
      // Let timers, signals and output streams run during long CPU-bound training.
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    return 'budget';
  }

  /** One optimizer update on the next (mini)batch. */
  trainStep(): void {
    const batch = this.batches ? this.batches.batchFor(this.step + 1) : this.train;
    for (const p of this.model.params.values()) p.zeroGrad();
    const logits = this.model.forward(batch.tokens, batch.count);
    const loss = this.loss(logits, batch.labels);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new TrainingDiverged(this.step, value);
    loss.backward();
    this.step++;
    this.optimizer.step(learningRate(this.spec, this.step));
  }

  evaluate(): EvalRecord {
    const trainScore = this.score(this.train);
    const testScore = this.score(this.test);
    const norms: Record<string, number> = {};
    let total = 0;
    for (const [name, p] of this.model.params) {
      let s = 0;
      for (let i = 0; i < p.size; i++) s += p.data[i] * p.data[i];
      norms[name] = Math.sqrt(s);
      total += s;
    }
    return {
      step: this.step,
      train_loss: trainScore.loss,
      train_acc: trainScore.acc,
      test_loss: testScore.loss,
      test_acc: testScore.acc,
      weight_norm: Math.sqrt(total),
      norms,
      lr: learningRate(this.spec, Math.max(this.step, 1)),
      wall_s: this.wallSeconds,
    };
  }

  private evaluateAndReport(hooks: TrainerHooks): void {
    const record = this.evaluate();
    // Caught here too, so that no evaluation of garbage parameters is logged (an empty set scores NaN).
    if (this.train.count > 0 && !Number.isFinite(record.train_loss)) {
      throw new TrainingDiverged(record.step, record.train_loss);
    }
    this.updateStreak(record);
    this.lastEvalStep = record.step;
    hooks.onEval?.(record);
  }

  private updateStreak(record: EvalRecord): void {
    const threshold = this.spec.stop_test_acc;
    this.thresholdStreak = threshold !== null && record.test_acc >= threshold ? this.thresholdStreak + 1 : 0;
  }

  private loss(logits: Tensor, labels: Int32Array): Tensor {
    return this.spec.loss === 'mse' ? mseOneHot(logits, labels) : crossEntropy(logits, labels);
  }

  /** Mean loss and accuracy over a whole example set, in chunks, without recording gradients. */
  private score(examples: Examples): { loss: number; acc: number } {
    if (examples.count === 0) return { loss: Number.NaN, acc: Number.NaN };
    return noGrad(() => {
      let loss = 0;
      let correct = 0;
      for (let start = 0; start < examples.count; start += EVAL_CHUNK) {
        const chunk = sliceExamples(examples, start, Math.min(start + EVAL_CHUNK, examples.count));
        const logits = this.model.forward(chunk.tokens, chunk.count);
        loss += this.loss(logits, chunk.labels).item() * chunk.count;
        correct += accuracy(logits, chunk.labels) * chunk.count;
      }
      return { loss: loss / examples.count, acc: correct / examples.count };
    });
  }
}
