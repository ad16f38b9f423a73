import {
  accuracy,
  crossEntropy,
  crossEntropyFloat64,
  crossEntropyFloat64Score,
  crossEntropyScore,
  mseOneHot,
  stablemaxCrossEntropy,
  stablemaxCrossEntropyScore,
} from '../engine/ops.ts';
import { noGrad, type Tensor } from '../engine/tensor.ts';
import type { Model } from '../models/model.ts';
import { type Examples, MinibatchSchedule, sliceExamples } from './data.ts';
import { projectToNorm } from './fixed-norm.ts';
import { createGradFilter, type GradFilter, type GradFilterState } from './grad-filter.ts';
import { createOptimizer, type Optimizer } from './optimizers.ts';
import { type ProgressRecord, type ProgressSetup, ProgressTracker } from './progress-measures.ts';
import { isCheckpointStep, isEvalStep, learningRate } from './schedule.ts';
import type { EvalSpec, GradFilterSpec, TrainSpec } from './spec.ts';

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
  /**
   * Share of the training examples whose own loss, computed as training computes it, is exactly 0
   * (Prieto et al.'s softmax collapse, their zero_terms; counted per kernel, see crossEntropyScore).
   * Absent for mse.
   */
  softmax_collapse?: number;
  /**
   * cos(−g, θ) over all parameters: g the raw loss gradient of the step just taken (before any
   * gradient filter, ⊥Grad projection or L2 term), θ the parameters before it. Near 1: the step
   * mostly scales the weights up (Prieto et al.'s naïve loss minimization). Absent at step 0.
   */
  nlm_cosine?: number;
  /**
   * Mixtures: each component's metrics by name, train metrics over the component's whole training
   * set (whatever eval.train_metrics says), test metrics over its test set.
   */
  components?: Record<string, ComponentMetrics>;
  /** eval.progress: the early-warning progress measures and the warning's step (progress-measures.ts). */
  progress?: ProgressRecord;
}

/** One mixture component's metrics at an evaluation. */
export interface ComponentMetrics {
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
}

/** A set's mean loss and accuracy, and how many of its rows had a loss of exactly 0 (null: mse). */
interface Score {
  loss: number;
  acc: number;
  zeroLossRows: number | null;
}

/** Sums over the training batches since the last evaluation (eval.train_metrics: batches). */
export interface BatchTally {
  loss: number;
  correct: number;
  /** Examples whose loss was exactly 0; null for mse. */
  zeroLoss: number | null;
  count: number;
}

const emptyTally = (): BatchTally => ({ loss: 0, correct: 0, zeroLoss: 0, count: 0 });

export interface TrainerState {
  step: number;
  wallSeconds: number;
  optimizer: { tensors: Map<string, Float32Array>; updates: number };
  /** The gradient filter's state (train.grad_filter); absent: none, or the filter starts fresh. */
  filter?: GradFilterState;
  /** eval.train_metrics batches: the tally since the last evaluation, so a resume continues it. */
  trainBatches?: BatchTally;
}

export interface TrainerHooks {
  onEval?(record: EvalRecord): void;
  /** `last`: the session's final checkpoint (budget or stop rule), as opposed to a scheduled one. */
  onCheckpoint?(step: number, last: boolean): void;
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
  private tally: BatchTally = emptyTally();
  /** train.grad_filter (Grokfast); null when off. */
  private readonly gradFilter: GradFilter | null;
  private readonly batches: MinibatchSchedule | null;
  private thresholdStreak = 0;
  private lastEvalStep = -1;
  private readonly lossFunction: TrainingLoss;
  /** nlm_cosine of the last step that will be evaluated, and that step. */
  private nlm: { step: number; cosine: number | null } | null = null;
  /**
   * train.fixed_norm: whether the parameters have been put on the sphere yet. Not in the
   * constructor: a resume loads the checkpoint's parameters (already on it) before building the
   * trainer, and scaling them again could move their last bits.
   */
  private onFixedNorm = false;
  /** eval.progress: the progress measures and the warning rule; null when off. */
  private readonly progress: ProgressTracker | null;

  constructor(
    readonly model: Model,
    private readonly train: Examples,
    private readonly test: Examples,
    private readonly spec: TrainSpec,
    private readonly evalSpec: EvalSpec,
    seed: number,
    progress?: ProgressSetup,
  ) {
    this.progress =
      progress && evalSpec.progress === true
        ? new ProgressTracker(progress, model, train, test, spec.loss, spec.fixed_norm ?? null)
        : null;
    this.optimizer = createOptimizer(spec, model.params);
    this.gradFilter = createGradFilter(spec.grad_filter, model.params);
    this.lossFunction = trainingLoss(spec);
    const full = spec.batch_size === 'full' || spec.batch_size >= train.count;
    this.batches = full ? null : new MinibatchSchedule(train, spec.batch_size as number, seed);
  }

  /** Restores a checkpointed state; `history` is the metrics logged up to it (for the stop rule). */
  restore(state: TrainerState, history: EvalRecord[], withOptimizerState = true): void {
    this.step = state.step;
    this.wallOffset = state.wallSeconds;
    if (withOptimizerState) this.optimizer.importState(state.optimizer);
    this.gradFilter?.importState(state.filter ?? null);
    this.tally = state.trainBatches ? { ...state.trainBatches } : emptyTally();
    this.onFixedNorm = true;
    this.thresholdStreak = 0;
    for (const r of history) this.updateStreak(r);
    this.lastEvalStep = history.length > 0 ? history[history.length - 1].step : -1;
    this.nlm = null;
    this.progress?.restore(history);
  }

  /** Whether the stop rule already holds (e.g. restored from a run that stopped by it). */
  get stopRuleMet(): boolean {
    return this.spec.stop_test_acc !== null && this.thresholdStreak >= this.spec.stop_patience;
  }

  /** The state to checkpoint; `withFilter` false leaves the gradient filter's out (it can be large). */
  state(wallSeconds: number, withFilter = true): TrainerState {
    const state: TrainerState = { step: this.step, wallSeconds, optimizer: this.optimizer.exportState() };
    if (this.gradFilter !== null && withFilter) state.filter = this.gradFilter.exportState();
    if (this.evalSpec.train_metrics === 'batches') state.trainBatches = { ...this.tally };
    return state;
  }

  /** The gradient filter in use, if any. */
  get gradFilterSpec(): GradFilterSpec | null {
    return this.gradFilter?.spec ?? null;
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
    this.projectInitial();
    if (this.step === 0 && this.lastEvalStep < 0) this.evaluateAndReport(hooks);
    if (this.step === 0) hooks.onCheckpoint?.(0, false);
    let lastYield = performance.now();
    while (this.step < this.spec.steps) {
      this.trainStep();
      const evaluated = isEvalStep(this.evalSpec, this.step);
      if (evaluated) this.evaluateAndReport(hooks);
      // Judged at evaluations only, so a resumed run that had already met the rule trains on to its next one.
      const done = evaluated && this.stopRuleMet;
      if (isCheckpointStep(this.evalSpec, this.step) || done || this.step === this.spec.steps) {
        hooks.onCheckpoint?.(this.step, done || this.step === this.spec.steps);
      }
      if (done) return 'threshold';
      if (hooks.onStep?.(this.step)) return 'interrupted';
      // Let timers, signals and output streams run during long CPU-bound training.
      if (performance.now() - lastYield > 50) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    return 'budget';
  }

  /** One optimizer update on the next (mini)batch. */
  trainStep(): void {
    this.projectInitial();
    const batch = this.batches ? this.batches.batchFor(this.step + 1) : this.train;
    for (const p of this.model.params.values()) p.zeroGrad();
    const logits = this.model.forward(batch.tokens, batch.count);
    const loss = this.loss(logits, batch.labels);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new TrainingDiverged(this.step, value);
    if (this.evalSpec.train_metrics === 'batches') this.tallyBatch(logits, batch, value);
    loss.backward();
    // Measured on the raw gradient, and only for a step that will be evaluated.
    if (isEvalStep(this.evalSpec, this.step + 1)) {
      this.nlm = { step: this.step + 1, cosine: negativeGradientCosine(this.model.params) };
    }
    // Order: backward → the raw-gradient measurement above → the gradient filter → the optimizer
    // (which applies ⊥Grad, then its L2 term or weight decay) → the fixed-norm projection.
    this.gradFilter?.apply();
    this.step++;
    this.optimizer.step(learningRate(this.spec, this.step));
    this.projectFixedNorm();
  }

  /** train.fixed_norm: a fresh run's parameters go onto the sphere once, before anything sees them. */
  private projectInitial(): void {
    if (this.onFixedNorm) return;
    this.onFixedNorm = true;
    if (this.step === 0) this.projectFixedNorm();
  }

  /** train.fixed_norm: scales all parameters so that ‖θ‖₂ = fixed_norm (nothing when off). */
  private projectFixedNorm(): void {
    const norm = this.spec.fixed_norm;
    if (norm !== null && norm !== undefined) projectToNorm(this.model.params.values(), norm);
  }

  /** Adds a training batch, scored before its update, to the tally the next evaluation reports. */
  private tallyBatch(logits: Tensor, batch: Examples, meanLoss: number): void {
    const zeroLoss = noGrad(() => this.lossFunction.score(logits, batch.labels).zeroLossRows);
    const t = this.tally;
    t.loss += meanLoss * batch.count;
    t.correct += accuracy(logits, batch.labels) * batch.count;
    t.zeroLoss = t.zeroLoss === null || zeroLoss === null ? null : t.zeroLoss + zeroLoss;
    t.count += batch.count;
  }

  /**
   * The train metrics of an evaluation: the batches tallied since the last one (eval.train_metrics
   * batches; the tally restarts), else, and at step 0, the whole training set.
   */
  private trainMetrics(wholeSet: () => Score): Score & { count: number } {
    const t = this.tally;
    if (this.evalSpec.train_metrics !== 'batches' || t.count === 0) {
      return { ...wholeSet(), count: this.train.count };
    }
    this.tally = emptyTally();
    return { loss: t.loss / t.count, acc: t.correct / t.count, zeroLossRows: t.zeroLoss, count: t.count };
  }

  evaluate(): EvalRecord {
    // A mixture scores each component on its own rows, and its aggregate from theirs.
    const trainGroups = this.train.groups && this.test.groups ? this.scoreGroups(this.train) : null;
    const testGroups = trainGroups ? this.scoreGroups(this.test) : null;
    const trainScore = this.trainMetrics(() => trainGroups?.total ?? this.score(this.train));
    const testScore = testGroups?.total ?? this.score(this.test);
    const norms: Record<string, number> = {};
    let total = 0;
    for (const [name, p] of this.model.params) {
      let s = 0;
      for (let i = 0; i < p.size; i++) s += p.data[i] * p.data[i];
      norms[name] = Math.sqrt(s);
      total += s;
    }
    const record: EvalRecord = {
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
    if (trainScore.zeroLossRows !== null)
      record.softmax_collapse = trainScore.zeroLossRows / trainScore.count;
    if (trainGroups && testGroups) {
      record.components = {};
      for (const [name, train] of trainGroups.byName) {
        const test = testGroups.byName.get(name);
        record.components[name] = {
          train_loss: train.loss,
          train_acc: train.acc,
          test_loss: test?.loss ?? Number.NaN,
          test_acc: test?.acc ?? Number.NaN,
        };
      }
    }
    if (this.nlm !== null && this.nlm.step === this.step && this.nlm.cosine !== null) {
      record.nlm_cosine = this.nlm.cosine;
    }
    if (this.progress) record.progress = this.progress.measure(record);
    return record;
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
    return this.lossFunction.op(logits, labels);
  }

  /**
   * Each group's score (Examples.groups: a mixture's components), and the whole set's from them:
   * losses weighted by group size, correct answers and zero-loss rows summed.
   */
  private scoreGroups(examples: Examples): { total: Score; byName: Map<string, Score> } {
    const byName = new Map<string, Score>();
    let loss = 0;
    let correct = 0;
    let zeroLossRows: number | null = 0;
    for (const group of examples.groups ?? []) {
      const score = this.score(sliceExamples(examples, group.start, group.start + group.count));
      byName.set(group.name, score);
      if (group.count === 0) continue;
      loss += score.loss * group.count;
      correct += score.acc * group.count;
      zeroLossRows =
        zeroLossRows === null || score.zeroLossRows === null ? null : zeroLossRows + score.zeroLossRows;
    }
    const n = examples.count;
    const total =
      n === 0
        ? { loss: Number.NaN, acc: Number.NaN, zeroLossRows: null }
        : { loss: loss / n, acc: correct / n, zeroLossRows };
    return { total, byName };
  }

  /**
   * Mean loss and accuracy over a whole example set, in chunks, without recording gradients, and
   * how many examples have a loss of exactly 0 (null for mse or an empty set).
   */
  private score(examples: Examples): Score {
    if (examples.count === 0) return { loss: Number.NaN, acc: Number.NaN, zeroLossRows: null };
    return noGrad(() => {
      let loss = 0;
      let correct = 0;
      let zeroLossRows: number | null = 0;
      for (let start = 0; start < examples.count; start += EVAL_CHUNK) {
        const chunk = sliceExamples(examples, start, Math.min(start + EVAL_CHUNK, examples.count));
        const logits = this.model.forward(chunk.tokens, chunk.count);
        const score = this.lossFunction.score(logits, chunk.labels);
        loss += score.loss * chunk.count;
        zeroLossRows =
          zeroLossRows === null || score.zeroLossRows === null ? null : zeroLossRows + score.zeroLossRows;
        correct += accuracy(logits, chunk.labels) * chunk.count;
      }
      return { loss: loss / examples.count, acc: correct / examples.count, zeroLossRows };
    });
  }
}

/**
 * Lets timers, messages and signals run: setImmediate on Node; a MessageChannel round trip in a
 * browser or Web Worker, where setTimeout(0) is clamped to 4 ms once nested.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** The loss a train spec trains on: as an op (training) and as a score (evaluation). */
interface TrainingLoss {
  op(logits: Tensor, labels: Int32Array): Tensor;
  /** The mean loss, as the op gives it, and the rows whose loss is exactly 0 (null: mse). */
  score(logits: Tensor, labels: Int32Array): { loss: number; zeroLossRows: number | null };
}

function trainingLoss(spec: TrainSpec): TrainingLoss {
  if (spec.loss === 'mse') {
    return {
      op: mseOneHot,
      score: (logits, labels) => ({ loss: mseOneHot(logits, labels).item(), zeroLossRows: null }),
    };
  }
  if (spec.loss === 'stablemax_cross_entropy')
    return { op: stablemaxCrossEntropy, score: stablemaxCrossEntropyScore };
  if (spec.loss_precision === 'float64') return { op: crossEntropyFloat64, score: crossEntropyFloat64Score };
  return { op: crossEntropy, score: crossEntropyScore };
}

/**
 * cos(−g, θ) over all parameters, g their gradient now (none: 0), sums in float64; null when g or
 * θ is 0.
 */
function negativeGradientCosine(params: Map<string, Tensor>): number | null {
  let gw = 0;
  let gg = 0;
  let ww = 0;
  for (const p of params.values()) {
    const w = p.data;
    const g = p.grad;
    for (let i = 0; i < w.length; i++) {
      ww += w[i] * w[i];
      if (g !== null) {
        gw += g[i] * w[i];
        gg += g[i] * g[i];
      }
    }
  }
  const norms = Math.sqrt(gg) * Math.sqrt(ww);
  return norms > 0 ? -gw / norms : null;
}
