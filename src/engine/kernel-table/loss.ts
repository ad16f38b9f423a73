/** Cross-entropy of n×classes logits against integer labels, fused with its softmax (src/kernels/assembly/loss.ts). */
import type { Data } from '../tensor.ts';
import { ids, inout, input, kernel, output } from './spec.ts';

/**
 * Writes probs = softmax(x) per row (the maximum subtracted first); returns
 * Σ_r (log Σ_j e^{x[r, j]} − x[r, labels[r]]), the summed loss of the rows.
 */
function crossEntropyForward(probs: Data, x: Data, labels: Int32Array, n: number, classes: number): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) if (x[o + j] > max) max = x[o + j];
    let z = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp(x[o + j] - max);
      probs[o + j] = e;
      z += e;
    }
    const inv = 1 / z;
    for (let j = 0; j < classes; j++) probs[o + j] *= inv;
    total += max + Math.log(z) - x[o + labels[r]];
  }
  return total;
}

/** gx = scale·(probs − onehot(labels)), or gx += … when accumulating; probs from crossEntropyForward. */
function crossEntropyBackward(
  gx: Data,
  probs: Data,
  labels: Int32Array,
  n: number,
  classes: number,
  scale: number,
  accumulate: boolean,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * classes;
    for (let j = 0; j < classes; j++) {
      const d = scale * (probs[o + j] - (j === labels[r] ? 1 : 0));
      gx[o + j] = accumulate ? gx[o + j] + d : d;
    }
  }
}

/** Blocks of rows whose losses the wasm kernel sums separately: fixed by n alone. */
function lossBlocks(n: number): number[] {
  const size = Math.max(256, Math.ceil(n / 64));
  const out: number[] = [];
  for (let start = 0; start < n; start += size) out.push(start, Math.min(n, start + size));
  return out;
}

export const lossKernels = {
  crossEntropyForward: kernel({
    reference: crossEntropyForward,
    threads: 'ranges',
    wasm: (probs, x, labels, n, classes) => ({
      args: {
        probs: output(probs, n * classes),
        x: input(x, n * classes),
        labels: ids(labels, n, classes),
        n,
        classes,
      },
      split: { blocks: lossBlocks(n), work: n * classes },
    }),
  }),
  crossEntropyBackward: kernel({
    reference: crossEntropyBackward,
    threads: 'ranges',
    wasm: (gx, probs, labels, n, classes, scale, accumulate) => {
      if (n === 0) return null;
      return {
        args: {
          gx: accumulate ? inout(gx, n * classes) : output(gx, n * classes),
          probs: input(probs, n * classes),
          labels: ids(labels, n, classes),
          n,
          classes,
          s: scale,
          accumulate,
        },
        split: { over: n, work: n * classes },
      };
    },
  }),
};
