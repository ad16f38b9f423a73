/** Adam's update of one parameter tensor (src/kernels/assembly/optimizer.ts; src/train/optimizers.ts). */
import type { Data } from '../tensor.ts';
import { inout, input, kernel } from './spec.ts';

/** The per-step constants of an Adam update (src/train/optimizers.ts says how each is made). */
export interface AdamCoefficients {
  beta1: number;
  beta2: number;
  /** Coefficient of the L2 term added to the gradient (0 for decoupled weight decay). */
  l2: number;
  /** Factor of decoupled weight decay, 1 − lr·γ (1 without). */
  shrink: number;
  /** lr / (1 − β1^t). */
  stepSize: number;
  /** √(1 − β2^t). */
  sqrtBias2: number;
  eps: number;
}

/**
 * One Adam update, in place on w, m and v, float64 arithmetic (the wasm kernel gives the same bits
 * on float32 arrays): gi = g + l2·w; m = β1·m + (1 − β1)·gi; v = β2·v + (1 − β2)·gi²;
 * w = w·shrink − (stepSize·m) / (√v / sqrtBias2 + eps), with m and v as stored.
 */
function adamUpdate(w: Data, g: Data, m: Data, v: Data, c: AdamCoefficients): void {
  const { beta1, beta2, l2, shrink, stepSize, sqrtBias2, eps } = c;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + l2 * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    w[i] = w[i] * shrink - (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBias2 + eps);
  }
}

export const optimizerKernels = {
  adamUpdate: kernel({
    reference: adamUpdate,
    threads: 'none',
    wasm: (w, g, m, v, c) => {
      const n = w.length;
      return {
        args: {
          w: inout(w),
          g: input(g, n),
          m: inout(m, n),
          v: inout(v, n),
          n,
          beta1: c.beta1,
          // 1 − β is computed here as the reference computes it, in float64.
          c1: 1 - c.beta1,
          beta2: c.beta2,
          c2: 1 - c.beta2,
          l2: c.l2,
          shrink: c.shrink,
          stepSize: c.stepSize,
          sqrtBias2: c.sqrtBias2,
          eps: c.eps,
        },
      };
    },
  }),
};
