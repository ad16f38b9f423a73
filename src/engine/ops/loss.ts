import { allocate, allocateFor, opResult, type Tensor } from '../tensor.ts';
import { loopsFor } from './arrays.ts';

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
  const [n, classes] = checkLabels(logits, labels, 'crossEntropy');
  const loops = loopsFor(logits.data);
  // The softmax, kept for the backward pass (next to the logits' gradient).
  const probs = allocateFor(logits, n * classes);
  const out = allocate(logits.dtype, 1);
  out[0] = loops.crossEntropyForward(probs, logits.data, labels, n, classes) / n;
  return opResult(out, [], [logits], (g) => {
    const add = logits.grad !== null;
    loops.crossEntropyBackward(logits.gradBuffer(false), probs, labels, n, classes, g[0] / n, add);
  });
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
