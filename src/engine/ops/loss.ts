import type { Loops } from '../kernel-table/index.ts';
import { allocate, allocateFor, type Data, opResult, type Tensor } from '../tensor.ts';
import { arrayKernels, loopsFor } from './arrays.ts';

function checkLabels(logits: Tensor, labels: Int32Array, op: string): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`${op} needs [N, C] logits, got [${logits.shape}]`);
  const [n, classes] = logits.shape;
  if (labels.length !== n) throw new Error(`${op}: ${labels.length} labels for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= classes)
      throw new Error(`${op}: label ${labels[i]} outside 0..${classes - 1}`);
  }
  return [n, classes];
}

/** Mean cross-entropy of [N, C] logits against integer labels, fused with its log-softmax. */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  const { n, classes, loops, probs, out } = crossEntropyForwardPass(logits, labels, 'crossEntropy');
  return opResult(out, [], [logits], (g) => {
    const add = logits.grad !== null;
    loops.crossEntropyBackward(logits.gradBuffer(false), probs, labels, n, classes, g[0] / n, add);
  });
}

/** The kernel's forward: the softmax (kept for a backward pass) and the mean loss in `out[0]`. */
function crossEntropyForwardPass(logits: Tensor, labels: Int32Array, op: string) {
  const [n, classes] = checkLabels(logits, labels, op);
  const loops = loopsFor(logits.data);
  const probs = allocateFor(logits, n * classes);
  const out = allocate(logits.dtype, 1);
  out[0] = loops.crossEntropyForward(probs, logits.data, labels, n, classes) / n;
  return { n, classes, loops, probs, out };
}

/** A loss over a set of rows as an evaluation needs it. */
export interface LossScore {
  /** The mean loss, the value its op's item() gives. */
  loss: number;
  /** Rows whose own loss, computed as the op computes it, is exactly 0 (softmax collapse). */
  zeroLossRows: number;
}

/**
 * crossEntropy's value, from the same kernel call, and how many rows have a loss of exactly 0.
 * No gradient is recorded: this is for evaluation.
 */
export function crossEntropyScore(logits: Tensor, labels: Int32Array): LossScore {
  const { n, classes, loops, probs, out } = crossEntropyForwardPass(logits, labels, 'crossEntropyScore');
  // The wasm kernel sums each row's normalizer z in float32, the reference in float64.
  const floatZ = arrayKernels(logits.data) !== null;
  let zero = 0;
  for (let r = 0; r < n; r++) {
    if (crossEntropyRowIsZero(loops, logits.data, probs, labels, r, classes, floatZ)) zero++;
  }
  return { loss: out[0], zeroLossRows: zero };
}

/** Below this |largest logit| a row's loss is 0 only if its label's probability is exactly 1 (see below). */
const ABSORPTION_FREE = 2 ** 24;

/**
 * Whether the cross-entropy kernel's loss of row r, max + log z − x[label] summed in float64
 * (z = Σ e^{x − max} ≥ 1), is exactly 0. That needs x[label] = max, and then fl(max + log z) = max:
 * while |max| < 2^24 this means log z ≤ 2^-30, so z rounds to a label probability 1/z of exactly
 * 1 in float32 on either kernel; and with the wasm kernel's float32 z, probability 1 means z = 1,
 * so the loss is 0. The reference's float64 z can be 1 + 1e-9 (probability 1, loss 1e-9), and huge
 * logits can absorb log z: those rows are scored alone by the kernel itself (a row's loss does not
 * depend on the other rows).
 */
function crossEntropyRowIsZero(
  loops: Loops,
  x: Data,
  probs: Data,
  labels: Int32Array,
  r: number,
  classes: number,
  floatZ: boolean,
): boolean {
  const o = r * classes;
  const label = labels[r];
  let max = -Infinity;
  for (let j = 0; j < classes; j++) if (x[o + j] > max) max = x[o + j];
  if (x[o + label] !== max) return false;
  if (Math.abs(max) < ABSORPTION_FREE) {
    if (probs[o + label] !== 1) return false;
    if (floatZ) return true;
  }
  const scratch = x instanceof Float32Array ? new Float32Array(classes) : new Float64Array(classes);
  const row = x.subarray(o, o + classes);
  return loops.crossEntropyForward(scratch, row, labels.subarray(r, r + 1), 1, classes) === 0;
}

/**
 * A loss −log p[label] computed in float64 from the logits (whatever their dtype), as Prieto et
 * al.'s code does for `--softmax_precision 64` and for StableMax (`logits.to(torch.float64)`).
 */
interface Float64Loss {
  /** Row r's loss; keeps what its gradient needs in stats[2r], stats[2r + 1]. */
  rowLoss(x: Data, o: number, classes: number, label: number, stats: Float64Array, r: number): number;
  /** gx[o + j] = scale·∂(row loss)/∂x[o + j] for every j (added to gx when `add`). */
  rowGrad(
    x: Data,
    o: number,
    classes: number,
    label: number,
    stats: Float64Array,
    r: number,
    gx: Data,
    scale: number,
    add: boolean,
  ): void;
}

/** Softmax: p = e^{x − max} / Σ e^{x − max}; stats: the max and the sum. */
const SOFTMAX_FLOAT64: Float64Loss = {
  rowLoss(x, o, classes, label, stats, r) {
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(x[o + j] - max);
    stats[2 * r] = max;
    stats[2 * r + 1] = sum;
    // PyTorch's log_softmax: (x − max) − log Σ e^{x − max}.
    return -(x[o + label] - max - Math.log(sum));
  },
  rowGrad(x, o, classes, label, stats, r, gx, scale, add) {
    const max = stats[2 * r];
    const sum = stats[2 * r + 1];
    for (let j = 0; j < classes; j++) {
      const d = scale * (Math.exp(x[o + j] - max) / sum - (j === label ? 1 : 0));
      gx[o + j] = add ? gx[o + j] + d : d;
    }
  },
};

/** StableMax's s(x): x + 1 for x ≥ 0, 1/(1 − x + ε) below, with Prieto et al.'s ε = 1e-30. */
function stablemaxS(x: number): number {
  return x < 0 ? 1 / (1 - x + 1e-30) : x + 1;
}

/** StableMax: p = s(x) / Σ s(x); stats: the sum. s′(x) = 1 for x ≥ 0, 1/(1 − x + ε)² = s(x)² below. */
const STABLEMAX_FLOAT64: Float64Loss = {
  rowLoss(x, o, classes, label, stats, r) {
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += stablemaxS(x[o + j]);
    stats[2 * r] = sum;
    return -Math.log(stablemaxS(x[o + label]) / sum);
  },
  rowGrad(x, o, classes, label, stats, r, gx, scale, add) {
    const inv = 1 / stats[2 * r];
    for (let j = 0; j < classes; j++) {
      const xj = x[o + j];
      const s = stablemaxS(xj);
      const ds = xj < 0 ? s * s : 1;
      // ∂/∂x_j of log Σ s − log s_label.
      const d = scale * ds * (inv - (j === label ? 1 / s : 0));
      gx[o + j] = add ? gx[o + j] + d : d;
    }
  },
};

function float64LossOp(kind: Float64Loss, logits: Tensor, labels: Int32Array, op: string): Tensor {
  const [n, classes] = checkLabels(logits, labels, op);
  const x = logits.data;
  const stats = new Float64Array(2 * n);
  let total = 0;
  for (let r = 0; r < n; r++) total += kind.rowLoss(x, r * classes, classes, labels[r], stats, r);
  const out = allocate(logits.dtype, 1);
  out[0] = total / n;
  return opResult(out, [], [logits], (g) => {
    const add = logits.grad !== null;
    const gx = logits.gradBuffer(false);
    const scale = g[0] / n;
    for (let r = 0; r < n; r++) kind.rowGrad(x, r * classes, classes, labels[r], stats, r, gx, scale, add);
  });
}

function float64LossScore(kind: Float64Loss, logits: Tensor, labels: Int32Array, op: string): LossScore {
  const [n, classes] = checkLabels(logits, labels, op);
  const stats = new Float64Array(2 * n);
  let total = 0;
  let zero = 0;
  for (let r = 0; r < n; r++) {
    const loss = kind.rowLoss(logits.data, r * classes, classes, labels[r], stats, r);
    total += loss;
    if (loss === 0) zero++;
  }
  const out = allocate(logits.dtype, 1);
  out[0] = total / n;
  return { loss: out[0], zeroLossRows: zero };
}

/**
 * Mean cross-entropy with the log-softmax in float64 (Prieto et al.'s cross_entropy_float64): the
 * value and the gradient (p − onehot)/N are rounded to the logits' dtype only at the end.
 */
export function crossEntropyFloat64(logits: Tensor, labels: Int32Array): Tensor {
  return float64LossOp(SOFTMAX_FLOAT64, logits, labels, 'crossEntropyFloat64');
}

/** crossEntropyFloat64's value and its rows whose float64 loss is exactly 0 (no gradient). */
export function crossEntropyFloat64Score(logits: Tensor, labels: Int32Array): LossScore {
  return float64LossScore(SOFTMAX_FLOAT64, logits, labels, 'crossEntropyFloat64Score');
}

/**
 * Mean StableMax cross-entropy (Prieto et al.): p = s(x) / Σ s(x) with s as in stablemaxS, loss
 * −log p[label], in float64 from the logits as their code does; the gradient is rounded to the
 * logits' dtype.
 */
export function stablemaxCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  return float64LossOp(STABLEMAX_FLOAT64, logits, labels, 'stablemaxCrossEntropy');
}

/** stablemaxCrossEntropy's value and its rows whose float64 loss is exactly 0 (no gradient). */
export function stablemaxCrossEntropyScore(logits: Tensor, labels: Int32Array): LossScore {
  return float64LossScore(STABLEMAX_FLOAT64, logits, labels, 'stablemaxCrossEntropyScore');
}

/**
 * Mean squared error between [N, C] outputs and one-hot targets, averaged over all N·C entries
 * (PyTorch's MSELoss on one-hot targets, as in the Omnigrok experiments).
 */
export function mseOneHot(outputs: Tensor, labels: Int32Array): Tensor {
  const [n, classes] = checkLabels(outputs, labels, 'mseOneHot');
  const xd = outputs.data;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < classes; j++) {
      const d = xd[i * classes + j] - (labels[i] === j ? 1 : 0);
      total += d * d;
    }
  }
  const count = n * classes;
  const out = allocate(outputs.dtype, 1);
  out[0] = total / count;
  return opResult(out, [], [outputs], (g) => {
    const gx = outputs.gradBuffer();
    const s = (2 * g[0]) / count;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < classes; j++) {
        gx[i * classes + j] += s * (xd[i * classes + j] - (labels[i] === j ? 1 : 0));
      }
    }
  });
}

/** Fraction of rows whose largest output is the label (ties go to the lowest class index). */
export function accuracy(outputs: Tensor, labels: Int32Array): number {
  const [n, classes] = checkLabels(outputs, labels, 'accuracy');
  const xd = outputs.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (xd[i * classes + j] > xd[i * classes + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct / n;
}
