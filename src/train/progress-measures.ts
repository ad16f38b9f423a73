/**
 * Cheap progress measures, computed by the trainer at every evaluation when eval.progress is on and
 * logged under `progress` in metrics.jsonl (docs/early-warning.md). They read the weights and run
 * forward passes without gradients; they never change a parameter, so a run's other metrics keep
 * their bits with them on or off.
 *
 *   fourier_top_share  modular tasks: the share of the embedding's non-constant Fourier energy held by
 *                      its top k frequencies, k = topFrequencyCount(p) (the embedding view of the
 *                      analysis: a learned table's rows 0..p−1, or a one-hot first layer's rows per
 *                      operand, pooled). A random embedding spreads its energy (about k/K); a Fourier
 *                      circuit concentrates it in a few key frequencies.
 *   restricted_loss    x+y and x−y mod p on the full grid (Nanda et al.'s progress measures, computed
 *   excluded_loss      as the analysis does, src/train/progress-circuit.ts) with the key frequencies
 *                      taken as the embedding's top k at this evaluation; a forward pass over all p²
 *                      pairs.
 *   norm_slope         any task: d ln‖θ‖ / d ln(step), the least-squares slope over the evaluations
 *                      from half the current step on (at least 3); absent before that.
 *   feature_change     any task: ‖Φ − Φ₀‖_F / ‖Φ₀‖_F, Φ the last hidden layer's activations (at the
 *                      answer position) on a fixed probe batch, Φ₀ the same for the run's seeded
 *                      initial weights (rebuilt on a resume, so a resumed run logs the same numbers).
 *   circuit_warning    the step at which the "circuit forming" rule fired (progress-rule.ts), in
 *                      every record from then on.
 *
 * Every piece of state (the norm history, the rule's state) is rebuilt from the metrics history on a
 * resume, and Φ₀ from the seed: nothing goes into checkpoints.
 */
import type { Tensor } from '../engine/tensor.ts';
import { noGrad } from '../engine/tensor.ts';
import type { Model } from '../models/model.ts';
import { columnEnergies, rowsOver, type ZpMatrix } from '../util/fourier.ts';
import type { Examples } from './data.ts';
import { projectToNorm } from './fixed-norm.ts';
import { circuitLosses, type ModularOperands } from './progress-circuit.ts';
import type { ProgressRecord } from './progress-fields.ts';
import type { LossKind } from './progress-losses.ts';
import {
  defaultRule,
  foldWarning,
  initialWarningState,
  type WarningPoint,
  type WarningRule,
  type WarningState,
} from './progress-rule.ts';

export { PROGRESS_FIELDS, type ProgressRecord } from './progress-fields.ts';

/** Examples in the probe batch of feature_change. */
export const PROBE_EXAMPLES = 256;
/** norm_slope is fitted over the evaluations from this fraction of the current step on. */
export const NORM_WINDOW = 0.5;
/** Examples scored per forward pass (as the trainer's evaluation). */
const CHUNK = 4096;

/**
 * k of fourier_top_share for modulus p: an eighth of the K = ⌊p/2⌋ non-constant frequencies, at least
 * 1 (p = 53: 3, p = 97: 6, p = 113: 7). Trained transformers on x±y use a handful of key frequencies
 * (Nanda et al.: 5 at p = 113), so k is about as many as a circuit uses while a random embedding holds
 * only about k/K ≈ 1/8 of its energy there.
 */
export function topFrequencyCount(p: number): number {
  return Math.max(1, Math.round(Math.floor(p / 2) / 8));
}

/** What the trainer is told about its task, from the config (experiment/build.ts). */
export interface ProgressSetup {
  /** Modular tasks (not mixtures): the modulus, the op and where x and y sit in each sequence. */
  modular: { p: number; op: string; operandPositions: readonly [number, number] } | null;
  /** A model with the run's seeded initial weights: feature_change's reference. */
  initialModel: () => Model;
}

/** The setup for a task config and its data (the task config as the run config holds it). */
export function progressSetup(
  task: { kind: string; op?: string; p?: number },
  data: { operandPositions?: readonly [number, number] },
  initialModel: () => Model,
): ProgressSetup {
  const modular =
    task.kind === 'modular' && typeof task.p === 'number' && typeof task.op === 'string'
      ? { p: task.p, op: task.op, operandPositions: data.operandPositions ?? ([0, 1] as const) }
      : null;
  return { modular, initialModel };
}

/**
 * The embedding as functions of Z_p (the analysis's `embedding` view, src/analysis/views.ts): a
 * learned table's rows 0..p−1, or for one-hot inputs the first layer's rows of each operand position;
 * none for real-valued inputs or when p exceeds the vocabulary.
 */
export function embeddingView(model: Model, p: number, operandPositions?: readonly number[]): ZpMatrix[] {
  const { io } = model;
  const input = model.roles().input;
  if (input.kind === 'features' || p > io.vocabSize) return [];
  const table = input.table;
  const width = table.shape[1];
  if (input.kind !== 'one-hot') return [rowsOver(table.data, p, width)];
  const operands = operandPositions ?? Array.from({ length: Math.max(1, io.seqLen - 1) }, (_, t) => t);
  return operands.map((t) => rowsOver(table.data, p, width, t * io.vocabSize));
}

/** The k frequencies (1..⌊p/2⌋) with the most energy, ties to the lower one, and their share of the non-constant energy. */
export function topFrequencies(energies: ArrayLike<number>, k: number): { keys: number[]; share: number } {
  const candidates = Array.from({ length: energies.length - 1 }, (_, i) => i + 1);
  const sorted = candidates.sort((a, b) => energies[b] - energies[a] || a - b);
  const keys = sorted.slice(0, Math.min(k, sorted.length)).sort((a, b) => a - b);
  let total = 0;
  for (const f of candidates) total += energies[f];
  let top = 0;
  for (const f of keys) top += energies[f];
  return { keys, share: total > 0 ? top / total : 0 };
}

/** ‖x − x₀‖₂ / ‖x₀‖₂ in float64 (0 when x₀ is 0): how far a representation moved from its reference. */
export function relativeChange(x: ArrayLike<number>, x0: ArrayLike<number>): number {
  let diff = 0;
  let base = 0;
  for (let i = 0; i < x0.length; i++) {
    diff += (x[i] - x0[i]) ** 2;
    base += x0[i] * x0[i];
  }
  return base > 0 ? Math.sqrt(diff / base) : 0;
}

/**
 * The least-squares slope of ln y against ln x over the points with x ≥ NORM_WINDOW·(last x) (x > 0,
 * y > 0); null with fewer than 3 such points or no spread in x.
 */
export function logLogSlope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  if (points.length === 0) return null;
  const last = points[points.length - 1].x;
  const used = points.filter((q) => q.x > 0 && q.y > 0 && q.x >= NORM_WINDOW * last);
  if (used.length < 3) return null;
  let mx = 0;
  let my = 0;
  for (const q of used) {
    mx += Math.log(q.x);
    my += Math.log(q.y);
  }
  mx /= used.length;
  my /= used.length;
  let sxy = 0;
  let sxx = 0;
  for (const q of used) {
    const dx = Math.log(q.x) - mx;
    sxy += dx * (Math.log(q.y) - my);
    sxx += dx * dx;
  }
  return sxx > 0 ? sxy / sxx : null;
}

/** Rows of the probe batch: PROBE_EXAMPLES evenly spaced over train then test (all when fewer). */
export function probeRows(total: number): Int32Array {
  const n = Math.min(PROBE_EXAMPLES, total);
  return Int32Array.from({ length: n }, (_, i) => Math.floor((i * total) / n));
}

/** The tokens of rows (of train followed by test), one sequence per row. */
function gatherTokens(train: Examples, test: Examples, rows: Int32Array): Int32Array {
  const seq = train.seqLen;
  const out = new Int32Array(rows.length * seq);
  rows.forEach((r, i) => {
    const [set, row] = r < train.count ? [train, r] : [test, r - train.count];
    out.set(set.tokens.subarray(row * seq, (row + 1) * seq), i * seq);
  });
  return out;
}

/** The last hidden layer's activations at the answer position of `count` sequences, [count, width]. */
export function lastHidden(model: Model, tokens: Int32Array, count: number): Float64Array {
  const roles = model.roles();
  const site = roles.hidden[roles.hidden.length - 1].post;
  const point = model.hookPoints().find((h) => h.name === site);
  if (!point) throw new Error(`model bug: no hook point ${site}`);
  const cache = new Map<string, Tensor>();
  noGrad(() => model.forward(tokens, count, { cache, cacheSites: [site] }));
  const x = cache.get(site) as Tensor;
  const width = point.shape[point.shape.length - 1];
  const seq = point.perPosition ? x.size / (count * width) : 1;
  const out = new Float64Array(count * width);
  for (let i = 0; i < count; i++) {
    const from = (i * seq + seq - 1) * width;
    for (let j = 0; j < width; j++) out[i * width + j] = x.data[from + j];
  }
  return out;
}

/** The sign of b in a±b, or null for ops the restricted loss does not apply to. */
function circuitSign(op: string): 1 | -1 | null {
  return op === 'add' ? 1 : op === 'sub' ? -1 : null;
}

/** The full-grid x±y setting of restricted/excluded loss: operands and labels of train then test. */
interface CircuitData {
  operands: ModularOperands;
  labels: Int32Array;
  trainRows: Int32Array;
}

function circuitData(setup: ProgressSetup, train: Examples, test: Examples): CircuitData | null {
  const m = setup.modular;
  if (m === null) return null;
  const sign = circuitSign(m.op);
  const n = train.count + test.count;
  if (sign === null || n !== m.p * m.p) return null;
  const [xAt, yAt] = m.operandPositions;
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const [set, row] = r < train.count ? [train, r] : [test, r - train.count];
    a[r] = set.tokens[row * set.seqLen + xAt];
    b[r] = set.tokens[row * set.seqLen + yAt];
    labels[r] = set.labels[row];
  }
  return {
    operands: { p: m.p, sign, a, b },
    labels,
    trainRows: Int32Array.from({ length: train.count }, (_, i) => i),
  };
}

/** The progress measures of one run, and the warning rule's state, across its evaluations. */
export class ProgressTracker {
  private readonly probeTokens: Int32Array;
  private readonly probeCount: number;
  private reference: Float64Array | null = null;
  private readonly circuit: CircuitData | null;
  private readonly p: number | null;
  /** (step, ‖θ‖) of the evaluations so far (step > 0), for norm_slope. */
  private norms: Array<{ x: number; y: number }> = [];
  private warning: WarningState = initialWarningState();
  private readonly rule: WarningRule;
  private lastStep = -1;

  constructor(
    private readonly setup: ProgressSetup,
    private readonly model: Model,
    private readonly train: Examples,
    private readonly test: Examples,
    private readonly loss: LossKind,
    private readonly fixedNorm: number | null,
  ) {
    const rows = probeRows(train.count + test.count);
    this.probeCount = rows.length;
    this.probeTokens = gatherTokens(train, test, rows);
    const m = setup.modular;
    this.p = m !== null && m.p <= model.io.vocabSize && m.p <= model.io.numClasses ? m.p : null;
    this.circuit =
      this.p !== null && model.roles().input.kind !== 'features' ? circuitData(setup, train, test) : null;
    // ln p is the chance level of the excluded loss for the softmax and StableMax cross-entropies, not for mse.
    this.rule = defaultRule(this.circuit !== null && loss !== 'mse' ? this.circuit.operands.p : null);
  }

  /**
   * The measures of the model as it is now, for the evaluation `point` (its step and accuracies);
   * the record's norm and accuracies also feed norm_slope and the warning rule, once per step.
   */
  measure(point: WarningPoint & { weight_norm: number }): ProgressRecord {
    const out: ProgressRecord = {};
    let keys: number[] | null = null;
    if (this.p !== null) {
      const view = embeddingView(this.model, this.p, this.setup.modular?.operandPositions);
      if (view.length > 0) {
        const energies = new Float64Array(Math.floor(this.p / 2) + 1);
        const perColumn = columnEnergies(...view);
        for (let i = 0; i < perColumn.length; i++) energies[i % energies.length] += perColumn[i];
        const top = topFrequencies(energies, topFrequencyCount(this.p));
        out.fourier_top_share = top.share;
        keys = top.keys;
      }
    }
    if (this.circuit !== null && keys !== null && keys.length > 0) {
      const logits = this.allLogits();
      const c = this.circuit;
      const measured = circuitLosses(logits, c.operands, c.labels, c.trainRows, keys, this.loss);
      out.restricted_loss = measured.restricted_loss;
      out.excluded_loss = measured.excluded_loss;
    }
    const fresh = point.step > this.lastStep;
    const norms =
      fresh && point.step > 0 ? [...this.norms, { x: point.step, y: point.weight_norm }] : this.norms;
    const slope = logLogSlope(norms);
    if (slope !== null) out.norm_slope = slope;
    if (this.probeCount > 0) {
      const features = lastHidden(this.model, this.probeTokens, this.probeCount);
      out.feature_change = relativeChange(features, this.referenceFeatures());
    }
    if (fresh) {
      this.norms = norms;
      this.warning = foldWarning(this.warning, { ...point, progress: out }, this.rule);
      this.lastStep = point.step;
    }
    const fired = this.warning.warning_step;
    if (fired !== null) out.circuit_warning = fired;
    return out;
  }

  /** Rebuilds the norm history and the rule's state from the records logged up to a resume point. */
  restore(history: ReadonlyArray<WarningPoint & { weight_norm: number; progress?: ProgressRecord }>): void {
    this.norms = [];
    this.warning = initialWarningState();
    this.lastStep = -1;
    for (const r of history) {
      if (r.step <= this.lastStep) continue;
      if (r.step > 0) this.norms.push({ x: r.step, y: r.weight_norm });
      this.warning = foldWarning(this.warning, r, this.rule);
      this.lastStep = r.step;
    }
  }

  /** Φ₀: the probe's features under the run's seeded initial weights (on the sphere for fixed_norm). */
  private referenceFeatures(): Float64Array {
    if (this.reference === null) {
      const initial = this.setup.initialModel();
      if (this.fixedNorm !== null) projectToNorm(initial.params.values(), this.fixedNorm);
      this.reference = lastHidden(initial, this.probeTokens, this.probeCount);
    }
    return this.reference;
  }

  /** The model's logits over train then test, [n, classes], float32, without gradients. */
  private allLogits(): Float32Array {
    const classes = this.model.io.numClasses;
    const out = new Float32Array((this.train.count + this.test.count) * classes);
    noGrad(() => {
      let offset = 0;
      for (const set of [this.train, this.test]) {
        for (let start = 0; start < set.count; start += CHUNK) {
          const count = Math.min(CHUNK, set.count - start);
          const tokens = set.tokens.subarray(start * set.seqLen, (start + count) * set.seqLen);
          out.set(this.model.forward(tokens, count).data.subarray(0, count * classes), offset);
          offset += count * classes;
        }
      }
    });
    return out;
  }
}
